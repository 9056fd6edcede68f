#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Instructions per SYN that xt_tap/tap_core.c spends on a flood SYN and on
# the dearest crafted SYN, counted by callgrind, with the core built with
# the code-generation flags the kernel builds the module with (no SSE, no
# red zone, retpoline and return thunks inline, stack protector, zeroed
# automatic variables). See bench/README.md.
#
#   bench/flood_model.sh [N]      # default N=20000
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20000}
out=build/flood_model
mkdir -p build
# From `make modules V=1` of 6.1: code generation only (no -pg: the
# ftrace nop is one instruction per function, the same either way).
kflags="-O2 -std=gnu11 -fno-strict-aliasing -fno-common -fno-PIE -no-pie
	-mno-sse -mno-mmx -mno-sse2 -mno-3dnow -mno-avx -mno-red-zone
	-fcf-protection=none -falign-jumps=1 -falign-loops=1
	-mpreferred-stack-boundary=3 -mskip-rax-setup -mtune=generic
	-mindirect-branch=thunk-inline -mindirect-branch-register
	-mfunction-return=thunk-inline -fno-jump-tables
	-fno-delete-null-pointer-checks -fno-allow-store-data-races
	-fstack-protector-strong -ftrivial-auto-var-init=zero
	-fno-stack-clash-protection -fno-strict-overflow -fconserve-stack"
# the core with the kernel's flags; the driver (printf, calloc) without:
# glibc needs a 16-byte aligned stack at its entry points
# shellcheck disable=SC2086
gcc $kflags -g -Ixt_tap -D_GNU_SOURCE -c -o build/flood_model_core.o xt_tap/tap_core.c
gcc -O2 -g -no-pie -Ixt_tap -D_GNU_SOURCE -o "$out" bench/flood_model.c build/flood_model_core.o \
	$(pkg-config --cflags --libs libsodium)
for fam in 4 6; do
	for mode in flood onesrc crafted crafted_ids; do
		f=build/callgrind.$mode.$fam
		# the flood fills the tables first: count only the second half
		total=$(valgrind --tool=callgrind --callgrind-out-file="$f" \
			--toggle-collect=tap_process_syn "$out" "$mode" "$fam" "$n" 2>&1 |
			sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
		syns=$n
		case $mode in crafted*) ;; *) syns=$((2 * n)) ;; esac
		echo "$mode IPv$fam: $((total / syns)) instructions per SYN in tap_process_syn" \
			"($syns SYNs; callgrind_annotate $f)"
	done
done
