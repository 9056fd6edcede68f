#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# guest-smp: 2
# guest-default: no
#
# Life cycle under load (issue 12, part 2), on two CPUs. A spoofed-source
# SYN flood (bench/inject/tap_inject.ko: random sources in 10.200.0.0/16 and
# fd00:200::/96, random ISNs, to the protected port, into the server's
# eth0) runs the whole time. CYCLES times (first argument, default 100):
#   insmod xt_tap; load key 3; protect port 80 (even cycles: iptables and
#   ip6tables --drop-invalid rules, odd: tap-nft protect); in the first
#   cycle and every BURST_EVERY-th (second argument, default 10) a burst:
#   while four churn loops run beside the flood (tap rules on other ports
#   added and deleted with iptables and tap-nft, key 7 loaded, replaced and
#   deleted, network namespaces with tap rules and keys created and
#   destroyed), a keyed connection over IPv4, key 3 replaced by another key
#   file, a keyed connection over IPv6 with the new file, then the churn
#   stops; then the rules and keys go, and xt_tap is unloaded.
# Checks: every keyed connection made while its rule and key existed got in
# and got the server's answer; after the last rule goes the netns's tap
# memory is 0 (/proc/net/xt_tap), or kept for the replay cache's last
# entry's lifetime and freed by rmmod; rmmod succeeds each time; MemAvailable
# does not drift; the harness fails the run on any oops or warning in dmesg.
# Too long for make check: `make check-stress` runs it, as does
#   tests/run-guest-tests.sh lifecycle_load   (TAP_KVER= picks the kernel)

. "$(dirname "$(readlink -f "$0")")/setup.sh"
# shellcheck source=lib_inject.sh
. "$TAP_GUEST_DIR/lib_inject.sh"

CYCLES=${1:-100} BURST_EVERY=${2:-10}
case $CYCLES$BURST_EVERY in ''|*[!0-9]*) fail "usage: $0 [CYCLES [BURST_EVERY]]" ;; esac
PORT=$HTTP_PORT
INJ=/sys/module/tap_inject/parameters
STOP=/tmp/lc-stop
# a bigger pending table: pieces outlive the flood's turnover until the
# client's SYN is retransmitted (1 s)
MPARAMS="pending_buckets=16384"
LOG=/tmp/lc-log
mkdir -p $LOG


# ---- modules, keys, the network ----------------------------------------------
tap_load_module $MPARAMS	# checks and stages /tmp/xt_tap.ko, loads its dependencies
modprobe nf_tables && modprobe nft_compat || fail "modprobe nft_compat"
inject_load tap_inject dev=eth0 dport=$PORT

KA=$(tap_genkey 3 3a) KB=$(tap_genkey 3 3b)
K7A=$(tap_genkey 7 7a) K7B=$(tap_genkey 7 7b)
K1=$(tap_genkey 1)

topo_start
# background loops stop with the test, whatever ends it
trap 'touch $STOP $STOP.flood; kill $(jobs -p) 2>/dev/null; wait; topo_teardown' EXIT
ip netns exec server python3 -c '
import socket, threading
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", 80))
s.listen(1024)
def serve(c, a):
    try:
        c.recv(100)
        c.sendall(b"hello " + a[0].removeprefix("::ffff:").encode() + b"\n")
    except OSError:
        pass
    c.close()
while True:
    c, a = s.accept()
    threading.Thread(target=serve, args=(c, a), daemon=True).start()
' >/dev/null 2>&1 &
wait_for_port server $PORT 30

# ---- the flood: the whole run ---------------------------------------------------
flood() {
	local fam n=0
	while [ ! -e $STOP.flood ]; do
		for fam in 4 6; do
			echo $fam >$INJ/family
			if [ $fam = 4 ]; then
				echo "$SERVER4" >$INJ/dst; echo 10.200.0.0 >$INJ/src
			else
				echo "$SERVER6" >$INJ/dst; echo fd00:200:: >$INJ/src
			fi
			ip netns exec server sh -c "echo 2000 > $INJ/run" || return 1
			n=$((n + 2000))
			echo $n >$LOG/flood
		done
		sleep 0.2
	done
}

