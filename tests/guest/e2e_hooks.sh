#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The match works in raw and mangle PREROUTING, filter INPUT, and filter
# FORWARD on a gateway protecting a host behind it.
. "$(dirname "$(readlink -f "$0")")/setup.sh"

topo_start
tap_load_module
k3=$(tap_genkey 3)

# connect_ok NS ADDR / connect_blocked NS ADDR
connect_ok() {
	local out
	out=$(in_ns "$1" tap-send connect --key "$k3" --dst "$2" --dport "$HTTP_PORT" \
		--timeout 10 --send $'GET / HTTP/1.0\r\n\r\n') || fail "$where: connect with token failed: $out"
	grep -q tap-protected-page <<<"$out" || fail "$where: no page"
}
connect_blocked() {
	http_get "$1" "$2" 3 >/dev/null && fail "$where: got through without a token"
	return 0
}

in_ns server tap-keytool load "$k3" >/dev/null || fail "load key"
start_http server
for spec in "raw PREROUTING" "mangle PREROUTING" "filter INPUT"; do
	for fam in 4 6; do
		[ $fam = 4 ] && { addr=$SERVER4; cmd=iptables; } || { addr=$SERVER6; cmd=ip6tables; }
		where="$cmd $spec"
		protect server $cmd $spec 3
		snapshot server
		connect_ok client "$addr"
		connect_blocked client "$addr"
		expect_stat server accepted "${SNAP[accepted]}" 1
		unprotect server
		pass "$where: token passes, no token blocked"
	done
done

# Gateway: the router protects nat1's service in FORWARD.
in_ns router tap-keytool load "$k3" >/dev/null || fail "load key in router"
in_ns nat1 python3 -m http.server --bind :: --directory /tmp/www "$HTTP_PORT" >/dev/null 2>&1 &
wait_for_port nat1 "$HTTP_PORT"
in_ns client ip route add 10.77.2.0/24 via $ROUTER4
in_ns client ip -6 route add fd00:77:2::/64 via $ROUTER6
for fam in 4 6; do
	[ $fam = 4 ] && { addr=$NAT1_4; cmd=iptables; } || { addr=$NAT1_6; cmd=ip6tables; }
	where="$cmd filter FORWARD on the gateway"
	protect router $cmd filter FORWARD 3
	snapshot router
	connect_ok client "$addr"
	connect_blocked client "$addr"
	expect_stat router accepted "${SNAP[accepted]}" 1
	unprotect router
	pass "$where: token passes, no token blocked"
done
check_dmesg_clean
