#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of the paper's evaluation (bench/README.md, "The paper's
# evaluation"); bench/paper_run.sh boots it. Never run it on a host: it
# floods with spoofed sources.
#
#   bench/paper.sh EXPS="tx latency" [QUICK=1]          # under --icount
#   bench/paper.sh EXPS="fig7 fig6 spoof" [QUICK=1]     # normal TCG, 2 CPUs
#
# Namespaces, all made here: client, attacker and server, each joined to
# router by a veth pair (router forwards; netem on its client- and
# server-side ports emulates the RTT of §5.1):
#
#   client   eth0 10.88.1.2 -- c0 10.88.1.1 \
#   attacker eth0 10.88.2.2 -- a0 10.88.2.1 -- router
#   server   eth0 10.88.3.2 -- s0 10.88.3.1 /
#
# The server runs bench/paper_load's server (a 150-worker prefork web
# server, as Apache's MaxClients) on port 80, protected by the README's
# one-rule form (-m tap --drop-invalid) with key 3, and on port 81
# unprotected. The client runs the real tap-clientd for port 80.
# Output: "progress ..." lines, and "csv FILE LINE" lines that
# bench/paper_run.sh turns into bench/results/FILE.

set -u
for a in "$@"; do
	case $a in
	EXPS=*|QUICK=*) export "${a%%=*}=${a#*=}" ;;
	*) echo "usage: $0 EXPS=\"tx fig7 latency fig6 spoof\" [QUICK=1]"; exit 2 ;;
	esac
done
TAP_REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
export TAP_REPO
# shellcheck source=../tests/guest/topology.sh
. "$TAP_REPO/tests/guest/topology.sh"
# shellcheck source=../tests/guest/lib_tap.sh
. "$TAP_REPO/tests/guest/lib_tap.sh"
# shellcheck source=../tests/guest/lib_client.sh
. "$TAP_REPO/tests/guest/lib_client.sh"

EXPS=${EXPS:-tx fig7 latency}
QUICK=${QUICK:-0}
KEY_ID=3 TAP_PORT=80 PLAIN_PORT=81
SRV=10.88.3.2 CLI=10.88.1.2
LOAD=/tmp/tapbin/paper_load
NS_LIST="client attacker server router"

# Under --icount guest time is instructions, so short runs repeat; TCG
# there runs some 20 million guest instructions per host second.
if [ "$QUICK" = 1 ]; then
	TX_ROUNDS=2 TX_MS=150
	FIG6_RATES="0 max" SPOOF_RATES="max" FETCH_N=100 FETCH_MS=5000
	FIG7_HELD="0 200" FIG7_SECONDS=2
	LAT_N=100 LAT_ROUNDS=1
else
	TX_ROUNDS=5 TX_MS=200
	FIG6_RATES="0 1000 2000 5000 10000 20000 46000 80000 max" SPOOF_RATES="0 1000 5000 20000 max"
	FETCH_N=100 FETCH_MS=10000
	FIG7_HELD="0 50 100 150 200 300 400" FIG7_SECONDS=4
	LAT_N=400 LAT_ROUNDS=4
fi

csv() { local f=$1; shift; echo "csv $f $*"; }
progress() { echo "progress: $*"; }

teardown() { topo_teardown $NS_LIST; }

setup() {
	local ns leaf i
	for ns in $NS_LIST; do
		ip netns add "$ns" && ip -n "$ns" link set lo up || fail "netns $ns"
	done
	i=1
	for leaf in client:c0 attacker:a0 server:s0; do
		ns=${leaf%%:*}
		ip -n router link add "${leaf#*:}" type veth peer name eth0 netns "$ns" &&
		ip -n router addr add "10.88.$i.1/24" dev "${leaf#*:}" &&
		ip -n router link set "${leaf#*:}" up &&
		ip -n "$ns" addr add "10.88.$i.2/24" dev eth0 &&
		ip -n "$ns" link set eth0 up &&
		ip -n "$ns" route add default via "10.88.$i.1" || fail "link $leaf"
		i=$((i + 1))
	done
	# spoofed sources: forwarded (no reverse-path filter), and the server's
	# SYN/ACKs to them dropped at the router
	in_ns router sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.a0.rp_filter=0 net.ipv4.conf.default.rp_filter=0 &&
	ip -n router route add blackhole 10.200.0.0/16 &&
	in_ns server sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0 || fail "router"
	# no TCP metrics: else the kernel lets a peer it has already talked to
	# past a SYN queue three quarters full (tcp_peer_is_proven), which a
	# server of many clients cannot count on, and the paper's 2.4 did not do
	in_ns server sysctl -qw net.ipv4.tcp_no_metrics_save=1 || fail "server sysctl"
	# the paper shortens the SYN timeout to 45 s; 10 s here (3 retries)
	in_ns client sysctl -qw net.ipv4.tcp_syn_retries=3
}

