#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A valid token lets exactly its real SYN through and a TCP exchange with
# the service completes; the retransmitted real SYN passes; a different SYN
# from the same source does not. IPv4 and IPv6.
. "$(dirname "$(readlink -f "$0")")/setup.sh"

topo_start
tap_load_module
k3=$(tap_genkey 3)
in_ns server tap-keytool load "$k3" >/dev/null || fail "load key"
start_http server
server_out_counters server

for fam in 4 6; do
	[ $fam = 4 ] && { addr=$SERVER4; cmd=iptables; } || { addr=$SERVER6; cmd=ip6tables; }
	protect server $cmd raw PREROUTING 3

	# The OS's own SYN, with a token: a real HTTP exchange (a generous
	# timeout: it ends with the reply, and a debug kernel is slow).
	snapshot server
	out=$(in_ns client tap-send connect --key "$k3" --dst "$addr" --dport "$HTTP_PORT" \
		--timeout 30 --send $'GET /index.html HTTP/1.0\r\n\r\n') ||
		fail "IPv$fam: tap-send connect failed: $out"
	grep -q tap-protected-page <<<"$out" || fail "IPv$fam: no page in: $out"
	expect_stat server accepted "${SNAP[accepted]}" 1
	pass "IPv$fam: token + the OS's real SYN: HTTP exchange completed, accepted +1"

	# No token: the same client times out.
	snapshot server
	http_get client "$addr" 3 >/dev/null && fail "IPv$fam: curl without token got through"
	expect_stat server accepted "${SNAP[accepted]}" 0
	expect_stat server incomplete "${SNAP[incomplete]}" +1
	pass "IPv$fam: curl without a token times out (incomplete +$(( $(tap_stat server incomplete) - SNAP[incomplete] )))"

	# Exactly its real SYN, and that SYN's retransmission, sent at once: a
	# retransmission is known for 10 s, and on a debug kernel the checks
	# in between took longer.
	isn=$(rand32) sport=$(rand_port)
	snapshot server
	synack=$(out_count server synack)
	auth_and_syn client "$k3" "$addr" "$isn" "$sport"
	in_ns client tap-send syn --dst "$addr" --dport "$HTTP_PORT" --isn "$isn" --sport "$sport" ||
		fail "tap-send syn"
	sleep 0.3
	expect_stat server accepted "${SNAP[accepted]}" 1
	expect_stat server retransmit "${SNAP[retransmit]}" 1
	[ "$(out_count server synack)" = $((synack + 2)) ] ||
		fail "IPv$fam: the real SYN and its retransmission: $(( $(out_count server synack) - synack )) SYN/ACKs, want 2"
	pass "IPv$fam: real SYN and its retransmission answered (accepted +1, retransmit +1, 2 SYN/ACKs)"

	snapshot server
	for other in "$((isn ^ 1)) $sport" "$isn $((sport + 1))" "$(rand32) $((sport + 2))"; do
		set -- $other
		in_ns client tap-send syn --dst "$addr" --dport "$HTTP_PORT" --isn "$1" --sport "$2" ||
			fail "tap-send syn"
	done
	sleep 0.3
	[ "$(out_count server synack)" = $((synack + 2)) ] || fail "IPv$fam: another SYN from the same source got a SYN/ACK"
	expect_stat server accepted "${SNAP[accepted]}" 0
	expect_stat server retransmit "${SNAP[retransmit]}" 0
	expect_stat server incomplete "${SNAP[incomplete]}" 3
	pass "IPv$fam: other SYNs from the same source (other ISN, other port) dropped, incomplete +3"

	if [ $fam = 6 ]; then
		# Extension headers never skip the check (ipv6_find_hdr).
		snapshot server
		synack=$(out_count server synack)
		in_ns client tap-send syn --dstopts --dst "$addr" --dport "$HTTP_PORT" \
			--isn "$(rand32)" --sport "$(rand_port)" || fail "tap-send syn --dstopts"
		sleep 0.3
		[ "$(out_count server synack)" = "$synack" ] || fail "a SYN with a destination options header passed without a token"
		expect_stat server incomplete "${SNAP[incomplete]}" 1
		isn=$(rand32) sport=$(rand_port)
		in_ns client tap-send auth --dstopts --key "$k3" --dst "$addr" --dport "$HTTP_PORT" \
			--isn "$isn" >/dev/null || fail "tap-send auth --dstopts"
		in_ns client tap-send syn --dstopts --dst "$addr" --dport "$HTTP_PORT" \
			--isn "$isn" --sport "$sport" || fail "tap-send syn --dstopts"
		sleep 0.3
		expect_stat server accepted "${SNAP[accepted]}" 1
		[ "$(out_count server synack)" = $((synack + 1)) ] || fail "token + SYN with extension header not answered"
		pass "IPv6 with a destination options header: no token dropped, token accepted"
	fi
	unprotect server
	server_out_counters server
done
check_dmesg_clean
