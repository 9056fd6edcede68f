#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Helpers for the TAP end-to-end guest tests; setup.sh sources it (after
# topology.sh, with TAP_REPO set). Sourcing it only defines.
# The repo is visible in the guest at the same path; the module is copied to
# tmpfs first so that module loading does not read over 9p.

# The tools run from guest tmpfs: every 9p read is slow, and processes
# started at once from the same binary over 9p have been seen to hang there.
TAP_BIN=/tmp/tapbin
export PATH="$TAP_BIN:$TAP_REPO/build:$PATH"
export XTABLES_LIBDIR="$TAP_BIN:/usr/lib/x86_64-linux-gnu/xtables"
TAP_KEYS=/tmp/tap-keys
HTTP_PORT=80

# tap_install_tools: build/tap-* and the iptables plugin into $TAP_BIN (once)
tap_install_tools() {
	[ -d "$TAP_BIN" ] && return 0
	mkdir -p "$TAP_BIN" &&
	cp "$TAP_REPO"/build/tap-* "$TAP_REPO/build/libxt_tap.so" "$TAP_BIN/" 2>/dev/null
	return 0
}

# TAP_KO=FILE loads that module instead (e.g. an older build, to compare).
tap_load_module() {
	local ko=${TAP_KO:-$(tap_ko "$TAP_REPO")}
	cp "$ko" /tmp/xt_tap.ko || fail "cannot copy $ko"
	[ "$(modinfo -F vermagic /tmp/xt_tap.ko 2>/dev/null | cut -d' ' -f1)" = "$(uname -r)" ] ||
		fail "$ko is not an xt_tap.ko for kernel $(uname -r): run make modules-all"
	# insmod does not load dependencies: what xt_tap needs, then the
	# tables the tests use
	local m
	for m in $(modinfo -F depends /tmp/xt_tap.ko | tr , ' ') ip_tables ip6_tables; do
		modprobe "$m" || fail "modprobe $m"
	done
	insmod /tmp/xt_tap.ko "$@" || fail "insmod xt_tap $*"
	mkdir -p "$TAP_KEYS" && chmod 700 "$TAP_KEYS"
}

# tap_genkey ID [NAME]: key file $TAP_KEYS/NAME.key (default: ID)
tap_genkey() {
	local f="$TAP_KEYS/${2:-$1}.key"
	[ -e "$f" ] || tap-keytool genkey --id "$1" -o "$f" >/dev/null ||
		fail "genkey $1"
	echo "$f"
}

# tap_stat NS NAME: one counter of the netns, from /proc/net/xt_tap
tap_stat() {
	in_ns "$1" cat /proc/net/xt_tap |
		awk -v n="$2" '{ sub(":", "", $1) } $1 == n { print $2; found = 1 }
			END { if (!found) print "missing" }'
}

# expect_stat NS NAME BEFORE DELTA: the counter grew by DELTA (or more, +N)
expect_stat() {
	local now want
	now=$(tap_stat "$1" "$2")
	case $4 in
	+*) want=$(($3 + ${4#+}))
	    [ "$now" -ge $want ] 2>/dev/null && return 0
	    want=">= $want" ;;
	*) want=$(($3 + $4))
	   [ "$now" -eq $want ] 2>/dev/null && return 0 ;;
	esac
	# every counter: which outcome the SYN got instead
	fail "counter $2 in $1: expected $want, got $now (all:" \
		"$(in_ns "$1" cat /proc/net/xt_tap 2>/dev/null | tr -s ' \n' ' '))"
}

# debug_kernel: true on a debug kernel (kmemleak), 5-10 times slower, where
# tests lengthen the windows they wait through.
debug_kernel() { [ -w /sys/kernel/debug/kmemleak ]; }

# replay_refused_once NAME TOKEN_TIME: since the last snapshot the server
# refused one replay of a token made at TOKEN_TIME (Unix s) under a 30-s
# window: as replayed, or, once the window has passed (a debug kernel can
# be that slow), as replayed or stale.
replay_refused_once() {
	local age=$(( $(date +%s) - $2 )) refused
	if [ "$age" -le 28 ]; then
		expect_stat server replayed "${SNAP[replayed]}" 1
		pass "$1: refused (replayed)"
	else
		refused=$(( $(tap_stat server replayed) - SNAP[replayed] + $(tap_stat server stale) - SNAP[stale] ))
		[ "$refused" = 1 ] || fail "$1, ${age}s after its token: $refused refusals, want 1"
		pass "$1, ${age}s after its token: refused (replayed or stale)"
	fi
}

# snapshot NS: SNAP[name]=value for every counter of the netns
declare -gA SNAP=()
snapshot() {
	local name val
	while read -r name val; do
		name=${name%:}
		case $name in [a-z]*) SNAP[$name]=$val ;; esac
	done < <(in_ns "$1" cat /proc/net/xt_tap)
}

# start_http NS: a real service on $HTTP_PORT, v4 and v6
start_http() {
	mkdir -p /tmp/www && echo "tap-protected-page" > /tmp/www/index.html
	in_ns "$1" python3 -m http.server --bind :: --directory /tmp/www "$HTTP_PORT" \
		>/dev/null 2>&1 &
	wait_for_port "$1" "$HTTP_PORT"
}