start_server() {
	local port
	for port in $TAP_PORT $PLAIN_PORT; do
		ip netns exec server "$LOAD" server $port 150 &
		wait_for_port server $port
	done
	in_ns server tap-keytool load "$(tap_genkey $KEY_ID)" >/dev/null || fail "key"
	in_ns server iptables -t raw -A PREROUTING -p tcp --dport $TAP_PORT --syn \
		-m tap --key-id $KEY_ID --drop-invalid -j ACCEPT || fail "tap rule"
	clientd_prepare
	cat >"$CD_DIR/clientd.conf" <<-EOF
		server $SRV port $TAP_PORT key $(clientd_key $KEY_ID)
	EOF
	chmod 644 "$CD_DIR/clientd.conf"
	clientd_start client "$CD_DIR/clientd.conf"
}

# one fetch through each path, or nothing is worth measuring
check_paths() {
	local out
	out=$(in_ns client "$LOAD" fetch $SRV $TAP_PORT 1 5000) &&
		[ "$out" = "fetch ok 1 of 1" ] || fail "fetch through TAP: $out"
	out=$(in_ns client "$LOAD" fetch $SRV $PLAIN_PORT 1 5000) &&
		[ "$out" = "fetch ok 1 of 1" ] || fail "plain fetch: $out"
	out=$(in_ns attacker "$LOAD" fetch $SRV $TAP_PORT 1 2000)
	[ "$out" = "fetch ok 0 of 1" ] || fail "attacker without key got through: $out"
}

tap_field() { in_ns server cat /proc/net/xt_tap | awk -v n="$1" '$1 == n { print $2 }'; }

# ---- §5.1 transactions ------------------------------------------------------

set_rtt() {	# set_rtt MS: half of it on each of the router's two ports
	local dev
	for dev in c0 s0; do
		in_ns router tc qdisc del dev $dev root 2>/dev/null
		[ "$1" = 0 ] && continue
		in_ns router tc qdisc add dev $dev root netem delay "$(awk -v r="$1" 'BEGIN { print r * 500 }')us" limit 10000 ||
			fail "netem on $dev"
	done
}

exp_tx() {
	local rtt r mode port out total=$((2 * TX_ROUNDS * 2)) k=0
	csv tx.csv "rtt_ms,round,mode,transactions,seconds,rate"
	for rtt in 0 0.5; do
		set_rtt $rtt
		for ((r = 1; r <= TX_ROUNDS; r++)); do
			for mode in plain tap; do
				k=$((k + 1))
				[ $mode = tap ] && port=$TAP_PORT || port=$PLAIN_PORT
				progress "tx: $mode, RTT $rtt ms, round $r ($k of $total)"
				out=$(in_ns client "$LOAD" tx $SRV $port $TX_MS) || fail "tx: $out"
				set -- $out
				csv tx.csv "$rtt,$r,$mode,$2,$6,$8"
			done
		done
	done
	set_rtt 0
}

# ---- Fig. 7: connection flood -----------------------------------------------

