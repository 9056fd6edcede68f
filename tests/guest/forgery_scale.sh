#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Forgery at scale through the real module (issue 12, part 4): SETS forged
# auth sets (argument, default 60000; `make check-forgery` runs 10^6) reach
# xt_tap in a server namespace, spread over twelve kinds: random pieces,
# correctly masked pieces with a random tag, real tokens with 1-3 bits
# flipped, pieces recombined from two real tokens of one SYN, real tokens
# made for another ISN, port, destination (or family) or binding, with
# another key id or time, from a key of another realm, and valid tokens
# replayed from another source port or address after their SYN got in.
# tests/tools/tap-forge builds every set (four auth SYNs and the real SYN,
# each set from its own source address) with the shared core and writes
# them to the test-only injector bench/inject/tap_inject_raw.ko, which
# hands them to dummy0's receive path. A server listens on the port behind
#   raw PREROUTING -p tcp --dport 80 --syn -m tap --key-id 3-5 --drop-invalid -j ACCEPT
# with keys 3 and 4 loaded (5 is in the rule, not loaded).
#
# Checks, per kind: no SYN accepted, none passed to TCP (the injector's
# count), no SYN/ACK or RST sent (OUTPUT counters); the counters of
# /proc/net/xt_tap account for every SYN sent; and each reason matches
# tap-forge's prediction (the core's own view of each set), but for a few
# sets per thousand whose pieces meet stray pending entries (8-bit flow
# tags, mask bytes shared by two pieces), which may only move a set to a
# reason later in the server's order of checks. The replayed tokens' own
# first SYNs are the positive control: each is accepted and answered.

. "$(dirname "$(readlink -f "$0")")/setup.sh"
# shellcheck source=lib_inject.sh
. "$TAP_GUEST_DIR/lib_inject.sh"

SETS=${1:-60000}
case $SETS in ''|*[!0-9]*) fail "usage: $0 [SETS [XT_TAP_KO]]" ;; esac
# a second argument: another xt_tap.ko (a deliberately broken one must fail)
[ -n "${2:-}" ] && export TAP_KO=$2
NS=fsrv
PORT=80
DST4=10.0.0.1 DST6=fd00:be::1
REPLAYS=20
KINDS="random random_tag bitflip recombine isn port addr bind keyid time realm replay"
OUTCOMES="accepted retransmit incomplete key_not_allowed unknown_key stale bad_mac replayed table_full truncated limited"
DEV=/dev/tap_inject_raw
start_all=$(date +%s)

# ---- the module and the injector --------------------------------------------
[ -x "$TAP_BIN/tap-forge" ] || fail "build/tap-forge missing: run make"
tap_load_module
inject_load tap_inject_raw
[ -c $DEV ] || fail "$DEV missing"

# ---- the server namespace ----------------------------------------------------
ip netns add $NS || fail "netns $NS"
in_ns $NS sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
# one SYN/ACK per accepted SYN: no retransmissions to count twice
in_ns $NS sysctl -qw net.ipv4.tcp_synack_retries=0
ip -n $NS link set lo up &&
ip -n $NS link add dummy0 type dummy &&
ip -n $NS addr add $DST4/24 dev dummy0 &&
ip -n $NS addr add $DST6/64 dev dummy0 nodad &&
ip -n $NS link set dummy0 up &&
# answers to the spoofed sources leave through dummy0 (which drops them)
ip -n $NS route add 10.128.0.0/9 via 10.0.0.2 &&
ip -n $NS -6 route add fd00:200::/64 via fd00:be::2 || fail "dummy0 in $NS"

mkdir -p /tmp/forge-other && chmod 700 /tmp/forge-other
KEY3=$(tap_genkey 3) KEY4=$(tap_genkey 4)
FOREIGN=/tmp/forge-other/3.key
tap-keytool genkey --id 3 -o $FOREIGN >/dev/null || fail "genkey (other realm)"
# new tables refuse tokens made before them: tap-forge predicts that too
tables_lo=$(date +%s)
in_ns $NS tap-keytool load "$KEY3" >/dev/null && in_ns $NS tap-keytool load "$KEY4" >/dev/null ||
	fail "load keys 3 and 4"
for ipt in iptables ip6tables; do
	in_ns $NS $ipt -t raw -A PREROUTING -p tcp --dport $PORT --syn \
		-m tap --key-id 3-5 --drop-invalid -j ACCEPT || fail "$ipt tap rule"
done
tables_hi=$(date +%s)
server_out_counters $NS
ip netns exec $NS python3 -c '
import socket, time
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", 80))
s.listen(4096)
time.sleep(100000)
' >/dev/null 2>&1 &
listener=$!
trap 'kill $listener 2>/dev/null' EXIT
wait_for_port $NS $PORT 30

# ---- one kind at a time --------------------------------------------------------
injected() { in_ns $NS cat $DEV | awk -v w="$1" '{ for (i = 1; i < NF; i++) if ($i == w) print $(i + 1) }'; }
rule_hits() {
	local n=0 c ipt
	for ipt in iptables ip6tables; do
		c=$(in_ns $NS $ipt -t raw -nvxL PREROUTING | awk '/tap/ { s += $1 } END { print s + 0 }')
		n=$((n + c))
	done
	echo $n
}

