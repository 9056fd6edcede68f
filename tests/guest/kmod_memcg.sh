#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Kernel memory belongs to whoever asked for it: the tables a netns gets
# with its first tap rule, and the keys, are charged to the memory cgroup of
# the process that adds the rule or loads the key. In a memory
# cgroup (the "container"):
#   (a) each netns's first tap rule raises memory.current by at least the
#       tables' size (memory_bytes in /proc/net/xt_tap);
#   (b) under a small memory.max, adding rules in new namespaces until the
#       limit is reached ends in a clean error from iptables: non-zero exit, "Cannot allocate memory",
#       no rule left behind, no OOM kill, no allocation-failure splat;
#   (c) the host (root cgroup) still gets tables for a netns of its own, and
#       they are not charged to the cgroup;
#   (keys) loading many keys (tap-keytool sync) from inside the cgroup
#       charges it, and flushing them gives the memory back;
#   (d) deleting the namespaces frees the tables: memory.current falls back.
# Runs inside the qemu guest:
#   tests/qemu/run.sh tests/guest/kmod_memcg.sh

. "$(dirname "$(readlink -f "$0")")/setup.sh"

CGROOT=/sys/fs/cgroup
cg=$CGROOT/tap_memcg		# the "container"
other=$CGROOT/tap_memcg_other	# only for draining charge caches, see usage()
tap_rule=(iptables -A INPUT -p tcp --syn -m tap --key-id 1 -j ACCEPT)
# what a key costs at least: sizeof(struct xt_tap_key) is more than this
# (16-byte key, serial, fingerprint, 11 64-bit counters, rcu_head)
key_min_bytes=128
nkeys=1024
# after the namespaces are gone, what may stay charged (dentries and the
# like); far below one netns's tables
residue_max=$((512 * 1024))
namespaces=()

cleanup() {
	local ns
	for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null; done
	rmdir "$cg" "$other" 2>/dev/null
	return 0
}
trap cleanup EXIT