exp_fig7() {
	local mode port held out att total k=0 n
	n=$(echo $FIG7_HELD | wc -w)
	total=$((2 * n))
	csv fig7.csv "mode,attacker_connections,attacker_held,ok,failed,seconds,rate"
	for mode in tap plain; do
		[ $mode = tap ] && port=$TAP_PORT || port=$PLAIN_PORT
		for held in $FIG7_HELD; do
			k=$((k + 1))
			progress "fig7: $mode, $held attacker connections ($k of $total)"
			att=
			if [ "$held" -gt 0 ]; then
				ip netns exec attacker "$LOAD" hold $SRV $port "$held" >/tmp/hold.out &
				att=$!
				sleep 1
			fi
			out=$(in_ns client "$LOAD" load $SRV $port 100 $FIG7_SECONDS 2000)
			n=0
			if [ -n "$att" ]; then
				n=$(tail -n 1 /tmp/hold.out | awk '{ print $2 }')
				kill "$att"; wait "$att" 2>/dev/null
				sleep 1
			fi
			set -- $out
			csv fig7.csv "$mode,$held,${n:-0},$3,$5,$7,$9"
		done
	done
}

# ---- client latency ------------------------------------------------------------

exp_latency() {
	local out
	progress "latency: connect() with and without tap-clientd, $LAT_N per row"
	out=$("$TAP_REPO/bench/connect_latency.sh" $LAT_N $LAT_ROUNDS 2>&1) || fail "connect_latency: $out"
	echo "$out"
	csv latency.csv "where,family,mode,min_us,median_us,p90_us,p99_us,max_us,mean_us"
	echo "$out" | awk '/ without TAP | with tap-clientd / {
		m = ($2 == "without") ? "plain" : "tap"; n = NF
		printf "csv latency.csv guest,%s,%s,%s,%s,%s,%s,%s,%s\n", $1, m, $(n-5), $(n-4), $(n-3), $(n-2), $(n-1), $n }'
}

# ---- Fig. 6 and the spoofed-client sweep: SYN flood -----------------------

# trafgen_conf SRC DPORT: random sources in 10.200.0.0/16 (SRC=random) or
# one address, random ports and ISNs, to the server through the router
trafgen_conf() {
	local dmac smac src
	dmac=$(ip -n router -br link show a0 | awk '{ print $3 }' | sed 's/^/0x/; s/:/, 0x/g')
	smac=$(ip -n attacker -br link show eth0 | awk '{ print $3 }' | sed 's/^/0x/; s/:/, 0x/g')
	if [ "$1" = random ]; then src="10, 200, drnd(2)"; else src=$(echo "$1" | tr . ,); fi
	cat <<-EOF
	{
	  $dmac, $smac, const16(0x0800),
	  0x45, 0, const16(40), drnd(2), 0x40, 0, 64, 6, csumip(14, 33),
	  $src, $(echo $SRV | tr . ,),
	  drnd(2), const16($2), drnd(4), const32(0), 0x50, 0x02, const16(64240),
	  csumtcp(14, 34), const16(0)
	}
	EOF
}

FLOOD_PIDS=()
flood_start() {	# flood_start RATE SRC DPORT
	local per=
	trafgen_conf "$2" "$3" >/tmp/syn.cfg
	FLOOD_PIDS=()
	[ "$1" = 0 ] && return
	# one sender process per CPU; -b is their total rate
	[ "$1" = max ] || per="-b ${1}pps"
	# shellcheck disable=SC2086
	ip netns exec attacker nice -n 10 trafgen -C --dev eth0 --conf /tmp/syn.cfg \
		-P "$(nproc)" $per >/tmp/trafgen.log 2>&1 &
	FLOOD_PIDS+=($!)
	sleep 1
	kill -0 "${FLOOD_PIDS[0]}" 2>/dev/null || fail "trafgen: $(cat /tmp/trafgen.log)"
}

flood_stop() {
	local p
	# trafgen's forks too
	for p in $(ip netns pids attacker); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = trafgen ] && kill -INT "$p" 2>/dev/null
	done
	for p in "${FLOOD_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	FLOOD_PIDS=()
}

