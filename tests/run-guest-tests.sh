#!/bin/bash
# Runs every guest test (tests/guest/*.sh that is not a library) in its own
# QEMU boot, and prints a summary line that CI reads.
set -u
cd "$(dirname "$0")/.."

only=("$@")
kver=$(scripts/kver.sh)
echo "=== guest tests on kernel $kver"
passed=0 failed=0 failures=()
for t in tests/guest/*.sh; do
	name=$(basename "$t" .sh)
	case "$name" in topology|lib*) continue ;; esac
	if [ ${#only[@]} -gt 0 ] && ! printf '%s\n' "${only[@]}" | grep -qx "$name"; then
		continue
	fi
	echo "=== guest test: $name"
	start=$(date +%s)
	if tests/qemu/run.sh "$t"; then
		passed=$((passed + 1))
		echo "=== PASS $name ($(( $(date +%s) - start )) s)"
	else
		failed=$((failed + 1))
		failures+=("$name")
		echo "=== FAIL $name ($(( $(date +%s) - start )) s)"
	fi
done
[ $failed -eq 0 ] || echo "failed guest tests: ${failures[*]}"
echo "guest: $passed passed, $failed failed (kernel $kver)"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
