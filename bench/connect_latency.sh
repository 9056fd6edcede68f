#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# connect() latency that tap-clientd adds (issue 3, "Measure and report").
#
#   bench/connect_latency.sh [N] [ROUNDS]   # natively, as root (default 2000, 10)
#   tests/qemu/run.sh bench/connect_latency.sh [N] [ROUNDS]   # in the QEMU guest
#
# Two network namespaces joined by a veth pair (tapbench-c, tapbench-s; they
# are created here and deleted on exit, nothing else is touched). The server
# accepts on ports 5001 and 5002; tap-clientd runs in the client namespace
# and intercepts 5001 only. The client makes blocking connect()s, each bound
# to a source port in 20000-20999 and closed with a RST, alternating in
# ROUNDS rounds between 5002 (the same path without TAP: the daemon's rules
# are evaluated and do not match) and 5001 (with TAP), N per port and family
# in all, so that noise from other load hits both alike. The server drops
# SYNs from other source ports (the auth SYNs, which use the ephemeral
# range), as an xt_tap server would, so what is measured is the client's
# cost: the NFQUEUE round trip, the token and the four raw sends. Prints
# min/median/p90/p99/max/mean in microseconds per family, and the median
# and p99 that the daemon adds.
set -eu
repo=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
n=${1:-2000}
rounds=${2:-10}
C=tapbench-c S=tapbench-s
port=5001 plain=5002
work=$(mktemp -d /tmp/tapbench.XXXXXX)

bin=$repo/build/connect_latency
if [ ! -x "$bin" ] || [ "$bin" -ot "$repo/bench/connect_latency.c" ]; then
	bin=$work/connect_latency
	gcc -O2 -std=gnu11 -Wall -Wextra -Werror -o "$bin" "$repo/bench/connect_latency.c"
fi
daemon=$repo/build/tap-clientd
keytool=$repo/build/tap-keytool
[ -x "$daemon" ] && [ -x "$keytool" ] ||
	{ echo "build tap-clientd and tap-keytool first (make)" >&2; exit 1; }

pids=()
cleanup() {
	set +e
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	ip netns del $C 2>/dev/null
	ip netns del $S 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

ip netns add $C
ip netns add $S
ip -n $C link add eth0 type veth peer name eth0 netns $S
ip -n $C addr add 10.201.0.2/24 dev eth0
ip -n $S addr add 10.201.0.1/24 dev eth0
ip -n $C addr add fd00:201::2/64 dev eth0 nodad
ip -n $S addr add fd00:201::1/64 dev eth0 nodad
for ns in $C $S; do
	ip -n $ns link set lo up
	ip -n $ns link set eth0 up
done
ip netns exec $S nft -f - <<EOF
table inet tapbench {
	chain input {
		type filter hook input priority 0; policy accept;
		tcp dport { $port, $plain } tcp flags & (syn|ack) == syn tcp sport != 20000-20999 drop
	}
}
EOF
for p in $port $plain; do
	ip netns exec $S "$bin" server $p &
	pids+=($!)
done
for i in $(seq 50); do
	[ "$(ip netns exec $S ss -Hltn | wc -l)" -ge 2 ] && break
	sleep 0.1
done

"$keytool" genkey --id 7 -o "$work/k7.key" >/dev/null
cat >"$work/clientd.conf" <<EOF
server 10.201.0.1 port $port key $work/k7.key
server fd00:201::1 port $port key $work/k7.key
EOF
# tap-clientd drops to an unprivileged user and reads its files as that
# user: nobody here, so that the bench creates no user on the host
chmod 711 "$work" && chmod 644 "$work/clientd.conf" && chown nobody "$work/k7.key"
ip netns exec $C "$daemon" -c "$work/clientd.conf" --user nobody 2>"$work/daemon.log" &
pids+=($!)
for i in $(seq 100); do
	ip netns exec $C nft list tables 2>/dev/null | grep -q tap_clientd && break
	sleep 0.1
done
ip netns exec $C nft list tables 2>/dev/null | grep -q tap_clientd ||
	{ cat "$work/daemon.log"; echo "tap-clientd did not start" >&2; exit 1; }

per=$(( (n + rounds - 1) / rounds ))
for ((r = 0; r < rounds; r++)); do
	for fam in 4 6; do
		[ $fam = 4 ] && addr=10.201.0.1 || addr=fd00:201::1
		ip netns exec $C "$bin" client $addr $plain $per 20000 raw >>"$work/base$fam"
		ip netns exec $C "$bin" client $addr $port $per 20000 raw >>"$work/tap$fam"
	done
done
kill -USR1 "${pids[-1]}"
sleep 0.2

# stats FILE: n min median p90 p99 max mean
stats() {
	sort -g "$1" | awk '{ v[NR] = $1; s += $1 } END {
		printf "%d %.1f %.1f %.1f %.1f %.1f %.1f\n", NR, v[1], v[int(NR / 2) + 1],
			v[int(NR * 0.9) + 1], v[int(NR * 0.99) + 1], v[NR], s / NR }'
}

echo "connect() latency in microseconds, $((per * rounds)) connections per row in" \
	"$rounds rounds ($(uname -r), $(nproc) CPUs)"
printf '%-26s %8s %8s %8s %8s %8s %8s\n' "" min median p90 p99 max mean
for fam in 4 6; do
	base=$(stats "$work/base$fam")
	tap=$(stats "$work/tap$fam")
	read -r _ mn md p90 p99 mx mean <<<"$base"
	printf '%-26s %8s %8s %8s %8s %8s %8s\n' "IPv$fam without TAP" "$mn" "$md" "$p90" "$p99" "$mx" "$mean"
	read -r _ mn md p90 p99 mx mean <<<"$tap"
	printf '%-26s %8s %8s %8s %8s %8s %8s\n' "IPv$fam with tap-clientd" "$mn" "$md" "$p90" "$p99" "$mx" "$mean"
	awk -v f=$fam -v b="$base" -v t="$tap" 'BEGIN {
		split(b, x, " "); split(t, y, " ")
		printf "IPv%s added by tap-clientd: median %+.1f us (x%.2f), p99 %+.1f us (x%.2f)\n",
			f, y[3] - x[3], y[3] / x[3], y[5] - x[5], y[5] / x[5] }'
done
grep -h "counters" "$work/daemon.log" | sed 's/^/  /'
