#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Load/unload cycles: N times (default 50) insmod xt_tap, create a netns,
# add tap rules (IPv4 and IPv6) and keys, send SYNs through the rules, tear
# everything down and rmmod. The kernel must not complain and
# memory must not drift. Runs inside the qemu guest:
#   tests/qemu/run.sh tests/guest/kmod_cycles.sh [CYCLES]
#
# Cycles rotate through four teardown orders, because x_tables and nf_tables
# may destroy a netns's rules before or after xt_tap's pernet exit ran:
#   0  iptables-nft,    rules deleted, then the netns
#   1  iptables-nft,    netns deleted with its rules in place
#   2  iptables-legacy, rules deleted, then the netns
#   3  iptables-legacy, netns deleted with its rules in place
# iptables-nft's modules load once, before xt_tap from the second cycle on,
# so nf_tables destroys the rules after our pernet exit (mode 1); the legacy
# table modules are unloaded after each mode 2 cycle, so in mode 3 they
# load after xt_tap and destroy the rules before our exit. The warm-up
# cycle does mode 1 with nf_tables loading after xt_tap.
# Without the iptables plugin (build/libxt_tap.so) only the module, netns,
# keys and /proc parts run.

. "$(dirname "$(readlink -f "$0")")/setup.sh"

cycles=${1:-50}
ko=$(tap_ko "$TAP_REPO")
keytool=$TAP_REPO/build/tap-keytool
ns=tapcyc
# Big tables: a leak of one netns's tables (~7 MiB) would show at once.
mparams="pending_buckets=8192 replay_capacity=524288 max_keys=8"
# Bound for MemAvailable drift over the whole run; leaking the tables in
# every cycle would be 50 x 7 MiB.
drift_max_kb=$((64 * 1024))

[ -r "$ko" ] || fail "$ko missing: run 'make modules' on the host first"
built=$(modinfo -F vermagic "$ko" | cut -d' ' -f1)
[ "$built" = "$(uname -r)" ] ||
	fail "$ko is built for $built, the guest runs $(uname -r) (run.sh -k $built)"
for m in $(modinfo -F depends "$ko" | tr , ' '); do modprobe "$m" || fail "modprobe $m"; done

cleanup() {
	stop_sender
	ip netns del $ns 2>/dev/null
	ip link del tapc0 2>/dev/null
	mod_loaded xt_tap && rmmod xt_tap
}
trap cleanup EXIT

sender=
have_rules=0
if [ -r "$TAP_REPO/build/libxt_tap.so" ] && command -v iptables-legacy >/dev/null &&
	command -v iptables-nft >/dev/null; then
	have_rules=1
else
	echo "note: no build/libxt_tap.so or iptables-legacy/-nft: no rules, no traffic"
fi
have_keys=0
if [ -x "$keytool" ]; then
	have_keys=1
	"$keytool" genkey --id 1 -o /tmp/cyc1.key >/dev/null || fail "genkey"
else
	echo "note: no build/tap-keytool: no keys"
fi

# SYNs from the init netns to the cycle netns over veth: many from one
# source (fills and evicts a pending bucket), v4 and v6, plus SYN-ACKs and
# duplicates. One sender serves all cycles (python starts slowly under TCG):
# each line N on its stdin sends a burst, then it answers "ok".
cat >/tmp/cyc_syn.py <<'EOF'
import random, socket, struct, sys
def tcp(sport, dport, seq, flags=0x02):
    return struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 1024, 0, 0)
s4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
s6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_TCP)
s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_CHECKSUM, 16)
for line in sys.stdin:
    for i in range(int(line)):
        seq = random.getrandbits(32)
        s4.sendto(tcp(20000 + i, 22, seq), ("10.99.0.2", 0))
        s6.sendto(tcp(20000 + i, 22, seq), ("fd00:99::2", 0))
        if i % 8 == 0:
            s4.sendto(tcp(20000 + i, 22, seq, 0x12), ("10.99.0.2", 0))  # SYN-ACK
            s4.sendto(tcp(20000 + i, 22, seq), ("10.99.0.2", 0))  # duplicate
    print("ok", flush=True)
EOF
start_sender() {
	rm -f /tmp/cyc_go /tmp/cyc_done
	mkfifo /tmp/cyc_go /tmp/cyc_done || fail "mkfifo"
	python3 /tmp/cyc_syn.py </tmp/cyc_go >/tmp/cyc_done 2>/tmp/cyc_syn.err &
	sender=$!
	exec 7>/tmp/cyc_go 8</tmp/cyc_done
}
stop_sender() {
	[ -n "$sender" ] || return 0
	exec 7>&- 8<&-
	wait $sender
	sender=
}
send_syns() {
	local ans
	echo "$1" >&7 && read -r -t 60 ans <&8 && [ "$ans" = ok ] ||
		fail "SYN sender died: $(cat /tmp/cyc_syn.err)"
}

# The cycle netns: one veth to the init netns (one batch: processes are
# slow under TCG).
make_ns() {
	ip netns add $ns && ip -b - <<-EOF
		link add tapc0 type veth peer name eth0 netns $ns
		addr add 10.99.0.1/24 dev tapc0
		addr add fd00:99::1/64 dev tapc0 nodad
		link set tapc0 up
	EOF
	ip -n $ns -b - <<-EOF
		addr add 10.99.0.2/24 dev eth0
		addr add fd00:99::2/64 dev eth0 nodad
		link set eth0 up
		link set lo up
	EOF
}

