#!/bin/bash
# Runs every guest test (tests/guest/*.sh but the files they source:
# setup.sh, topology.sh, lib_*.sh) in its own QEMU boot, and prints a
# summary line that CI reads.
#
#   tests/run-guest-tests.sh [NAME...]      # default: every test
#
# but those with a line "# guest-default: no" (long runs with a make target
# of their own), which run only when named.
#
# TAP_GUEST_JOBS guests run at once (default 1). With more than one, each
# test's console goes to its log only, and the tests start longest first
# (by their last run's time, kept in durations.txt), which packs them best.
#
# Each guest has TAP_GUEST_SMP CPUs (default 1): two one-CPU guests on two
# host cores finish e2e_token and e2e_reject side by side in 122 s, two
# two-CPU guests in 195 s. A test that needs more says so in a line
# "# guest-smp: N".
#
# A test that fails is booted once more (TAP_GUEST_RETRIES, default 1), so
# that one stall of the emulator under a loaded host does not hide the rest;
# a pass on retry is still reported as FLAKY, with the first run's reason.
set -u
cd "$(dirname "$0")/.."

only=("$@")
kver=$(scripts/kver.sh)
retries=${TAP_GUEST_RETRIES:-1}
jobs=${TAP_GUEST_JOBS:-1}
smp=${TAP_GUEST_SMP:-1}
for v in "TAP_GUEST_RETRIES=$retries" "TAP_GUEST_JOBS=$jobs" "TAP_GUEST_SMP=$smp"; do
	case ${v#*=} in
	''|*[!0-9]*) echo "$v: expected a number" >&2; exit 2 ;;
	esac
done
[ "$jobs" -ge 1 ] || jobs=1
logs=build/qemu/logs/$kver
mkdir -p "$logs"
durations=$logs/durations.txt
touch "$durations"
echo "=== guest tests on kernel $kver ($jobs at a time, $smp CPU each)"

# why LOG: the lines that lead up to the first failure in LOG.
why() {
	grep -B 12 -m 1 -E '^(FAIL: |tap: FAIL)' "$1" 2>/dev/null | tail -n 20 | cut -c 1-400
}

# run_one NAME: the test, retried; leaves "pass|flaky|fail SECONDS" in
# $logs/NAME.result
run_one() {
	local name=$1 run ok start secs
	local -x TAP_GUEST_SMP
	TAP_GUEST_SMP=$(sed -n 's/^# guest-smp: *\([0-9][0-9]*\)$/\1/p' "tests/guest/$name.sh" | head -n 1)
	TAP_GUEST_SMP=${TAP_GUEST_SMP:-$smp}
	# a test that needs longer than run.sh's 900 s says so: "# guest-timeout: S"
	local -x TAP_QEMU_TIMEOUT=${TAP_QEMU_TIMEOUT:-}
	[ -n "$TAP_QEMU_TIMEOUT" ] ||
		TAP_QEMU_TIMEOUT=$(sed -n 's/^# guest-timeout: *\([0-9][0-9]*\)$/\1/p' "tests/guest/$name.sh" | head -n 1)
	TAP_QEMU_TIMEOUT=${TAP_QEMU_TIMEOUT:-900}
	rm -f "$logs/$name".failed-*.log
	for run in $(seq 0 "$retries"); do
		echo "=== guest test: $name$([ "$run" = 0 ] || echo " (retry $run)")"
		start=$(date +%s)
		if [ "$jobs" = 1 ]; then
			tests/qemu/run.sh "tests/guest/$name.sh" && ok=1 || ok=0
		else
			tests/qemu/run.sh "tests/guest/$name.sh" >/dev/null 2>&1 && ok=1 || ok=0
		fi
		secs=$(( $(date +%s) - start ))
		echo "=== $([ $ok = 1 ] && echo PASS || echo FAIL) $name ($secs s)"
		[ $ok = 1 ] && break
		cp "$logs/$name.log" "$logs/$name.failed-$((run + 1)).log" 2>/dev/null
	done
	if [ $ok = 1 ]; then
		echo "$([ "$run" = 0 ] && echo pass || echo flaky) $secs" >"$logs/$name.result"
	else
		echo "fail $secs" >"$logs/$name.result"
	fi
}

names=()
for t in tests/guest/*.sh; do
	name=$(basename "$t" .sh)
	case "$name" in setup|topology|lib*) continue ;; esac
	if [ ${#only[@]} -gt 0 ] && ! printf '%s\n' "${only[@]}" | grep -qx "$name"; then
		continue
	fi
	# "# guest-default: no": a long test that runs only when named
	if [ ${#only[@]} -eq 0 ] && grep -qx '# guest-default: no' "$t"; then
		continue
	fi
	names+=("$name")
done
# longest first: by this machine's last run, else by tests/guest-durations.txt
# (one-CPU guests, two at a time, on the development machine); unknown ones
# count as long
mapfile -t names < <(for n in "${names[@]}"; do
	echo "$(cat "$durations" tests/guest-durations.txt 2>/dev/null |
		awk -v n="$n" '$1 == n { print $2; exit }' | grep . || echo 9999) $n"
done | sort -rn | awk '{ print $2 }')

for name in "${names[@]}"; do
	rm -f "$logs/$name.result"
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
		wait -n
	done
	run_one "$name" &
done
wait

passed=0 failed=0 failures=() flaky=()
for name in "${names[@]}"; do
	read -r res secs <"$logs/$name.result" 2>/dev/null || res=fail secs=0
	case $res in
	pass) passed=$((passed + 1)) ;;
	flaky) passed=$((passed + 1)); flaky+=("$name") ;;
	*) failed=$((failed + 1)); failures+=("$name") ;;
	esac
	{ grep -v "^$name " "$durations"; echo "$name $secs"; } >"$durations.new" &&
		mv "$durations.new" "$durations"
done

# CI shows only the tail of the output: repeat here why each test failed
# (also kept in $logs/summary.txt, for make guest-check's last word).
{
for name in "${flaky[@]}"; do
	echo "--- FLAKY $name: failed, then passed on retry; the failed run said ($logs/$name.failed-1.log):"
	why "$logs/$name.failed-1.log"
done
for name in "${failures[@]}"; do
	echo "--- why $name failed ($logs/$name.log):"
	why "$logs/$name.log"
done
[ ${#flaky[@]} -eq 0 ] || echo "flaky guest tests (passed on retry): ${flaky[*]}"
[ $failed -eq 0 ] || echo "failed guest tests: ${failures[*]}"
echo "guest: $passed passed, $failed failed, ${#flaky[@]} of the passes on retry (kernel $kver)"
} | tee "$logs/summary.txt"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
