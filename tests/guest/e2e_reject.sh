#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Bad tokens are dropped, over IPv4 and IPv6, and the counter says why:
# wrong key, unknown key id, key id outside the rule's range, stale
# timestamp, replay of a captured auth sequence plus real SYN (from the same
# source and from another one), and a token for another ISN, another port or
# another address.
. "$(dirname "$(readlink -f "$0")")/setup.sh"

topo_start
# a short retransmission lifetime, so the replay is not a retransmission
tap_load_module retransmit_lifetime_ms=1000
k3=$(tap_genkey 3)
wrong3=$(tap_genkey 3 wrong3)	# same id, another secret
k7=$(tap_genkey 7)		# in the rule's range, never loaded
k20=$(tap_genkey 20)		# loaded, outside the rule's range
for k in "$k3" "$k20"; do
	in_ns server tap-keytool load "$k" >/dev/null || fail "load $k"
done
start_http server
server_out_counters server

# dropped NAME COUNTER ISN SPORT [auth options]: token + real SYN, expect no
# SYN/ACK and COUNTER +1 (and nothing accepted)
dropped() {
	local name=$1 counter=$2 isn=$3 sport=$4 synack
	shift 4
	snapshot server
	synack=$(out_count server synack)
	auth_and_syn client "$KEY" "$addr" "$isn" "$sport" "$@"
	[ "$(out_count server synack)" = "$synack" ] || fail "IPv$fam $name: got a SYN/ACK"
	expect_stat server accepted "${SNAP[accepted]}" 0
	expect_stat server retransmit "${SNAP[retransmit]}" 0
	# every auth SYN itself counts as incomplete too
	if [ "$counter" = incomplete ]; then
		expect_stat server incomplete "${SNAP[incomplete]}" 5
	else
		expect_stat server "$counter" "${SNAP[$counter]}" 1
		expect_stat server incomplete "${SNAP[incomplete]}" 4
	fi
	pass "IPv$fam: $name dropped ($counter +1)"
}

for fam in 4 6; do
	if [ $fam = 4 ]; then
		addr=$SERVER4 cmd=iptables other=$CLIENT4 attacker=$ATTACKER4
	else
		addr=$SERVER6 cmd=ip6tables other=$CLIENT6 attacker=$ATTACKER6
	fi
	protect server $cmd raw PREROUTING 3-9 --window 30

	KEY=$wrong3 dropped "wrong key" bad_mac "$(rand32)" "$(rand_port)"
	KEY=$k7 dropped "unknown key id 7" unknown_key "$(rand32)" "$(rand_port)"
	KEY=$k20 dropped "key id 20 outside 3-9" key_not_allowed "$(rand32)" "$(rand_port)"
	KEY=$k3 dropped "stale timestamp (-120 s)" stale "$(rand32)" "$(rand_port)" \
		--time $(( $(date +%s) - 120 ))
	KEY=$k3 dropped "token from the future (+120 s)" stale "$(rand32)" "$(rand_port)" \
		--time $(( $(date +%s) + 120 ))
	KEY=$k3 dropped "token for another address" bad_mac "$(rand32)" "$(rand_port)" \
		--token-dst "$other"
	# the pieces are masked by the ISN and port: under the real SYN's masks
	# a token for another ISN or port does not even decode
	KEY=$k3 dropped "token for another ISN" incomplete "$(rand32)" "$(rand_port)" \
		--token-isn "$(rand32)"
	KEY=$k3 dropped "token for another port" incomplete "$(rand32)" "$(rand_port)" \
		--token-dport 81

	# Replay: capture a good exchange, then re-send it verbatim.
	pcap=/tmp/replay$fam.pcap
	capture_start server "$pcap" "tcp dst port $HTTP_PORT and ((ip and tcp[tcpflags] & tcp-syn != 0) or (ip6 and ip6[53] & 2 != 0))"
	snapshot server
	auth_and_syn client "$k3" "$addr" "$(rand32)" "$(rand_port)"
	capture_stop
	expect_stat server accepted "${SNAP[accepted]}" 1
	n=$(tcpdump -r "$pcap" -n 2>/dev/null | wc -l)
	[ "$n" = 5 ] || fail "IPv$fam: captured $n SYNs, expected 4 auth + 1 real"
	sleep 1.5	# past the retransmission lifetime
	for src in same "$attacker"; do
		snapshot server
		synack=$(out_count server synack)
		if [ $src = same ]; then
			in_ns client python3 "$TAP_REPO/tests/guest/replay.py" "$pcap" >/dev/null
		else
			in_ns attacker python3 "$TAP_REPO/tests/guest/replay.py" "$pcap" --src "$src" >/dev/null
		fi || fail "replay.py"
		sleep 0.3
		[ "$(out_count server synack)" = "$synack" ] || fail "IPv$fam: replay from $src got a SYN/ACK"
		expect_stat server replayed "${SNAP[replayed]}" 1
		expect_stat server accepted "${SNAP[accepted]}" 0
		pass "IPv$fam: replay of a captured auth sequence + real SYN from $src dropped (replayed +1)"
	done
	unprotect server
	server_out_counters server
done
check_dmesg_clean
