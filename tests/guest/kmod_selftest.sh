#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# xt_tap.ko loads, passes its self-test, exposes /proc/net/xt_tap (in every
# netns) and its parameters, refuses nonsense parameters with a clear
# message, and unloads. Runs inside the qemu guest:
#   tests/qemu/run.sh tests/guest/kmod_selftest.sh

. "$(dirname "$(readlink -f "$0")")/setup.sh"

ko=$(tap_ko "$TAP_REPO")
params=/sys/module/xt_tap/parameters
stats="accepted retransmit incomplete key_not_allowed unknown_key stale bad_mac replayed table_full evicted truncated limited"
fields="rules keys max_keys pending_slots authorized_slots replay_slots replay_live replay_rated_rate window_max memory_bytes memory_bound_bytes tables_kept_s"

[ -r "$ko" ] || fail "$ko missing: run 'make modules' on the host first"
built=$(modinfo -F vermagic "$ko" | cut -d' ' -f1)
[ "$built" = "$(uname -r)" ] ||
	fail "$ko is built for $built, the guest runs $(uname -r) (run.sh -k $built, or make modules KVER=$(uname -r))"
loaded() { grep -q '^xt_tap ' /proc/modules; }
# insmod does not load dependencies (x_tables)
for m in $(modinfo -F depends "$ko" | tr , ' '); do modprobe "$m" || fail "modprobe $m"; done
# klog_since MARK: kernel messages after the marker line MARK.
mark() { echo "<6>tap-kmod: $1" >/dev/kmsg; }
klog_since() { dmesg | sed -n "/tap-kmod: $1\$/,\$p"; }
cleanup() { ip netns del kmodtest 2>/dev/null; loaded && rmmod xt_tap; }
trap cleanup EXIT

loaded && fail "xt_tap is loaded before the test"

# ---- load and self-test ----
mark load
insmod "$ko" || fail "insmod $ko"
loaded || fail "xt_tap not in /proc/modules after insmod"
nvec=$(grep -c '\.name = ' "$TAP_REPO/xt_tap/tap_vectors.h")
klog_since load | grep -q "xt_tap: self-test passed ($nvec vectors)" ||
	fail "no 'self-test passed ($nvec vectors)' in dmesg: $(klog_since load)"
klog_since load | grep -q 'xt_tap: self-test:' && fail "self-test complaint: $(klog_since load)"
pass "insmod, self-test passed ($nvec vectors)"

# ---- /proc/net/xt_tap ----
# check_proc [NETNS]: every field and counter, a number each, nothing else.
check_proc() {
	local run=() out name
	[ -n "${1:-}" ] && run=(ip netns exec "$1")
	out=$("${run[@]}" cat /proc/net/xt_tap) || fail "cannot read /proc/net/xt_tap ${1:-}"
	for name in $fields $stats; do
		echo "$out" | grep -Eq "^$name [0-9]+\$" || fail "/proc/net/xt_tap ${1:-}: no '$name N' line in:"$'\n'"$out"
	done
	[ "$(echo "$out" | wc -l)" = "$(echo $fields $stats | wc -w)" ] ||
		fail "/proc/net/xt_tap has unexpected lines:"$'\n'"$out"
	echo "$out"
}
proc=$(check_proc)
[ "$(stat -Lc %a /proc/net/xt_tap)" = 400 ] || fail "/proc/net/xt_tap mode $(stat -Lc %a /proc/net/xt_tap), want 400"
# key ids and accept times are not for every local user
setpriv --reuid=65534 --regid=65534 --clear-groups cat /proc/net/xt_tap >/dev/null 2>&1 &&
	fail "an unprivileged user can read /proc/net/xt_tap"
get() { echo "$proc" | sed -n "s/^$1 //p"; }
[ "$(get rules)" = 0 ] && [ "$(get keys)" = 0 ] && [ "$(get memory_bytes)" = 0 ] ||
	fail "fresh netns holds something:"$'\n'"$proc"
[ "$(get pending_slots)" = $((2048 * 16)) ] && [ "$(get authorized_slots)" = $((1024 * 4)) ] &&
	[ "$(get replay_slots)" = $((1 << 20)) ] || fail "table sizes at defaults:"$'\n'"$proc"
# rated at the default window: 2^20 * 0.6 / 31
[ "$(get replay_rated_rate)" = 20295 ] || fail "replay_rated_rate at defaults:"$'\n'"$proc"
bound=$(get memory_bound_bytes)
# 9 MiB of tables plus locks (larger under lockdep: 9,517,264 on the debug kernel)
[ "$bound" -gt 9300000 ] && [ "$bound" -lt 9600000 ] || fail "memory bound $bound at defaults"
ip netns add kmodtest || fail "ip netns add"
check_proc kmodtest >/dev/null
ip netns del kmodtest
pass "/proc/net/xt_tap: mode 0400, unreadable for nobody, all counters, also in a new netns (bound $bound bytes)"