declare -A PRED TOTAL
nkinds=$(wc -w <<<"$KINDS")
per_kind=$(((SETS + nkinds - 1) / nkinds))
src=0 forged=0 controls=0
for kind in $KINDS; do
	sets=$per_kind replay=0
	[ $kind = replay ] && sets=$(((per_kind + REPLAYS - 1) / REPLAYS)) replay=1
	snapshot $NS; declare -A BEFORE=(); for k in "${!SNAP[@]}"; do BEFORE[$k]=${SNAP[$k]}; done
	pass0=$(injected passed) synack0=$(out_count $NS synack) rst0=$(out_count $NS rst)
	t0=$(date +%s)
	out=$(in_ns $NS tap-forge --key "$KEY3" --key2 "$KEY4" --foreign $FOREIGN \
		--tables-made "$tables_lo-$tables_hi" \
		--key-range 3-5 --dst4 $DST4 --dst6 $DST6 --dport $PORT --category $kind \
		--sets $sets --replays $REPLAYS --src-index $src) || fail "tap-forge $kind: $out"
	secs=$(($(date +%s) - t0))
	echo "$out ($secs s)"
	set -- $out
	[ "$1 $2" = "forge $kind" ] || fail "tap-forge $kind said: $out"
	shift 2
	while [ $# -ge 2 ]; do PRED[$1]=$2; shift 2; done
	src=$((src + PRED[sets] * (1 + replay * REPLAYS)))
	snapshot $NS
	sum=0 moved=0 report=""
	for o in $OUTCOMES; do
		d=$((SNAP[$o] - BEFORE[$o]))
		TOTAL[$o]=$((${TOTAL[$o]:-0} + d))
		sum=$((sum + d))
		report+=" $o=$d"
	done
	echo "  counters:$report evicted=$((${SNAP[evicted]} - ${BEFORE[evicted]}))"
	[ $sum -eq "${PRED[syns]}" ] || fail "$kind: the counters add up to $sum, ${PRED[syns]} SYNs were sent"
	for o in accepted retransmit table_full truncated limited; do
		want=${PRED[$o]:-0}
		[ $((SNAP[$o] - BEFORE[$o])) -eq "$want" ] ||
			fail "$kind: $o grew by $((SNAP[$o] - BEFORE[$o])), wanted $want"
	done
	# in the server's order of checks (incomplete ... replayed), a stray
	# entry may only move a set later: later reasons may only gain what
	# earlier ones lose, and little of it
	cum_pred=0 cum_seen=0
	for o in replayed bad_mac stale unknown_key key_not_allowed incomplete; do
		cum_pred=$((cum_pred + ${PRED[$o]:-0}))
		cum_seen=$((cum_seen + SNAP[$o] - BEFORE[$o]))
		[ $cum_seen -ge $cum_pred ] ||
			fail "$kind: $((cum_pred - cum_seen)) sets fared earlier than '$o' in the checks than predicted"
		moved=$((moved > cum_seen - cum_pred ? moved : cum_seen - cum_pred))
	done
	[ $((moved * 1000)) -le $((PRED[sets] * (1 + replay * REPLAYS) * 5 + 10000)) ] ||
		fail "$kind: $moved sets fared otherwise than predicted"
	passed=$(($(injected passed) - pass0))
	synack=$(($(out_count $NS synack) - synack0)) rst=$(($(out_count $NS rst) - rst0))
	[ $passed -eq "${PRED[accepted]}" ] ||
		fail "$kind: $passed SYNs reached TCP, wanted ${PRED[accepted]}"
	[ $synack -eq "${PRED[accepted]}" ] && [ $rst -eq 0 ] ||
		fail "$kind: the server sent $synack SYN/ACKs and $rst RSTs, wanted ${PRED[accepted]} and 0"
	echo "  $passed SYNs reached TCP, $synack SYN/ACKs, $rst RSTs; $moved sets moved by stray entries"
	if [ $replay = 1 ]; then
		forged=$((forged + PRED[replays])) controls=$((controls + PRED[accepted]))
	else
		forged=$((forged + PRED[sets]))
	fi
done

# ---- the whole run -------------------------------------------------------------
hits=$(rule_hits)
[ "$hits" -eq $controls ] || fail "the tap rules matched $hits SYNs, wanted the $controls controls"
[ "${TOTAL[accepted]}" -eq $controls ] || fail "accepted ${TOTAL[accepted]}, wanted $controls"
echo "tap-keytool stats:"; in_ns $NS tap-keytool stats | sed 's/^/  /'
echo "tap-keytool list:"; in_ns $NS tap-keytool list | sed 's/^/  /'
key3_accepted=$(in_ns $NS tap-keytool list |
	awk 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "accepted") c = i } $1 == 3 { print $c }')
[ "$key3_accepted" = "$controls" ] || fail "key 3 counts $key3_accepted accepts, wanted $controls"
echo "forgery_scale: $forged forged sets ($per_kind per kind, replays $REPLAYS per control)," \
	"$controls valid controls accepted; totals:$(for o in $OUTCOMES; do printf ' %s=%s' $o "${TOTAL[$o]}"; done);" \
	"$(($(date +%s) - start_all)) s"
[ "$forged" -ge "$SETS" ] || fail "only $forged forged sets sent, wanted $SETS"
check_dmesg_clean
pass "forgery_scale: $forged forged sets, none accepted, every SYN counted ($key3_accepted accepts on key 3 are the controls)"