# in_cg CMD...: run CMD as a process of the cgroup, so that what the kernel
# allocates for it is charged there
in_cg() { sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg" "$@"; }

# usage: memory.current of the cgroup, exact. Each CPU keeps up to 64 pages
# charged in advance for the last cgroup that charged there; a process of
# another cgroup charging on every CPU hands them back.
cpus=$(seq 0 $(($(nproc --all) - 1)))
usage() {
	sh -c 'echo $$ >"$0/cgroup.procs" && for c in $1; do taskset -c $c true || exit; done' \
		"$other" "$cpus" || fail "cannot run a process of $other on every CPU"
	cat "$cg/memory.current"
}

# has_tap_rule NS: a tap rule is in NS's INPUT chain
has_tap_rule() { in_ns "$1" iptables -S INPUT | grep -q -- '-m tap'; }

# wait_usage_below BYTES SECONDS: sets now=$(usage), waiting up to SECONDS
# for it to fall to BYTES or below (frees after RCU or in kernel workers)
wait_usage_below() {
	local end=$((SECONDS + $2))
	while now=$(usage) && [ "$now" -gt "$1" ] && [ $SECONDS -lt $end ]; do
		sleep 0.5
	done
}

# event NAME: a counter of the cgroup's memory.events
event() {
	local name val
	while read -r name val; do [ "$name" = "$1" ] && echo "$val"; done <"$cg/memory.events"
}

mib() { printf "%d.%02d MiB" $(($1 / 1048576)) $(($1 % 1048576 * 100 / 1048576)); }

# new_ns NAME [in_cg]: a netns, remembered for cleanup
new_ns() {
	namespaces+=("$1")
	"${@:2}" ip netns add "$1" || fail "ip netns add $1 ${2:+(in the cgroup)}"
}

tap_load_module

# ---- the cgroups ----
mountpoint -q "$CGROOT" || mount -t cgroup2 none "$CGROOT" || fail "cannot mount cgroup2"
grep -qw memory "$CGROOT/cgroup.controllers" || fail "no memory controller in cgroup2"
echo +memory >"$CGROOT/cgroup.subtree_control" || fail "cannot enable the memory controller"
mkdir "$cg" "$other" || fail "mkdir $cg $other"

# Warm up as the host: the page cache of the binaries and libraries (read
# over 9p: charged to the first reader), and nf_tables loaded, are then not
# the cgroup's; without this, tap-keytool's libraries alone would look like
# the keys' charge.
new_ns mcg_warm
in_ns mcg_warm "${tap_rule[@]}" && in_ns mcg_warm tap-keytool stats >/dev/null ||
	fail "warm-up: tap rule and tap-keytool as the host"
snapshot mcg_warm
bytes=${SNAP[memory_bytes]} max_keys=${SNAP[max_keys]}
[ "$bytes" -gt 1048576 ] 2>/dev/null || fail "memory_bytes of a netns with a rule: $bytes"
ip netns del mcg_warm

start=$(usage)

# ---- (a) the first tap rule of a netns charges its tables to the caller ----
# The same rule without the match first: what is left after it is the tables.
after=$start
for i in 1 2; do
	ns=mcg_a$i
	before=$after
	new_ns $ns in_cg
	in_cg ip netns exec $ns iptables -A INPUT -p tcp --syn -j ACCEPT ||
		fail "plain rule in $ns"
	plain=$(usage)
	in_cg ip netns exec $ns "${tap_rule[@]}" || fail "tap rule in $ns"
	after=$(usage)
	snapshot $ns
	[ "${SNAP[memory_bytes]}" = "$bytes" ] || fail "$ns: memory_bytes ${SNAP[memory_bytes]}, want $bytes"
	echo "  $ns: netns and plain rule +$((plain - before)), tap rule +$((after - plain)) bytes"
	[ $((after - plain)) -ge "$bytes" ] ||
		fail "$ns: the tap rule charged the cgroup $((after - plain)) bytes, less than its tables ($bytes)"
done
step=$(( (after - start) / 2 ))
pass "(a) each netns's first tap rule charged its cgroup at least memory_bytes ($(mib "$bytes")); a netns with a rule costs $(mib $step)"

# ---- (b) up to the limit: a clean error ----
# Room for two more namespaces with a rule and one more half-way: the
# netns and iptables itself fit, the tables do not.
limit=$(( $(usage) + 2 * step + step / 2 ))
echo $limit >"$cg/memory.max" || fail "cannot set memory.max"
oom_kills=$(event oom_kill)
echo "<6>tap-memcg: limit" >/dev/kmsg
added=0
for i in $(seq 1 10); do
	ns=mcg_b$i
	new_ns $ns in_cg
	out=$(in_cg ip netns exec $ns "${tap_rule[@]}" 2>&1)
	rc=$?
	[ $rc = 0 ] || break
	added=$((added + 1))
done
klog=$(dmesg | sed -n '/tap-memcg: limit$/,$p')
echo "  memory.max $(mib $limit): $added namespaces got a rule; then iptables exit $rc: $out"
[ $rc != 0 ] || fail "10 namespaces got tap rules under memory.max $(mib $limit)"
[ "$added" -ge 1 ] || fail "no netns got a tap rule under memory.max $(mib $limit) (step $(mib $step))"
[ "$(event max)" -gt 0 ] || fail "memory.events: the limit was never hit"
echo "$klog" | grep -qE 'oom-kill|Killed process|Out of memory' &&
	fail "the limit ended in an OOM kill (iptables exit $rc), not an error:"$'\n'"$(
		echo "$klog" | grep -E -A 26 -m 1 'invoked oom-killer'
		echo "$klog" | grep -E 'Killed process')"
[ "$(event oom_kill)" = "$oom_kills" ] || fail "memory.events counts an OOM kill"
[ $rc -lt 128 ] || fail "iptables died of signal $((rc - 128)): $out"
echo "$out" | grep -qi 'cannot allocate memory' ||
	fail "iptables failed (exit $rc) without saying it is out of memory: $out"
echo "$klog" | grep -Ei 'page allocation failure|vmalloc error|allocation failure' &&
	fail "the kernel warned about the failed allocation:"$'\n'"$klog"
has_tap_rule $ns && fail "$ns has a tap rule after iptables failed"
snapshot $ns
[ "${SNAP[rules]}" = 0 ] && [ "${SNAP[memory_bytes]}" = 0 ] ||
	fail "$ns holds tables after iptables failed: rules ${SNAP[rules]}, memory_bytes ${SNAP[memory_bytes]}"