# ---- churn loops: each runs until $STOP exists, counting its rounds ---------------
churn_iptables() {
	local n=0 ipt
	while [ ! -e $STOP ]; do
		for ipt in iptables ip6tables; do
			in_ns server $ipt -t raw -A PREROUTING -p tcp --dport 81 --syn \
				-m tap --key-id 7 --drop-invalid -j ACCEPT &&
			in_ns server $ipt -t raw -D PREROUTING -p tcp --dport 81 --syn \
				-m tap --key-id 7 --drop-invalid -j ACCEPT || return 1
		done
		n=$((n + 1))
	done
	echo $n >$LOG/iptables
}

churn_nft() {
	local n=0 h
	while [ ! -e $STOP ]; do
		h=$(in_ns server tap-nft add inet churn c --dport 82 --key-id 7 accept) &&
		h=${h##* } &&
		in_ns server tap-nft delete inet churn c "$h" >/dev/null || return 1
		n=$((n + 1))
	done
	echo $n >$LOG/nft
}

churn_keys() {
	local n=0
	while [ ! -e $STOP ]; do
		in_ns server tap-keytool load "$K7A" >/dev/null &&
		in_ns server tap-keytool load --replace "$K7B" >/dev/null &&
		in_ns server tap-keytool del 7 >/dev/null || return 1
		n=$((n + 1))
	done
	echo $n >$LOG/keys
}

churn_netns() {
	local n=0 ns
	while [ ! -e $STOP ]; do
		ns=lc$((n % 2))
		ip netns add $ns || return 1
		if [ $((n % 2)) = 0 ]; then
			in_ns $ns iptables -t raw -A PREROUTING -p tcp --syn \
				-m tap --key-id 1 --drop-invalid -j ACCEPT &&
			in_ns $ns ip6tables -t raw -A PREROUTING -p tcp --syn \
				-m tap --key-id 1 -j ACCEPT || return 1
		else
			in_ns $ns tap-nft protect --dport 22 --key-id 1 >/dev/null || return 1
		fi
		in_ns $ns tap-keytool load "$K1" >/dev/null || return 1
		ip netns del $ns || return 1
		n=$((n + 1))
	done
	echo $n >$LOG/netns
}

# ---- one cycle -------------------------------------------------------------------
declare -A P
proc() {
	local k v
	P=()
	while read -r k v; do P[${k%:}]=$v; done < <(in_ns server cat /proc/net/xt_tap)
	[ -n "${P[rules]:-}" ] || fail "cycle $c: cannot read /proc/net/xt_tap"
}

protect_port() {
	if [ $(($1 % 2)) = 0 ]; then
		in_ns server iptables -t raw -A PREROUTING -p tcp --dport $PORT --syn \
			-m tap --key-id 3 --drop-invalid -j ACCEPT &&
		in_ns server ip6tables -t raw -A PREROUTING -p tcp --dport $PORT --syn \
			-m tap --key-id 3 --drop-invalid -j ACCEPT
	else
		in_ns server tap-nft protect --dport $PORT --key-id 3 >/dev/null
	fi
}

unprotect_port() {
	if [ $(($1 % 2)) = 0 ]; then
		in_ns server iptables -t raw -F PREROUTING &&
		in_ns server ip6tables -t raw -F PREROUTING
	else
		in_ns server tap-nft unprotect >/dev/null
	fi
}

conns=0
# keyed_connect KEYFILE ADDR: a connection with the OS's SYN, the server's answer
keyed_connect() {
	local reply
	reply=$(in_ns client tap-send connect -q --key "$1" --dst "$2" --dport $PORT \
		--send "hi" --timeout 30 2>&1) ||
		fail "cycle $c: keyed connection to $2 failed while its rule and key existed: $reply"
	case $reply in
	"hello $3"*) ;;
	*) fail "cycle $c: connection to $2: the server answered '$reply'" ;;
	esac
	conns=$((conns + 1))
}