# ---- parameters ----
for p in pending_buckets=2048 authorized_buckets=1024 replay_capacity=1048576 \
	 pending_lifetime_ms=5000 retransmit_lifetime_ms=10000 max_keys=4096 \
	 key_rate=10000 replay_min_rate=100; do
	v=$(cat "$params/${p%=*}" 2>/dev/null) || fail "no $params/${p%=*}"
	[ "$v" = "${p#*=}" ] || fail "${p%=*} is $v, want ${p#*=}"
	[ "$(stat -c %a "$params/${p%=*}")" = 444 ] || fail "$params/${p%=*} is not mode 0444"
done
pass "parameters visible in $params, mode 0444, defaults"

rmmod xt_tap || fail "rmmod"
loaded && fail "xt_tap still loaded after rmmod"
[ -e /proc/net/xt_tap ] && fail "/proc/net/xt_tap outlives the module"
pass "rmmod"

# ---- nonsense parameters are refused, loudly ----
for p in pending_buckets=0 authorized_buckets=0 replay_capacity=0 \
	 pending_buckets=2097152 replay_capacity=8388609 pending_lifetime_ms=0 \
	 retransmit_lifetime_ms=0 retransmit_lifetime_ms=3600001 max_keys=0 \
	 max_keys=65537 replay_min_rate=0; do
	mark "param $p"
	insmod "$ko" "$p" 2>/dev/null && fail "insmod $p succeeded"
	loaded && fail "xt_tap loaded with $p"
	klog_since "param $p" | grep -q "xt_tap: $p is out of range .*refusing to load" ||
		fail "no clear message for $p: $(klog_since "param $p")"
done
mark "param junk"
insmod "$ko" pending_buckets=lots 2>/dev/null && fail "insmod pending_buckets=lots succeeded"
loaded && fail "xt_tap loaded with pending_buckets=lots"
pass "invalid parameters refused with a clear dmesg message"

# ---- rounding to powers of two, and the sizes follow ----
mark rounding
insmod "$ko" pending_buckets=1000 authorized_buckets=3 replay_capacity=1 max_keys=7 ||
	fail "insmod with small tables"
[ "$(cat $params/pending_buckets)" = 1024 ] && [ "$(cat $params/authorized_buckets)" = 4 ] &&
	[ "$(cat $params/replay_capacity)" = 8 ] || fail "sizes not rounded up to powers of 2"
klog_since rounding | grep -q "xt_tap: pending_buckets=1000 rounded up to 1024" || fail "no rounding message"
klog_since rounding | grep -q "xt_tap: replay_capacity=1 raised to 8" || fail "no message for the replay cache"
proc=$(check_proc)
[ "$(get pending_slots)" = $((1024 * 16)) ] && [ "$(get authorized_slots)" = 16 ] &&
	[ "$(get replay_slots)" = 8 ] && [ "$(get max_keys)" = 7 ] || fail "sizes after rounding:"$'\n'"$proc"
rmmod xt_tap || fail "rmmod after rounding"
pass "table sizes rounded up to powers of 2"

# ---- a window the replay cache cannot carry is refused, naming the fix ----
# 65536 slots * 0.6 carry 1268 new connections/s at 30 s, 130 at 300 s,
# 65 at 600 s: fewer than replay_min_rate (100)
modprobe -a ip_tables iptable_filter >/dev/null 2>&1
insmod "$ko" replay_capacity=65536 || fail "insmod replay_capacity=65536"
iptables -A INPUT -p tcp --syn -m tap --key-id 1 --window 300 -j ACCEPT ||
	fail "a 300 s window was refused at replay_capacity=65536"
mark window
iptables -A INPUT -p tcp --syn -m tap --key-id 1 --window 600 -j ACCEPT 2>/dev/null &&
	fail "a 600 s window was accepted at replay_capacity=65536"
klog_since window | grep -q "window 600 s: the replay cache (replay_capacity=65536) carries only 65 new connections/s at it, fewer than replay_min_rate=100; load xt_tap with replay_capacity=131072 or more" ||
	fail "no clear message for a window too large: $(klog_since window)"
[ "$(iptables -S INPUT | grep -c -- '-m tap')" = 1 ] || fail "the refused rule left something"
iptables -F INPUT
# nf_tables frees deleted rules from a work item: the module may stay busy
for i in $(seq 50); do rmmod xt_tap 2>/dev/null && break; sleep 0.2; done
loaded && fail "rmmod after the window test"
pass "a window the replay cache cannot carry at replay_min_rate is refused with the parameter to raise"

check_dmesg_clean
pass "no kernel complaint while loading, self-testing and unloading"
