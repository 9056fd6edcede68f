#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Many connections from one address: 64 connections opened at once by one
# client behind the router's NAT (so the server sees one source address for
# all), through tap-clientd, while the router drops 30% of the server's
# SYN/ACKs. Each lost SYN/ACK makes the client retransmit a SYN the server
# had already let in, and tap-clientd re-sends the same token before it: the
# server must know that retransmission (its authorized table is indexed per
# connection), never answer it "replayed", and every connection must be
# established within the client's SYN retry schedule. A small listen backlog
# drops more of the accepted SYNs and makes the same retransmissions.
# nat1's ephemeral range is cut to 512 ports, so that auth SYNs would often
# come from a port that a later real connection gets: the router's conntrack
# then holds the auth SYN's sequence number for that connection, marks its
# packets invalid, and its masquerade lets them out untranslated (the
# connection hangs). tap-clientd holds each auth SYN's port bound for 150 s
# after it, so the kernel does not give it out meanwhile.
. "$(dirname "$(readlink -f "$0")")/setup.sh"
clientd_prepare

N=${N:-64}
topo_start
tap_load_module
modprobe sch_netem && modprobe sch_prio && modprobe cls_u32 ||
	fail "the guest kernel lacks sch_netem, sch_prio or cls_u32"
k3=$(clientd_key 3)
in_ns server tap-keytool load "$TAP_KEYS/3.key" >/dev/null || fail "load key"
start_http server
protect_ports server 3 "$HTTP_PORT"

# netem on the router's LAN port (towards nat1): 30% of the TCP packets with
# SYN and ACK set (the server's SYN/ACKs) are lost
in_ns router tc qdisc add dev eth1 root handle 1: prio bands 4 \
	priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1 &&
in_ns router tc qdisc add dev eth1 parent 1:4 handle 40: netem loss 30% &&
in_ns router tc filter add dev eth1 parent 1: protocol ip prio 1 u32 \
	match ip protocol 6 0xff match u8 0x12 0x17 at 33 flowid 1:4 &&
in_ns router tc filter add dev eth1 parent 1: protocol ipv6 prio 2 u32 \
	match ip6 protocol 6 0xff match u8 0x12 0x17 at 53 flowid 1:4 ||
	fail "netem setup on the router"
netem_drops() { in_ns router tc -s qdisc show dev eth1 | awk '/netem/ { f = 1 } f && /dropped/ { gsub(",", ""); print $7; exit }'; }

conf=$CD_DIR/clientd.conf
printf 'server %s port %s key %s\nserver %s port %s key %s\n' \
	"$SERVER4" "$HTTP_PORT" "$k3" "$SERVER6" "$HTTP_PORT" "$k3" >"$conf"
in_ns nat1 sysctl -qw net.ipv4.ip_local_port_range="40000 40511" || fail "port range"
clientd_start nat1 "$conf"
for _ in $(seq 50); do grep -q "started: " "$CD_DIR/nat1.log" && break; sleep 0.1; done
grep -q "started: .*; auth SYNs from fresh ports of 40000-40511, each held 150 s" "$CD_DIR/nat1.log" ||
	fail "tap-clientd does not say how it holds auth SYN ports: $(cat "$CD_DIR/nat1.log")"
# packet captures, read only when a connection fails
cap_start() {
	local ns
	for ns in nat1 router server; do
		ip netns exec $ns tcpdump -q -i any -s 96 -U -w /tmp/nat_many-$ns.pcap \
			"tcp port $HTTP_PORT" >/dev/null 2>&1 &
	done
	sleep 1
}
# cap_show PORT: what each namespace saw of the client's connection from
# PORT (the router's masquerade keeps the port unless two clash)
cap_show() {
	local ns
	pkill -INT tcpdump; sleep 1
	for ns in nat1 router server; do
		echo "  $ns, port $1:"
		tcpdump -nn -tt -r /tmp/nat_many-$ns.pcap "tcp port $1" 2>/dev/null | head -n 30 | sed "s/^/    /"
	done
	in_ns nat1 ss -tnoi "sport = :$1" | sed "s/^/    /"
}
for addr in $SERVER4 $SERVER6; do
	snapshot server
	cap_start
	d0=$(netem_drops)
	# Linux retries a SYN 6 times (1, 3, 7, 15, 31, 63 s): 127 s in all
	out=$(in_ns nat1 python3 "$TAP_REPO/tests/guest/many_conns.py" "$addr" "$HTTP_PORT" "$N" 127 \
		tap-protected-page)
	rc=$?
	drops=$(( $(netem_drops) - d0 ))
	# the failed connections last, where a failure's summary shows them
	grep -v ' s$' <<<"$out"
	if [ $rc != 0 ]; then
		# what each side's TCP says about it
		for ns in server nat1; do
			echo "  $ns: $(in_ns $ns nstat -az 2>/dev/null | awk '/ListenOverflows|ListenDrops|ReqQFullDrop|TCPTimeouts|TCPSynRetrans|TCPAbortOn|OutRsts|InErrs/ { printf "%s=%s ", $1, $2 }')"
			in_ns $ns ss -tnoi "( sport = :$HTTP_PORT or dport = :$HTTP_PORT )" | sed "s/^/    /" | head -n 6
		done
		for p in $(sed -n 's/.*FAIL.* port \([0-9]*\)$/\1/p' <<<"$out" | head -n 2); do
			cap_show "$p"
		done
		fail "$addr: not every connection got through (the lines above)"
	fi
	pkill -INT tcpdump; sleep 1
	[ "$drops" -gt 0 ] || fail "$addr: netem dropped no SYN/ACK"
	retr=$(( $(tap_stat server retransmit) - SNAP[retransmit] ))
	[ "$retr" -gt 0 ] || fail "$addr: no retransmission of an accepted SYN reached the server"
	expect_stat server replayed "${SNAP[replayed]}" 0
	# a SYN still unanswered after tap-clientd's reuse-token 10 s comes with
	# a fresh token, which counts as accepted once more
	expect_stat server accepted "${SNAP[accepted]}" "+$N"
	pass "$addr: $N connections from one NAT address, $drops SYN/ACKs lost: all established, $retr retransmissions let in, none replayed"
done
clientd_stop nat1
check_dmesg_clean
