#!/bin/bash
# Runs every guest test (tests/guest/*.sh that is not a library) in its own
# QEMU boot, and prints a summary line that CI reads.
#
# A test that fails is booted once more (TAP_GUEST_RETRIES, default 1), so
# that one stall of the emulator under a loaded host does not hide the rest;
# a pass on retry is still reported as FLAKY, with the first run's reason.
set -u
cd "$(dirname "$0")/.."

only=("$@")
kver=$(scripts/kver.sh)
retries=${TAP_GUEST_RETRIES:-1}
case $retries in
''|*[!0-9]*) echo "TAP_GUEST_RETRIES=$retries: expected a number of retries (0 for none)" >&2; exit 2 ;;
esac
logs=build/qemu/logs/$kver
mkdir -p "$logs"
echo "=== guest tests on kernel $kver"
passed=0 failed=0 failures=() flaky=()

# why LOG: the lines that lead up to the first failure in LOG.
why() {
	grep -B 12 -m 1 -E '^(FAIL: |tap: FAIL)' "$1" 2>/dev/null | tail -n 20 | cut -c 1-400
}

for t in tests/guest/*.sh; do
	name=$(basename "$t" .sh)
	case "$name" in topology|lib*) continue ;; esac
	if [ ${#only[@]} -gt 0 ] && ! printf '%s\n' "${only[@]}" | grep -qx "$name"; then
		continue
	fi
	rm -f "$logs/$name".failed-*.log
	for run in $(seq 0 "$retries"); do
		echo "=== guest test: $name$([ "$run" = 0 ] || echo " (retry $run)")"
		start=$(date +%s)
		tests/qemu/run.sh "$t" && ok=1 || ok=0
		echo "=== $([ $ok = 1 ] && echo PASS || echo FAIL) $name ($(( $(date +%s) - start )) s)"
		[ $ok = 1 ] && break
		cp "$logs/$name.log" "$logs/$name.failed-$((run + 1)).log" 2>/dev/null
	done
	if [ $ok = 1 ]; then
		passed=$((passed + 1))
		[ "$run" = 0 ] || flaky+=("$name")
	else
		failed=$((failed + 1))
		failures+=("$name")
	fi
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
