#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Test network for guest tests; setup.sh sources it, and sourcing it only
# defines. The network comes up with topo_start, inside the qemu guest
# (tests/qemu/run.sh). Never run it on a host: it only ever creates
# namespaces and addresses that exist inside the guest.
#
# Every host is a network namespace with one veth "eth0" (router has two)
# whose peer is a port of a bridge in the namespace "lan":
#
#   server    eth0  10.77.1.1    fd00:77:1::1   --+
#   client    eth0  10.77.1.2    fd00:77:1::2   --+-- lan:br1  (segment 1, "WAN")
#   attacker  eth0  10.77.1.3    fd00:77:1::3   --+
#   router    eth0  10.77.1.254  fd00:77:1::fe  --+
#   router    eth1  10.77.2.1    fd00:77:2::1   --+
#   nat1      eth0  10.77.2.11   fd00:77:2::11  --+-- lan:br2  (segment 2, behind NAT)
#   nat2      eth0  10.77.2.12   fd00:77:2::12  --+
#
# All prefixes are /24 and /64. nat1 and nat2 route by default via the
# router, which forwards (IPv4 and IPv6) and masquerades everything leaving
# eth0 (nft table "inet topo_nat"), so the server sees 10.77.1.254 and
# fd00:77:1::fe for them. Segment-1 hosts have no route to segment 2.
# DAD is off, so IPv6 addresses work at once. The "lan" namespace has IPv6
# disabled and is only a switch.
#
# Helpers: topo_start (topo_setup, and topo_teardown on exit), topo_setup,
# topo_teardown, in_ns NS CMD..., wait_for_port NS PORT [SECONDS], fail MSG,
# pass MSG, check_dmesg_clean, tap_ko REPO. Start daemons with
# "ip netns exec NS CMD &" rather than "in_ns NS CMD &" (a backgrounded
# function is a subshell that prints "Terminated" when topo_teardown kills
# what still runs in the namespaces).

TOPO_HOSTS="server client attacker router nat1 nat2"

SERVER4=10.77.1.1      SERVER6=fd00:77:1::1
CLIENT4=10.77.1.2      CLIENT6=fd00:77:1::2
ATTACKER4=10.77.1.3    ATTACKER6=fd00:77:1::3
ROUTER4=10.77.1.254    ROUTER6=fd00:77:1::fe
ROUTER_LAN4=10.77.2.1  ROUTER_LAN6=fd00:77:2::1
NAT1_4=10.77.2.11      NAT1_6=fd00:77:2::11
NAT2_4=10.77.2.12      NAT2_6=fd00:77:2::12
export TOPO_HOSTS SERVER4 SERVER6 CLIENT4 CLIENT6 ATTACKER4 ATTACKER6 ROUTER4 ROUTER6 \
	ROUTER_LAN4 ROUTER_LAN6 NAT1_4 NAT1_6 NAT2_4 NAT2_6

fail() { echo "FAIL: $*"; exit 1; }
pass() { echo "PASS: $*"; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# tap_ko REPO: path of the xt_tap.ko built for the running kernel. The
# in-tree one is the freshest when it fits; else make modules-all's copy,
# staged under /tmp as a .ko (modinfo reads only *.ko paths).
tap_ko() {
	local ko=$1/xt_tap/xt_tap.ko k
	k=$(uname -r)
	if [ "$(modinfo -F vermagic "$ko" 2>/dev/null | cut -d' ' -f1)" != "$k" ] &&
	   [ -e "$1/build/kmod/$k/xt_tap.bin" ]; then
		mkdir -p /tmp/tap-kmod && cp "$1/build/kmod/$k/xt_tap.bin" /tmp/tap-kmod/xt_tap.ko &&
			ko=/tmp/tap-kmod/xt_tap.ko
	fi
	echo "$ko"
}

# _topo_port NS DEV BRIDGE ADDR4 ADDR6: veth DEV in NS, peer NS-DEV on BRIDGE.
_topo_port() {
	local ns=$1 dev=$2 br=$3
	ip -n "$ns" link add "$dev" type veth peer name "$ns-$dev" netns lan || return
	ip -n lan link set "$ns-$dev" master "$br" up &&
	ip -n "$ns" addr add "$4/24" dev "$dev" &&
	ip -n "$ns" addr add "$5/64" dev "$dev" nodad &&
	ip -n "$ns" link set "$dev" up
}

topo_setup() {
	local ns br
	ip netns add lan || fail "ip netns add lan"
	in_ns lan sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	for br in br1 br2; do
		ip -n lan link add "$br" type bridge stp_state 0 forward_delay 0 mcast_snooping 0 &&
		ip -n lan link set "$br" up || fail "bridge $br"
	done
	for ns in $TOPO_HOSTS; do
		ip netns add "$ns" &&
		in_ns "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 &&
		ip -n "$ns" link set lo up || fail "namespace $ns"
	done
	_topo_port server eth0 br1 $SERVER4 $SERVER6 &&
	_topo_port client eth0 br1 $CLIENT4 $CLIENT6 &&
	_topo_port attacker eth0 br1 $ATTACKER4 $ATTACKER6 &&
	_topo_port router eth0 br1 $ROUTER4 $ROUTER6 &&
	_topo_port router eth1 br2 $ROUTER_LAN4 $ROUTER_LAN6 &&
	_topo_port nat1 eth0 br2 $NAT1_4 $NAT1_6 &&
	_topo_port nat2 eth0 br2 $NAT2_4 $NAT2_6 || fail "veth setup"
	for ns in nat1 nat2; do
		ip -n "$ns" route add default via $ROUTER_LAN4 &&
		ip -n "$ns" -6 route add default via $ROUTER_LAN6 || fail "routes in $ns"
	done
	in_ns router sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 &&
	in_ns router nft -f - <<-EOF || fail "router masquerade"
		table inet topo_nat {
			chain postrouting {
				type nat hook postrouting priority srcnat; policy accept;
				oifname "eth0" masquerade
			}
		}
	EOF
}

# topo_start: the network up now, and down when the test exits
topo_start() {
	topo_setup
	trap topo_teardown EXIT
}

# topo_teardown [NS...]: kills whatever still runs in the namespaces (default:
# the topology's), then deletes them.
topo_teardown() {
	local ns pids
	for ns in ${*:-$TOPO_HOSTS lan}; do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] && kill $pids 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	return 0
}

# wait_for_port NS PORT [SECONDS]: wait until a TCP or UDP socket listens on
# PORT inside NS (default 10 s).
wait_for_port() {
	local ns=$1 port=$2 i
	for ((i = 0; i < ${3:-10} * 10; i++)); do
		[ -n "$(in_ns "$ns" ss -Hltun "sport = :$port")" ] && return 0
		sleep 0.1
	done
	fail "nothing listens on port $port in $ns"
}

# Fails if the kernel complained since the test started (tests/qemu/guest-init.sh
# writes the marker and sets TAP_DMESG_RE).
check_dmesg_clean() {
	local re=${TAP_DMESG_RE:-'BUG:|WARNING:|Oops|refcount_t|kmemleak|UBSAN|general protection|leak'}
	local bad
	bad=$(dmesg | sed -n '/tap: test start/,$p' | grep -E "$re")
	[ -z "$bad" ] || fail "kernel complained:"$'\n'"$bad"
}