churners=(churn_iptables churn_nft churn_keys churn_netns)
declare -A ROUNDS
# burst: the churn loops beside the flood, a keyed connection over IPv4,
# key 3 replaced, one over IPv6 with the new key file
burst() {
	local pids=() f i
	rm -f $STOP
	for f in "${churners[@]}"; do
		$f &
		pids+=($!)
	done
	keyed_connect "$key" $SERVER4 $CLIENT4
	in_ns server tap-keytool load --replace "$other" >/dev/null || fail "cycle $c: replace key 3"
	keyed_connect "$other" $SERVER6 $CLIENT6
	touch $STOP
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || fail "cycle $c: ${churners[$i]} failed"
		ROUNDS[${churners[$i]}]=$((${ROUNDS[${churners[$i]}]:-0} + $(cat $LOG/${churners[$i]#churn_})))
	done
	proc
	[ "${P[accepted]}" -ge 2 ] || fail "cycle $c: ${P[accepted]} SYNs accepted, 2 connections got in"
}
bursts=0
flood &
flood_pid=$!
# the churn table stays; its chain only holds tap rules while churn_nft runs
in_ns server nft add table inet churn &&
in_ns server nft add chain inet churn c '{ type filter hook prerouting priority -300; }' ||
	fail "nft table for the churn"
start=$(date +%s)
for ((c = 1; c <= CYCLES; c++)); do
	[ $c = 1 ] || insmod /tmp/xt_tap.ko $MPARAMS || fail "cycle $c: insmod xt_tap"
	key=$KA; [ $((c % 2)) = 0 ] && key=$KB
	other=$KB; [ "$key" = "$KB" ] && other=$KA
	in_ns server tap-keytool load "$key" >/dev/null || fail "cycle $c: load key 3"
	protect_port $c || fail "cycle $c: protect port $PORT"
	if [ $c = 1 ] || [ $((c % BURST_EVERY)) = 0 ]; then
		burst
		bursts=$((bursts + 1))
	fi
	proc
	[ "${P[memory_bytes]}" -gt 0 ] || fail "cycle $c: no tap tables while protected"
	unprotect_port $c || fail "cycle $c: unprotect"
	proc
	# the tables outlive the last rule only while an entry of the replay
	# cache lives (at most 2 * 30 + 1 s: rules use the default window)
	[ "${P[rules]}" = 0 ] && { [ "${P[memory_bytes]}" = 0 ] ||
		{ [ "${P[tables_kept_s]}" -ge 1 ] && [ "${P[tables_kept_s]}" -le 61 ]; }; } ||
		fail "cycle $c: after the last rule: rules ${P[rules]}, memory_bytes ${P[memory_bytes]}, kept ${P[tables_kept_s]} s"
	in_ns server tap-keytool flush >/dev/null || fail "cycle $c: flush keys"
	mod_unload xt_tap || fail "cycle $c: rmmod xt_tap: $(rmmod xt_tap 2>&1)"
	[ $c = 1 ] && mem0=$(awk '/MemAvailable/ { print $2 }' /proc/meminfo)
	echo "cycle $c: $conns keyed connections so far, flood $(cat $LOG/flood) SYNs, $(($(date +%s) - start)) s"
done
touch $STOP.flood
wait $flood_pid || fail "the flood stopped early"
sync; echo 3 >/proc/sys/vm/drop_caches
mem1=$(awk '/MemAvailable/ { print $2 }' /proc/meminfo)
echo "MemAvailable after cycle 1: $mem0 kB, at the end: $mem1 kB"
[ $((mem0 - mem1)) -lt $((64 * 1024)) ] || fail "MemAvailable fell by $((mem0 - mem1)) kB over $CYCLES cycles"
mod_loaded xt_tap && fail "xt_tap still loaded"
echo "lifecycle_load: $CYCLES module load/unload cycles, $bursts bursts, $conns keyed connections (all in)," \
	"$(cat $LOG/flood) flood SYNs; churn rounds: iptables add+del ${ROUNDS[churn_iptables]}," \
	"tap-nft add+delete ${ROUNDS[churn_nft]}, key load+replace+del ${ROUNDS[churn_keys]}," \
	"netns create+destroy ${ROUNDS[churn_netns]}; $(($(date +%s) - start)) s"
check_dmesg_clean
pass "lifecycle_load"
