#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# PNG plots of the paper's evaluation from bench/paper_run.sh's CSV files:
#   bench/paper_plot.sh DIR "STAMP"
# DIR/paper_*.csv in, DIR/paper_*.png out; STAMP (kernel, date, commit)
# goes in each plot's lower right corner.
set -euo pipefail
dir=$1 stamp=$2
command -v gnuplot >/dev/null || { echo "paper_plot: gnuplot missing (scripts/install-deps.sh)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# the latency ratios: one row per place and family
awk -F, 'NR > 1 { k = $1 " " $2; md[k, $3] = $5; p99[k, $3] = $7; if (!(k in seen)) { seen[k] = 1; order[++n] = k } }
	END { for (i = 1; i <= n; i++) { k = order[i]
		printf "\"%s\" %.3f %.3f\n", k, md[k, "tap"] / md[k, "plain"], p99[k, "tap"] / p99[k, "plain"] } }' \
	"$dir/paper_latency.csv" >"$tmp/lat.dat"

# the flood axis reaches at least past the paper's 80 kpps mark
xmax=$(cat "$dir"/paper_fig6.csv "$dir"/paper_spoof.csv 2>/dev/null |
	awk -F, 'NR > 1 && $3 + 0 > m { m = $3 + 0 } END { print (m * 1.05 > 90000 ? int(m * 1.05) : 90000) }')

gnuplot <<GP
set terminal pngcairo noenhanced size 900,560 font ",11"
set datafile separator ","
set grid
set label 99 "$stamp" at screen 0.01,0.015 left font ",8" textcolor "gray40"
set key outside top center horizontal

set output "$dir/paper_tx.png"
set title "§5.1 transactions (connect, 32 B, 1,024 B, close), guest, --icount"
set xlabel "round"
set ylabel "transactions/s (guest time)"
set yrange [0:*]
set xtics 1
plot for [r in "0 0.5"] for [m in "plain tap"] \
	"< awk -F, '\$1 == \"".r."\" && \$3 == \"".m."\"' $dir/paper_tx.csv" using 2:6 with linespoints \
	title (m eq "tap" ? "TAP (tap-clientd + rule)" : "plain TCP").", RTT ".r." ms"

set output "$dir/paper_fig7.png"
set title "Fig. 7: legitimate req/s under an HTTP connection flood, guest, TCG 2 CPUs"
set xlabel "attacker connections (concurrent, held open)"
set ylabel "legitimate requests/s (guest time)"
set xtics autofreq
plot "< awk -F, '\$1 == \"tap\"' $dir/paper_fig7.csv" using 2:7 with linespoints lw 3 title "with TAP", \
     "< awk -F, '\$1 == \"plain\"' $dir/paper_fig7.csv" using 2:7 with linespoints title "without TAP"

set xlabel "SYN flood reaching the server (packets/s, measured)"
set ylabel "legitimate fetches that succeed (%)"
set yrange [0:105]
set xrange [0:$xmax]
set arrow 1 from 46000, graph 0 to 46000, graph 1 nohead dt 2 lc "gray30"
set arrow 2 from 80000, graph 0 to 80000, graph 1 nohead dt 2 lc "gray30"
set label 1 "paper: 46 kpps" at 46000, graph 0.06 right offset -0.5,0 font ",9"
set label 2 "paper: 80 kpps" at 80000, graph 0.06 right offset -0.5,0 font ",9"
do for [f in "fig6 spoof"] {
	set output "$dir/paper_".f.".png"
	set title (f eq "fig6" ? "Fig. 6: 100 parallel fetches under a spoofed SYN flood, guest, TCG 2 CPUs" : \
		"Beyond the paper: the flood spoofs the client's own address, guest, TCG 2 CPUs")
	plot "< awk -F, '\$1 == \"tap\"' $dir/paper_".f.".csv" using 3:(100.0*\$4/\$5) with linespoints lw 3 title "TAP", \
	     "< awk -F, '\$1 == \"cookies\"' $dir/paper_".f.".csv" using 3:(100.0*\$4/\$5) with linespoints title "no TAP, syncookies", \
	     "< awk -F, '\$1 == \"nocookies\"' $dir/paper_".f.".csv" using 3:(100.0*\$4/\$5) with linespoints title "no TAP, no syncookies"
}
unset arrow 1; unset arrow 2; unset label 1; unset label 2

set output "$dir/paper_memory.png"
set title "xt_tap memory before, during and after the SYN flood of Fig. 6"
set xlabel "phase, offered flood (packets/s)"
set ylabel "memory (KiB)"
set yrange [0:*]
set xrange [*:*]
set xtics rotate by -30
plot "< tail -n +2 $dir/paper_memory.csv" using 0:(\$3/1024):xtic(stringcolumn(1)." ".stringcolumn(2)) with linespoints lw 3 title "memory_bytes (/proc/net/xt_tap)", \
     "" using 0:(\$4/1024) with lines dt 2 title "memory_bound_bytes (documented bound)", \
     "" using 0:(\$5/1024) with points pt 6 ps 2 title "vmalloc of xt_tap (/proc/vmallocinfo)"

set output "$dir/paper_latency.png"
set datafile separator whitespace
set title "connect() latency that tap-clientd adds: with / without daemon"
set xlabel "where, address family"
set ylabel "ratio (with tap-clientd / without)"
set xtics norotate
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.6 border -1
set yrange [0:*]
plot "$tmp/lat.dat" using 2:xtic(1) title "median", "" using 3 title "p99"
GP
echo "paper_plot: $(ls "$dir"/paper_*.png | wc -l) plots in $dir"
