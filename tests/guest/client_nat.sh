#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Clients behind the NAT router, each running tap-clientd, with unmodified
# curl. First one client (nat1), then two (nat1 and nat2) connecting at the
# same time, over and over: every connection succeeds, and the server sees
# them all as the router's address. IPv4 and IPv6.
. "$(dirname "$(readlink -f "$0")")/setup.sh"
clientd_prepare

topo_start
tap_load_module
k3=$(clientd_key 3)
in_ns server tap-keytool load "$TAP_KEYS/3.key" >/dev/null || fail "load key"
start_http server
protect_ports server 3 "$HTTP_PORT"
rounds=${ROUNDS:-8}

conf=$CD_DIR/clientd.conf
cat >"$conf" <<EOF
server $SERVER4 port $HTTP_PORT key $k3
server $SERVER6 port $HTTP_PORT key $k3
EOF

# get NS ADDR OUT: curl the page into OUT
get() { in_ns "$1" curl -s -m 30 "$(url_of "$2")" >"$3" 2>&1; }

for ns in nat1 nat2; do
	for addr in $SERVER4 $SERVER6; do
		in_ns $ns curl -s -m 3 "$(url_of "$addr")" >/dev/null &&
			fail "$ns reached $addr without tap-clientd"
	done
done
pass "without tap-clientd, nat1 and nat2 cannot connect"

clientd_start nat1 "$conf" -v
for addr in $SERVER4 $SERVER6; do
	snapshot server
	get nat1 "$addr" "$CD_DIR/nat1.out" && grep -q tap-protected-page "$CD_DIR/nat1.out" ||
		fail "nat1 alone to $addr: $(cat "$CD_DIR/nat1.out")"
	expect_stat server accepted "${SNAP[accepted]}" 1
	pass "one client behind the NAT, tap-clientd running: curl $addr works"
done

clientd_start nat2 "$conf" -v
for addr in $SERVER4 $SERVER6; do
	snapshot server
	for ((r = 1; r <= rounds; r++)); do
		get nat1 "$addr" "$CD_DIR/nat1.out" &
		p1=$!
		get nat2 "$addr" "$CD_DIR/nat2.out" &
		p2=$!
		wait $p1; s1=$?
		wait $p2; s2=$?
		[ $s1 = 0 ] && grep -q tap-protected-page "$CD_DIR/nat1.out" ||
			fail "$addr round $r: nat1 failed: $(cat "$CD_DIR/nat1.out")"
		[ $s2 = 0 ] && grep -q tap-protected-page "$CD_DIR/nat2.out" ||
			fail "$addr round $r: nat2 failed: $(cat "$CD_DIR/nat2.out")"
	done
	expect_stat server accepted "${SNAP[accepted]}" $((2 * rounds))
	in_ns server ss -Htn state time-wait "( sport = :$HTTP_PORT )" | grep -v "$ROUTER4\|$ROUTER6" |
		grep -q . && fail "a connection did not come through the NAT"
	pass "$addr: $rounds rounds of two simultaneous clients behind one NAT: $((2 * rounds)) accepted"
done

for ns in nat1 nat2; do
	clientd_stop $ns
done
pass "both daemons stopped: exit 0, no rules left"
check_dmesg_clean
