#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Issue test 4: two clients behind one MASQUERADE router authenticate at the
# same time, over and over, and every connection succeeds.
set -u
. "$(dirname "$(readlink -f "$0")")/topology.sh"
. "$(dirname "$(readlink -f "$0")")/lib_tap.sh"

topo_setup
trap topo_teardown EXIT
tap_load_module
k3=$(tap_genkey 3)
in_ns server tap-keytool load "$k3" >/dev/null || fail "load key"
start_http server
rounds=5

for fam in 4 6; do
	[ $fam = 4 ] && { addr=$SERVER4; cmd=iptables; } || { addr=$SERVER6; cmd=ip6tables; }
	protect server $cmd raw PREROUTING 3
	snapshot server
	for ((r = 1; r <= rounds; r++)); do
		for ns in nat1 nat2; do
			in_ns $ns tap-send connect --key "$k3" --dst "$addr" --dport "$HTTP_PORT" \
				--timeout 10 --send $'GET / HTTP/1.0\r\n\r\n' >/tmp/$ns.out 2>&1 &
		done
		wait %1; s1=$?
		wait %2; s2=$?
		[ $s1 = 0 ] && grep -q tap-protected-page /tmp/nat1.out ||
			fail "IPv$fam round $r: nat1 failed: $(cat /tmp/nat1.out)"
		[ $s2 = 0 ] && grep -q tap-protected-page /tmp/nat2.out ||
			fail "IPv$fam round $r: nat2 failed: $(cat /tmp/nat2.out)"
	done
	expect_stat server accepted "$S_accepted" $((2 * rounds))
	# the server saw both clients as the router's address
	in_ns server ss -Htn state time-wait "( sport = :$HTTP_PORT )" | grep -vq "$ROUTER4\|$ROUTER6" &&
		fail "a connection did not come through the NAT"
	pass "IPv$fam: $rounds rounds of two simultaneous clients behind one NAT: $((2 * rounds)) accepted"
	unprotect server
done
check_dmesg_clean