# what failed is the match's tables: the same rule without it still fits
in_cg ip netns exec $ns iptables -A INPUT -p tcp --syn -j ACCEPT ||
	fail "$ns: even a rule without the tap match fails under the limit"
held=$(usage)
[ "$held" -le "$limit" ] || fail "memory.current $held is over memory.max $limit"
pass "(b) under memory.max $(mib $limit), $added more namespaces got a rule, then iptables failed cleanly (exit $rc, '$out'), no rule, no tables, no OOM kill, no warning"

# ---- (c) the host is fine, and pays for its own tables ----
new_ns mcg_host
in_ns mcg_host "${tap_rule[@]}" || fail "the host cannot add a tap rule while the cgroup is full"
snapshot mcg_host
has_tap_rule mcg_host && [ "${SNAP[memory_bytes]}" = "$bytes" ] ||
	fail "the host's netns has no rule or no tables"
now=$(usage)
[ $((now - held)) -lt $((bytes / 2)) ] ||
	fail "the host's tables were charged to the cgroup (+$((now - held)) bytes)"
pass "(c) a netns of the host got a rule and its tables while the cgroup was full, charged to the host"

# ---- (keys) keys are charged to whoever loads them ----
# (before (d): the frees of deleted namespaces trail on for a while and
# would hide part of the keys' charge)
echo max >"$cg/memory.max"
[ $nkeys -le "$max_keys" ] || fail "max_keys $max_keys: cannot load $nkeys keys"
new_ns mcg_keys
keydir=/tmp/mcg-keys
mkdir -m 700 "$keydir" || fail "mkdir $keydir"
# the key files in one go (genkey is one process per key: too slow here);
# random secrets of 16 bytes in canonical base64
(umask 077 && awk -v n="$nkeys" -v dir="$keydir" 'BEGIN {
	b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	srand()
	for (k = 0; k <= n; k++) {	# n secrets, then the shared realm
		s = ""
		for (j = 0; j < 21; j++)
			s = s substr(b64, int(rand() * 64) + 1, 1)
		sec[k] = s substr("AQgw", int(rand() * 4) + 1, 1) "=="
	}
	for (i = 0; i < n; i++) {
		f = dir "/" i ".key"
		printf "version = 2\nid = %d\nsecret = %s\nrealm = %s\n", i, sec[i], sec[n] > f
		close(f)
	}
}') || fail "cannot write key files"
tap-keytool fingerprint "$keydir/0.key" >/dev/null || fail "a generated key file is refused"
before=$(usage)
in_cg ip netns exec mcg_keys tap-keytool sync "$keydir" >/dev/null || fail "tap-keytool sync of $nkeys keys"
loaded=$(usage)
snapshot mcg_keys
[ "${SNAP[keys]}" = "$nkeys" ] || fail "${SNAP[keys]} keys loaded, want $nkeys"
echo "  $nkeys keys: +$((loaded - before)) bytes ($(( (loaded - before) / nkeys )) per key)"
[ $((loaded - before)) -ge $((nkeys * key_min_bytes)) ] ||
	fail "loading $nkeys keys charged the cgroup $((loaded - before)) bytes, less than $key_min_bytes per key"
in_ns mcg_keys tap-keytool flush || fail "tap-keytool flush"
# keys are freed after an RCU grace period
wait_usage_below $((before + nkeys * key_min_bytes / 4)) 20
[ $((now - before)) -le $((nkeys * key_min_bytes / 4)) ] ||
	fail "memory.current stays $((now - before)) bytes up after the keys are flushed"
pass "(keys) loading $nkeys keys from the cgroup charged it $(mib $((loaded - before))); flushing them gave it back"

# ---- (d) deleting the namespaces gives the memory back ----
full=$(usage)
for ns in "${namespaces[@]}"; do
	case $ns in mcg_a* | mcg_b*) ip netns del "$ns" ;; esac
done
# netns cleanup runs in a kernel worker: wait for it
wait_usage_below $((start + residue_max)) 30
echo "  memory.current $(mib "$full") with the namespaces, $(mib "$now") after deleting them (start $(mib "$start"))"
[ $((now - start)) -le $residue_max ] ||
	fail "memory.current stays at $(mib "$now") after the namespaces are deleted (start $(mib "$start")): tables not freed"
pass "(d) deleting the namespaces gave back $(mib $((full - now)))"

check_dmesg_clean
