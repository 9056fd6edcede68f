#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tap-clientd gets through a lossy path: 30% random loss of the client's
# SYNs (auth SYNs and real SYNs alike) on the router, by netem on the
# router's WAN port behind a u32 filter that sends only TCP SYNs to it. The
# client (nat1) runs tap-clientd and unmodified curl; the OS retransmits the
# real SYN, tap-clientd sends its auth SYNs again each time, and every
# connection succeeds.
#
# A token needs its 4 auth SYNs and the real SYN through: 0.7^5 = 17% per
# attempt. With the default config (the same auth SYNs re-sent on each
# retransmission, reuse-token 10) about 83% of the connections get through
# within 7 s and 90% within the OS's 63 s of SYN retries; with "copies 3"
# (each auth SYN sent three times) 99.9%. The test runs both: the default,
# where it reports the rate and needs most to succeed, then copies 3, where
# every connection must succeed.
. "$(dirname "$(readlink -f "$0")")/setup.sh"
clientd_prepare

topo_start
tap_load_module
modprobe sch_netem && modprobe sch_prio && modprobe cls_u32 ||
	fail "the guest kernel lacks sch_netem, sch_prio or cls_u32"
k3=$(clientd_key 3)
in_ns server tap-keytool load "$TAP_KEYS/3.key" >/dev/null || fail "load key"
start_http server
protect_ports server 3 "$HTTP_PORT"
n=${N:-10}

# band 4 of a prio qdisc is netem; TCP packets with SYN set and ACK, RST,
# FIN clear (IPv4 without options: byte 33; IPv6 without extension
# headers: byte 53) go there
in_ns router tc qdisc add dev eth0 root handle 1: prio bands 4 \
	priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1 &&
in_ns router tc qdisc add dev eth0 parent 1:4 handle 40: netem loss 30% &&
in_ns router tc filter add dev eth0 parent 1: protocol ip prio 1 u32 \
	match ip protocol 6 0xff match u8 0x02 0x17 at 33 flowid 1:4 &&
in_ns router tc filter add dev eth0 parent 1: protocol ipv6 prio 2 u32 \
	match ip6 protocol 6 0xff match u8 0x02 0x17 at 53 flowid 1:4 ||
	fail "netem setup on the router"

netem_drops() { in_ns router tc -s qdisc show dev eth0 | awk '/netem/ { f = 1 } f && /dropped/ { gsub(",", ""); print $7; exit }'; }

# run LABEL SECONDS: n connections per family one after the other; sets ok,
# total, and prints how long each took
run() {
	local label=$1 tmo=$2 addr i t0 t1 times
	ok=0 total=0
	for addr in $SERVER4 $SERVER6; do
		times=
		for ((i = 0; i < n; i++)); do
			t0=$(date +%s.%N)
			if in_ns nat1 curl -s -m "$tmo" "$(url_of "$addr")" | grep -q tap-protected-page; then
				ok=$((ok + 1))
				t1=$(date +%s.%N)
				times+=" $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
			else
				times+=" FAIL"
			fi
			total=$((total + 1))
		done
		echo "  $label, $addr: seconds per connection:$times"
	done
}

conf=$CD_DIR/clientd.conf
cat >"$conf" <<EOF
server $SERVER4 port $HTTP_PORT key $k3
server $SERVER6 port $HTTP_PORT key $k3
EOF
clientd_start nat1 "$conf" -v
snapshot server
d0=$(netem_drops)
run "default config" 16
drops=$(( $(netem_drops) - d0 ))
[ "$drops" -gt 0 ] || fail "netem dropped nothing"
# 83% expected within 7 s; fewer than half would mean something is wrong
[ $((ok * 2)) -gt "$total" ] || fail "default config: only $ok of $total connections within 16 s"
pass "default config, 30% SYN loss: $ok of $total connections within 16 s (netem dropped $drops SYNs)"
grep -q "token re-sent" "$CD_DIR/nat1.log" || fail "no auth SYNs were re-sent"
clientd_stop nat1

cat >>"$conf" <<EOF
copies 3
EOF
clientd_start nat1 "$conf" -v
d0=$(netem_drops)
run "copies 3" 70
drops=$(( $(netem_drops) - d0 ))
[ "$ok" = "$total" ] || fail "copies 3: only $ok of $total connections succeeded"
pass "copies 3, 30% SYN loss: all $total connections succeeded (netem dropped $drops SYNs)"
n_retr=$(grep -c "retransmission" "$CD_DIR/nat1.log")
pass "tap-clientd saw $n_retr real SYN retransmissions in all"
clientd_stop nat1
check_dmesg_clean