# SYNs the server's TCP dropped at its listeners (queue full, or no cookie)
listen_drops() { in_ns server nstat -az TcpExtListenDrops | awk '$1 == "TcpExtListenDrops" { print $2 }'; }
rx_packets() { in_ns server cat /sys/class/net/eth0/statistics/rx_packets; }
vmalloc_tap() { awk '/xt_tap|tap_/ { s += $2 } END { print s + 0 }' /proc/vmallocinfo; }
slab_kb() { awk '/^Slab:/ { print $2 }' /proc/meminfo; }

mem_sample() {	# mem_sample PHASE RATE
	csv memory.csv "$1,$2,$(tap_field memory_bytes),$(tap_field memory_bound_bytes),$(vmalloc_tap),$(slab_kb)"
}

# fig6_sweep FILE SRC RATES: every server config at every rate
fig6_sweep() {
	local file=$1 src=$2 rates=$3 cfg port rate rx0 rx1 t0 t1 out pps total k=0 synrecv drops0 drops
	total=$(($(echo $rates | wc -w) * 3))
	csv "$file" "server,target_pps,measured_pps,ok,n,syn_recv,listen_drops"
	for rate in $rates; do
		for cfg in tap cookies nocookies; do
			k=$((k + 1))
			progress "${file%.csv}: $cfg, flood $rate pps ($k of $total)"
			case $cfg in
			tap) port=$TAP_PORT; in_ns server sysctl -qw net.ipv4.tcp_syncookies=0 ;;
			cookies) port=$PLAIN_PORT; in_ns server sysctl -qw net.ipv4.tcp_syncookies=1 ;;
			nocookies) port=$PLAIN_PORT; in_ns server sysctl -qw net.ipv4.tcp_syncookies=0 ;;
			esac
			ip -n server tcp_metrics flush all 2>/dev/null
			flood_start "$rate" "$src" "$port"
			rx0=$(rx_packets) t0=$(date +%s.%N)
			[ "$file" = fig6.csv ] && [ $cfg = tap ] && mem_sample during "$rate"
			drops0=$(listen_drops)
			out=$(in_ns client "$LOAD" fetch $SRV $port "$FETCH_N" "$FETCH_MS")
			rx1=$(rx_packets) t1=$(date +%s.%N)
			synrecv=$(in_ns server ss -Hnt state syn-recv | wc -l)
			drops=$(($(listen_drops) - drops0))
			flood_stop
			pps=$(awk -v a="$rx0" -v b="$rx1" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.0f", (b - a) / (e - s) }')
			set -- $out
			csv "$file" "$cfg,$rate,$pps,$3,$5,$synrecv,$drops"
			# the next point starts with an empty SYN queue
			in_ns server ss -K state syn-recv >/dev/null 2>&1
			sleep 1
		done
	done
	in_ns server sysctl -qw net.ipv4.tcp_syncookies=1
}

exp_fig6() {
	csv memory.csv "phase,flood_pps,memory_bytes,memory_bound_bytes,vmalloc_xt_tap_bytes,slab_kb"
	mem_sample before 0
	fig6_sweep fig6.csv random "$FIG6_RATES"
	sleep 2
	mem_sample after 0
	echo "bench: /proc/net/xt_tap after fig6:" $(in_ns server cat /proc/net/xt_tap | tr '\n' ' ')
}

exp_spoof() {
	fig6_sweep spoof.csv $CLI "$SPOOF_RATES"
	echo "bench: /proc/net/xt_tap after spoof:" $(in_ns server cat /proc/net/xt_tap | tr '\n' ' ')
}

# ---- main ------------------------------------------------------------------------

echo "bench: kernel $(uname -r), $(nproc) cpu, EXPS=$EXPS QUICK=$QUICK"
tap_install_tools
cp "$TAP_REPO/build/paper_load" "$LOAD" || fail "build/paper_load missing (make bench builds it)"
tap_load_module
trap teardown EXIT
setup
start_server
check_paths
for e in $EXPS; do
	case $e in
	tx|fig7|latency|fig6|spoof) "exp_$e" ;;
	*) fail "unknown experiment $e" ;;
	esac
done
kill -USR1 "${CD_PID[client]}" && sleep 0.5
echo "bench: tap-clientd:" $(grep -h counters "$CD_DIR/client.log" | tail -n 1)
check_dmesg_clean
echo "bench: done"
