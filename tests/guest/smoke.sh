#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Smoke test of the qemu test bed: topology, NAT, tools and module loading.
# Run it as: tests/qemu/run.sh tests/guest/smoke.sh

. "$(dirname "$(readlink -f "$0")")/setup.sh"

topo_start
pass "topology up"

for from in client nat1 nat2 attacker; do
	for to in $SERVER4 $SERVER6; do
		in_ns $from ping -c 1 -W 2 $to >/dev/null || fail "ping $from -> $to"
	done
done
in_ns server ping -c 1 -W 2 $CLIENT4 >/dev/null || fail "ping server -> client"
in_ns server ping -c 1 -W 2 $CLIENT6 >/dev/null || fail "ping server -> client v6"
pass "ping v4 and v6, both ways and through the router"

# A TCP server that answers each connection with the peer's address.
# (Not "in_ns ... &": that forks a subshell, which says "Terminated" when
# topo_teardown kills the server.)
port=8080
ip netns exec server python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", int(sys.argv[1])))
s.listen(16)
while True:
    c, a = s.accept()
    try:
        c.sendall(a[0].removeprefix("::ffff:").encode() + b"\n")
    except OSError:  # nmap resets its probes
        pass
    c.close()
' $port &
wait_for_port server $port

# peer_seen NS ADDR: the address the server saw for a connection from NS.
# No "timeout" here: under --icount (sleep=off) guest timers can expire while
# the guest waits for the host, so short timeouts misfire; run.sh has its own.
peer_seen() {
	in_ns "$1" bash -c 'exec 3<>/dev/tcp/$0/$1 && read -r l <&3 && echo "$l"' "$2" $port
}
check_peer() {
	local seen
	seen=$(peer_seen "$1" "$2")
	[ "$seen" = "$3" ] || fail "$1 -> $2: server saw '$seen', wanted '$3'"
}
check_peer client $SERVER4 $CLIENT4
check_peer client $SERVER6 $CLIENT6
check_peer nat1 $SERVER4 $ROUTER4
check_peer nat1 $SERVER6 $ROUTER6
check_peer nat2 $SERVER4 $ROUTER4
pass "TCP direct and masqueraded (server sees $ROUTER4 / $ROUTER6)"

in_ns router nft list table inet topo_nat | grep -q masquerade || fail "nft list"
in_ns server iptables -A INPUT -p tcp --dport 9 -j REJECT --reject-with tcp-reset &&
	in_ns server iptables -S INPUT | grep -q -- '--dport 9' || fail "iptables"
in_ns server ip6tables -A INPUT -p tcp --dport 9 -j REJECT --reject-with tcp-reset &&
	in_ns server ip6tables -S INPUT | grep -q -- '--dport 9' || fail "ip6tables"
in_ns client nmap -n -Pn -sT -p $port,9 $SERVER4 >/tmp/nmap.out || fail "nmap"
grep -q "^$port/tcp *open" /tmp/nmap.out && grep -q '^9/tcp *closed' /tmp/nmap.out ||
	fail "nmap v4 result: $(cat /tmp/nmap.out)"
in_ns client nmap -6 -n -Pn -sT -p $port $SERVER6 | grep -q "^$port/tcp *open" || fail "nmap -6"
pass "iptables, ip6tables, nft and nmap work"

# Module loading: the kernel's own autoload (request_module -> modprobe) and
# explicit modprobe / modprobe -r.
loaded() { grep -q "^$1 " /proc/modules; }
loaded xt_recent && fail "xt_recent loaded before the test"
in_ns server iptables -A INPUT -m recent --name smoke --set || fail "iptables -m recent"
loaded xt_recent || fail "xt_recent was not autoloaded"
in_ns server iptables -D INPUT -m recent --name smoke --set || fail "iptables -D"
unload() {
	local i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		modprobe -r "$1" 2>/dev/null && ! loaded "$1" && return 0
		sleep 0.5
	done
	fail "modprobe -r $1"
}
unload xt_recent
modprobe xt_recent && loaded xt_recent || fail "modprobe xt_recent"
unload xt_recent
pass "module autoload, modprobe and modprobe -r"

check_dmesg_clean
pass "smoke"