# rules FLAVOUR (nft or legacy) add|del: a tap rule in each hook it may
# use; "del" restores empty tables.
rules() {
	local f=$1 ipt
	for ipt in iptables ip6tables; do
		if [ "$2" = add ]; then
			in_ns $ns $ipt-$f-restore <<-EOF || return 1
				*filter
				-A INPUT -p tcp --dport 22 --syn -m tap --key-id 1-2 -j ACCEPT
				-A INPUT -p tcp --dport 22 --syn -j DROP
				-A FORWARD -p tcp --syn -m tap --key-id 0-65535 -j DROP
				COMMIT
				*raw
				-A PREROUTING -p tcp --syn -m tap --key-id 3 --no-dst-bind --window 5
				COMMIT
			EOF
		else
			printf '*filter\nCOMMIT\n*raw\nCOMMIT\n' |
				in_ns $ns $ipt-$f-restore || return 1
		fi
	done
}

# proc: read /proc/net/xt_tap of the cycle netns into ${P[name]}.
declare -A P
proc() {
	local k v out
	P=()
	out=$(in_ns $ns cat /proc/net/xt_tap)
	while read -r k v; do P[$k]=$v; done <<<"$out"
	[ -n "${P[rules]:-}" ] || fail "cannot read /proc/net/xt_tap in $ns"
}

one_cycle() {
	local c=$1 mode=$(($1 % 4)) flavour=nft total st
	[ $mode -ge 2 ] && flavour=legacy

	insmod "$ko" $mparams || fail "cycle $c: insmod"
	make_ns || fail "cycle $c: netns setup"

	if [ $have_keys = 1 ]; then
		in_ns $ns "$keytool" load /tmp/cyc1.key >/dev/null &&
		in_ns $ns "$keytool" load --replace /tmp/cyc1.key >/dev/null ||
			fail "cycle $c: key load/replace"
	fi
	proc
	[ "${P[rules]}" = 0 ] && [ "${P[memory_bytes]}" = 0 ] || fail "cycle $c: tables before any rule"
	[ $have_keys = 0 ] || [ "${P[keys]}" = 1 ] || fail "cycle $c: ${P[keys]} keys, want 1"

	if [ $have_rules = 1 ]; then
		rules $flavour add || fail "cycle $c: add $flavour rules"
		send_syns 24
		proc
		[ "${P[rules]}" = 6 ] || fail "cycle $c: ${P[rules]} rules, want 6"
		[ "${P[memory_bytes]}" -gt 0 ] || fail "cycle $c: no tables with rules"
		# two tap rules see each of the 51 SYNs; the SYN-ACKs never count
		total=0
		for st in accepted retransmit incomplete key_not_allowed unknown_key \
			  stale bad_mac replayed table_full; do
			total=$((total + P[$st]))
		done
		[ "$total" -ge 51 ] || fail "cycle $c: only $total outcomes counted for 51 SYNs"
		[ "${P[evicted]}" -gt 0 ] || fail "cycle $c: a 24-SYN flood from one source evicted nothing"
		[ "${P[accepted]}" = 0 ] || fail "cycle $c: random SYNs were accepted"
		if [ $mode = 0 ] || [ $mode = 2 ]; then
			rules $flavour del || fail "cycle $c: delete rules"
			proc
			[ "${P[rules]}" = 0 ] && [ "${P[memory_bytes]}" = 0 ] ||
				fail "cycle $c: tables outlive the rules"
		fi
	fi
	# keys go by del, by flush, or with the netns
	if [ $have_keys = 1 ] && [ $((c % 3)) = 1 ]; then
		in_ns $ns "$keytool" del 1 >/dev/null || fail "cycle $c: del"
	elif [ $have_keys = 1 ] && [ $((c % 3)) = 2 ]; then
		in_ns $ns "$keytool" flush >/dev/null || fail "cycle $c: flush"
	fi

	ip netns del $ns || fail "cycle $c: ip netns del"
	mod_unload xt_tap 100 || fail "cycle $c: rmmod xt_tap (still used: $(grep '^xt_tap ' /proc/modules))"
	if [ $mode = 2 ] && ! rmmod ip6table_raw iptable_raw ip6table_filter iptable_filter; then
		echo "note: cycle $c: legacy tables stay loaded, mode 3 keeps their exit order"
	fi
	return 0
}

# MemAvailable once freeing work (netns cleanup, RCU) has settled.
memavail() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	sleep 2
	sed -n 's/^MemAvailable: *\([0-9]*\) kB/\1/p' /proc/meminfo
}

[ $have_rules = 1 ] && start_sender
start=$SECONDS
one_cycle 1		# warm up: load the modules the cycles use
mem0=$(memavail)
for ((c = 1; c <= cycles; c++)); do
	one_cycle $c
	[ $((c % 10)) = 0 ] && echo "cycle $c done ($((SECONDS - start)) s)"
done
mem1=$(memavail)
drift=$((mem0 - mem1))
echo "MemAvailable before ${mem0} kB, after ${mem1} kB (drift ${drift} kB)"
[ "$drift" -lt "$drift_max_kb" ] || fail "MemAvailable dropped by $drift kB over $cycles cycles"
pass "$cycles insmod/netns/rules/traffic/rmmod cycles in $((SECONDS - start)) s"

bad=$(dmesg | sed -n '/tap: test start/,$p' |
	grep -E 'BUG:|WARNING:|Oops|refcount|leak|Call Trace|corruption|xt_tap: self-test:')
[ -z "$bad" ] || fail "kernel complained:"$'\n'"$bad"
check_dmesg_clean
pass "no kernel complaint over the load/unload cycles"