# protect NS CMD TABLE CHAIN KEYSPEC [MATCH-OPTIONS...]: the two-rule form for
# SYNs to $HTTP_PORT (-m tap ... -j ACCEPT, then -j DROP); CMD is iptables
# or ip6tables.
protect() {
	local ns=$1 cmd=$2 table=$3 chain=$4 keys=$5
	shift 5
	in_ns "$ns" "$cmd" -t "$table" -A "$chain" -p tcp --dport "$HTTP_PORT" --syn \
		-m tap --key-id "$keys" "$@" -j ACCEPT || fail "$cmd tap rule"
	in_ns "$ns" "$cmd" -t "$table" -A "$chain" -p tcp --dport "$HTTP_PORT" --syn \
		-j DROP || fail "$cmd drop rule"
}

unprotect() {
	local t
	for t in raw mangle filter; do
		in_ns "$1" iptables -t $t -F
		in_ns "$1" ip6tables -t $t -F
	done
}

# Counts what the server sends: SYN/ACKs, RSTs and ICMP errors.
server_out_counters() {
	local ns=$1 cmd
	for cmd in iptables ip6tables; do
		in_ns "$ns" $cmd -N TAPOUT 2>/dev/null
		in_ns "$ns" $cmd -F TAPOUT
		in_ns "$ns" $cmd -D OUTPUT -j TAPOUT 2>/dev/null
		in_ns "$ns" $cmd -I OUTPUT -j TAPOUT
		in_ns "$ns" $cmd -A TAPOUT -p tcp --tcp-flags SYN,ACK SYN,ACK -m comment --comment synack
		in_ns "$ns" $cmd -A TAPOUT -p tcp --tcp-flags RST RST -m comment --comment rst
	done
	in_ns "$ns" iptables -A TAPOUT -p icmp -m comment --comment icmp
	in_ns "$ns" ip6tables -A TAPOUT -p icmpv6 --icmpv6-type destination-unreachable \
		-m comment --comment icmp
}

# out_count NS WHAT: packets counted by server_out_counters (v4 + v6)
out_count() {
	local n=0 c cmd
	for cmd in iptables ip6tables; do
		c=$(in_ns "$1" $cmd -nvxL TAPOUT | awk -v w="/* $2 */" 'index($0, w) { s += $1 } END { print s + 0 }')
		n=$((n + c))
	done
	echo $n
}

# http_get NS ADDR: fetch the page with the OS's own TCP (no token)
http_get() {
	local url="http://$2:$HTTP_PORT/"
	case $2 in *:*) url="http://[$2]:$HTTP_PORT/" ;; esac
	in_ns "$1" curl -s -m "${3:-4}" "$url"
}

# capture_start NS FILE FILTER... / capture_stop: a pcap of what NS receives
# capture_start NS FILE FILTER: tcpdump on NS's eth0 into FILE; returns once
# it really listens (a fixed sleep lost packets on a loaded host)
capture_start() {
	local ns=$1 file=$2 i
	shift 2
	rm -f "$file" "$file.err"
	# ip netns exec execs tcpdump, so $! is tcpdump itself; -Z root: as
	# user tcpdump it may not write the file; --immediate-mode: else the
	# last second's packets may still sit in the kernel ring when
	# capture_stop kills it
	ip netns exec "$ns" tcpdump -Z root --immediate-mode -i eth0 -U -n -w "$file" "$@" \
		2>"$file.err" &
	TAP_CAPTURE_PID=$!
	for ((i = 0; i < 200; i++)); do
		grep -q "listening on" "$file.err" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "tcpdump did not start: $(cat "$file.err")"
}

capture_stop() {
	sleep 0.5
	kill "$TAP_CAPTURE_PID" 2>/dev/null
	wait "$TAP_CAPTURE_PID" 2>/dev/null
}

# rand32 / rand_port
rand32() { echo $(( (RANDOM << 17 ^ RANDOM << 2 ^ RANDOM) & 0xffffffff )); }
rand_port() { echo $(( 20000 + RANDOM % 40000 )); }

# auth_and_syn NS KEY ADDR ISN SPORT [tap-send auth options]: a token, then
# the real SYN, both sent raw so that the test controls the ISN
auth_and_syn() {
	local ns=$1 key=$2 addr=$3 isn=$4 sport=$5
	shift 5
	in_ns "$ns" tap-send auth --key "$key" --dst "$addr" --dport "$HTTP_PORT" \
		--isn "$isn" --sport "$sport" "$@" || fail "tap-send auth and syn"
	sleep 0.3
}

# mod_loaded NAME: the module is in /proc/modules.
mod_loaded() { grep -q "^$1 " /proc/modules; }

# mod_unload NAME [TRIES]: rmmod NAME, retried every 0.1 s up to TRIES times
# (default 200): rmmod may have to wait for the netns cleanup work to destroy
# the module's rules.
mod_unload() {
	local i
	for ((i = 0; i < ${2:-200}; i++)); do
		rmmod "$1" 2>/dev/null && return 0
		mod_loaded "$1" || return 0
		sleep 0.1
	done
	return 1
}
