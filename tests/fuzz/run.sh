#!/bin/bash
# Runs the libFuzzer targets of tests/fuzz, one at a time (make fuzz-build
# builds them into build/fuzz):
#
#   tests/fuzz/run.sh [--smoke] SECONDS [TARGET...]
#
# Each target starts from its committed corpus, tests/fuzz/corpus/TARGET
# (seeds and the regression inputs of every crash found), and fuzzes for
# SECONDS. New inputs go to build/fuzz/corpus/TARGET, kept between runs;
# with --smoke to a scratch directory, so that a smoke run always starts
# from the committed corpus alone. A crash input goes to
# build/fuzz/artifacts/; the log of each run to build/fuzz/logs/TARGET.log.
# Prints the executions per target and fails if any target crashed.
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 2
smoke=0
if [ "${1:-}" = --smoke ]; then
	smoke=1
	shift
fi
secs=${1:?usage: tests/fuzz/run.sh [--smoke] SECONDS [TARGET...]}
shift
targets=("$@")
if [ ${#targets[@]} = 0 ]; then
	for f in tests/fuzz/fuzz_*.c; do
		t=${f#tests/fuzz/fuzz_}
		targets+=("${t%.c}")
	done
fi

mkdir -p build/fuzz/logs build/fuzz/artifacts
rc=0
summary=()
for t in "${targets[@]}"; do
	bin=build/fuzz/fuzz_$t
	if [ ! -x "$bin" ]; then
		echo "fuzz: $bin is not built (make fuzz-build)" >&2
		exit 2
	fi
	if [ $smoke = 1 ]; then
		work=$(mktemp -d build/fuzz/smoke.XXXXXX)
	else
		work=build/fuzz/corpus/$t
		mkdir -p "$work"
	fi
	dict=()
	[ -e "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
	log=build/fuzz/logs/$t.log
	start=$(date +%s)
	# -rss_limit_mb: ASan's quarantine and the corpus grow for minutes
	"$bin" -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=4096 \
		-artifact_prefix="build/fuzz/artifacts/$t-" "${dict[@]}" \
		"$work" "tests/fuzz/corpus/$t" >"$log" 2>&1
	status=$?
	took=$(($(date +%s) - start))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	[ $smoke = 1 ] && rm -rf "$work"
	if [ $status = 0 ]; then
		line=$(printf '%-16s %12s executions in %4d s  ok' "$t" "${execs:-?}" "$took")
	else
		rc=1
		line=$(printf '%-16s %12s executions in %4d s  CRASH (exit %d, see %s)' \
			"$t" "${execs:-?}" "$took" "$status" "$log")
		grep -E 'ERROR|runtime error|invariant|fuzz_[a-z_]*:|Test unit written' "$log" |
			head -n 8 >&2
	fi
	echo "$line"
	summary+=("$line")
done
echo "=== fuzz summary ($secs s per target)"
printf '%s\n' "${summary[@]}"
exit $rc
