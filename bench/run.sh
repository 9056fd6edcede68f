#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host side of the guest SYN flood benchmark (see bench/README-guest.md):
# builds the test-only injector (and, unless BENCH_NO_BUILD=1, the module,
# plugin and keytool), boots the Debian kernel under
# `tests/qemu/run.sh --icount`, runs bench/guest_flood.sh in it, prints the
# summary and writes it to bench/results/guest_flood-KVER.txt.
#
#   bench/run.sh                       # defaults: N=50000 REPS=5 FAMILIES="4 6"
#   N=20000 REPS=3 FAMILIES=4 bench/run.sh
#
# N, REPS, FAMILIES, CONFIGS, ROTATE, PREFILL and PROFILE are passed to the guest script.

set -euo pipefail
repo=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$repo"
kver=${TAP_KVER:-$(scripts/kver.sh)}
kdir=${KDIR:-/lib/modules/$kver/build}
out=bench/results/guest_flood-$kver.txt
logdir=${TAP_BUILD:-$repo/build}/bench
export TAP_QEMU_TIMEOUT=${TAP_QEMU_TIMEOUT:-3600}

if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
	make -s modules KDIR="$kdir"
	make -s build/libxt_tap.so build/tap-keytool
fi
make -s -C bench/inject KDIR="$kdir"

# tests/qemu/run.sh does not pass the environment into the guest, so hand
# the settings to the guest script as NAME=VALUE arguments.
vars=()
for v in N REPS FAMILIES CONFIGS ROTATE PREFILL PROFILE ANNOTATE; do
	[ -n "${!v:-}" ] && vars+=("$v=${!v}")
done

mkdir -p "$logdir" bench/results
set +e
tests/qemu/run.sh -k "$kver" --icount -o "$logdir" bench/guest_flood.sh "${vars[@]}" \
	>/dev/null
rc=$?
set -e
log=$logdir/guest_flood.log
if [ $rc != 0 ]; then
	tail -n 40 "$log" >&2
	echo "bench: guest run failed (status $rc); full log: $log" >&2
	exit $rc
fi

{
	echo "# bench/run.sh, $(date -u '+%Y-%m-%d %H:%M UTC'), git $(git rev-parse --short HEAD 2>/dev/null)"
	echo "# qemu: tests/qemu/run.sh --icount (-accel tcg -icount shift=0,sleep=off -smp 1)"
	echo "# host: $(uname -m), $(nproc) cpu, $(qemu-system-x86_64 --version | head -n 1)"
	grep '^bench: ' "$log" | sed 's/^/# /'
	sed -n '/^=== summary begin/,/^=== summary end/p' "$log" | sed '1d;$d'
	echo
	sed -n '/^=== profile begin/,/^=== profile end/p' "$log" | sed '1d;$d;s/^/# /'
	echo "# every timed run: result FAMILY RULESET ROUND NS_PER_SYN"
	grep '^result ' "$log"
} >"$out"
sed -n '/^=== summary begin/,/^=== summary end/p' "$log" | sed '1d;$d'
echo "bench: wrote $out (full log: $log)"
