#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host side of the paper's evaluation (bench/README.md, "The paper's
# evaluation"): two guest boots of bench/paper.sh, then CSV files, PNG plots
# (bench/paper_plot.sh) and a table.
#
#   bench/paper_run.sh            # full grid, results in bench/results/
#   QUICK=1 bench/paper_run.sh    # reduced grid, results in build/bench/quick/
#
# Boot 1, tests/qemu/run.sh --icount (1 CPU, guest time counts
# instructions, so ratios repeat): §5.1 transactions, connect() latency.
# Boot 2, normal TCG with 2 CPUs (floods need real parallelism): Fig. 7,
# Fig. 6, memory under flood, the spoofed-client sweep. Then connect()
# latency natively (bench/connect_latency.sh). Progress lines ("progress:
# EXPERIMENT: POINT (K of N)") come from the guests as they run.
# BENCH_NO_BUILD=1 skips building; KDIR and TAP_KVER as for bench/run.sh.

set -euo pipefail
repo=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$repo"
QUICK=${QUICK:-0}
kver=${TAP_KVER:-$(scripts/kver.sh)}
kdir=${KDIR:-/lib/modules/$kver/build}
if [ "$QUICK" = 1 ]; then
	out=${BENCH_RESULTS:-build/bench/quick}
else
	out=${BENCH_RESULTS:-bench/results}
fi
logdir=${TAP_BUILD:-$repo/build}/bench/paper$([ "$QUICK" = 1 ] && echo -quick || true)
export TAP_QEMU_TIMEOUT=${TAP_QEMU_TIMEOUT:-3600}

if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
	make -s modules KDIR="$kdir"
	make -s userspace build/paper_load
fi
mkdir -p "$out" "$logdir"

# boot NAME QEMU-OPTIONS... -- GUEST-ARGS...: one guest run, progress shown
boot() {
	local name=$1 opts=() rc
	shift
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	echo "bench: paper, boot $name: $*"
	set +e
	tests/qemu/run.sh -k "$kver" "${opts[@]}" -o "$logdir/$name" bench/paper.sh "$@" |
		grep --line-buffered -E '^(progress|bench|FAIL|tap: (PASS|FAIL))' |
		sed -u 's/^/  /'
	rc=${PIPESTATUS[0]}
	set -e
	if [ "$rc" != 0 ]; then
		tail -n 40 "$logdir/$name/paper.log" >&2
		echo "bench: paper boot $name failed (status $rc); log: $logdir/$name/paper.log" >&2
		exit "$rc"
	fi
}

# BOOTS="icount" or "smp2" runs one boot alone and takes the other's CSV
# lines from its last log (to run each under its own guest slot)
BOOTS=${BOOTS:-icount smp2}
t_icount=- t_smp2=-
if [[ " $BOOTS " == *" icount "* ]]; then
	start=$SECONDS
	boot icount --icount -- EXPS="tx latency" QUICK="$QUICK"
	t_icount=$((SECONDS - start))
fi
if [[ " $BOOTS " == *" smp2 "* ]]; then
	start=$SECONDS
	boot smp2 --smp 2 -- EXPS="fig7 fig6 spoof" QUICK="$QUICK"
	t_smp2=$((SECONDS - start))
fi
# "csv FILE LINE" lines become $out/paper_FILE
awk -v dir="$out" '$1 == "csv" { f = dir "/paper_" $2; if (!(f in seen)) { seen[f] = 1; printf "" > f }
	sub(/^csv [^ ]+ /, ""); print >> f }' "$logdir/icount/paper.log" "$logdir/smp2/paper.log"

echo "bench: paper, connect() latency natively"
if [ "$QUICK" = 1 ]; then nat=(200 2); else nat=(1000 5); fi
native=$(bench/connect_latency.sh "${nat[@]}" 2>&1) || { echo "$native" >&2; exit 1; }
echo "$native" | awk '/ without TAP | with tap-clientd / {
	m = ($2 == "without") ? "plain" : "tap"; n = NF
	printf "native,%s,%s,%s,%s,%s,%s,%s,%s\n", $1, m, $(n-5), $(n-4), $(n-3), $(n-2), $(n-1), $n }' \
	>>"$out/paper_latency.csv"

stamp="$kver, $(date -u '+%Y-%m-%d'), git $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
bench/paper_plot.sh "$out" "$stamp"
{
	echo "# bench/paper_run.sh QUICK=$QUICK; $stamp; wall time: icount boot ${t_icount}s, smp2 boot ${t_smp2}s"
	bench/paper_table.sh "$out"
} >"$out/paper_table.txt"
cat "$out/paper_table.txt"
echo "bench: paper results in $out (logs: $logdir)"
