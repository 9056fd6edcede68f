#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The short table of the paper's evaluation, from DIR/paper_*.csv:
#   bench/paper_table.sh DIR
set -euo pipefail
dir=$1

echo "§5.1 transactions/s (guest time, --icount): median over rounds; ratio tap/plain of the medians [per-round range]; paper 0.994"
awk -F, 'NR > 1 { v[$1, $3, ++n[$1, $3]] = $6; r[$1, $2, $3] = $6; if ($2 > maxr) maxr = $2; rtts[$1] = 1 }
	function med(k, m,   i, j, t, a, c) { c = n[k, m]; for (i = 1; i <= c; i++) a[i] = v[k, m, i]
		for (i = 2; i <= c; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
		return c % 2 ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2 }
	END { for (k in rtts) { lo = 1e9; hi = 0
		for (i = 1; i <= maxr; i++) if (r[k, i, "plain"] > 0) { q = r[k, i, "tap"] / r[k, i, "plain"]; if (q < lo) lo = q; if (q > hi) hi = q }
		printf "  RTT %-4s ms  plain %8.1f  tap %8.1f  ratio %.4f [%.4f-%.4f]\n", k, med(k, "plain"), med(k, "tap"),
			med(k, "tap") / med(k, "plain"), lo, hi } }' "$dir/paper_tx.csv" | sort

for f in fig6 spoof; do
	[ -s "$dir/paper_$f.csv" ] || continue
	[ $f = fig6 ] && echo "Fig. 6: fetches that succeed, of 100 (flood pps measured at the server)" ||
		echo "Spoofed client source: fetches that succeed, of 100"
	awk -F, 'NR > 1 { if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 }
		ok[$2, $1] = $4 "/" $5; pps[$2, $1] = $3 }
		END { printf "  %-9s %-28s %-28s %-28s\n", "offered", "TAP", "no TAP, syncookies", "no TAP, no syncookies"
		for (i = 1; i <= n; i++) { r = order[i]; printf "  %-9s", r
			split("tap cookies nocookies", c, " ")
			for (j = 1; j <= 3; j++) printf " %-28s", sprintf("%s at %s pps", ok[r, c[j]], pps[r, c[j]])
			printf "\n" } }' "$dir/paper_$f.csv"
done

echo "Fig. 7: legitimate req/s (100 clients, guest time) against held attacker connections; ratio to the same server's 0 point"
awk -F, 'NR > 1 { if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 } rate[$1, $2] = $7; held[$1, $2] = $3; fl[$1, $2] = $5 }
	END { printf "  %-9s %-34s %-34s\n", "attacker", "with TAP", "without TAP"
	for (i = 1; i <= n; i++) { x = order[i]; printf "  %-9s", x
		for (m = 1; m <= 2; m++) { s = m == 1 ? "tap" : "plain"
			printf " %-34s", sprintf("%.1f/s (x%.3f), %s held, %s failed", rate[s, x], rate[s, 0] ? rate[s, x] / rate[s, 0] : 0, held[s, x], fl[s, x]) }
		printf "\n" } }' "$dir/paper_fig7.csv"

echo "Memory of xt_tap (bytes): memory_bytes / bound, by phase"
awk -F, 'NR > 1 { printf "  %-7s %-6s %10s / %10s  vmalloc %s  slab %s kB\n", $1, $2, $3, $4, $5, $6 }' "$dir/paper_memory.csv"

echo "connect() latency (us): median and p99 without / with tap-clientd, ratio"
awk -F, 'NR > 1 { k = $1 " " $2; md[k, $3] = $5; p[k, $3] = $7; if (!(k in s)) { s[k] = 1; o[++n] = k } }
	END { for (i = 1; i <= n; i++) { k = o[i]
		printf "  %-12s median %7.1f / %7.1f (x%.2f)  p99 %8.1f / %8.1f (x%.2f)\n", k, md[k, "plain"], md[k, "tap"],
			md[k, "tap"] / md[k, "plain"], p[k, "plain"], p[k, "tap"], p[k, "tap"] / p[k, "plain"] } }' "$dir/paper_latency.csv"
