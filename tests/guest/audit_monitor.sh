#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Audit events (issue 14): tap-keytool monitor (human, --json, and the
# --journal mode of tap-audit.service) prints exactly one accept event per
# keyed connection with its key id, addresses, ports and window, and none
# for its retransmission; forged and stale tokens give refusal events with
# their reason; a flood of refusals gives at most TAP_EVENT_REFUSALS_PER_SEC
# events per second and every other refusal is counted as suppressed; a
# listener without CAP_NET_ADMIN over the netns (another uid, or root of a
# user namespace of its own) is refused and gets nothing; no key or realm
# appears in any output; the module unloads with a listener subscribed.
. "$(dirname "$(readlink -f "$0")")/setup.sh"

BUDGET=$(sed -n 's/^#define TAP_EVENT_REFUSALS_PER_SEC[[:space:]]*\([0-9]*\).*/\1/p' \
	"$TAP_REPO/xt_tap/xt_tap.h")
[ -n "$BUDGET" ] || fail "no TAP_EVENT_REFUSALS_PER_SEC in xt_tap.h"
REFUSALS="key_not_allowed unknown_key stale bad_mac replayed table_full limited"

topo_start
tap_load_module
k3=$(tap_genkey 3)
wrong3=$(tap_genkey 3 wrong3)	# same id, another secret: bad_mac
k7=$(tap_genkey 7)		# outside the rule's key ids: key_not_allowed
in_ns server tap-keytool load "$k3" >/dev/null || fail "load key"
start_http server
protect server iptables raw PREROUTING 3 --window 30
protect server ip6tables raw PREROUTING 3 --window 30

# monitor NAME ARGS...: a listener in the server's netns, output in
# /tmp/NAME.out; returns once it is subscribed
declare -A MON_PID
monitor() {
	local name=$1 i
	shift
	ip netns exec server "$@" >"/tmp/$name.out" 2>"/tmp/$name.err" &
	MON_PID[$name]=$!
	for ((i = 0; i < 100; i++)); do
		grep -qs "receiving the xt_tap events" "/tmp/$name.out" "/tmp/$name.err" && return 0
		sleep 0.1
	done
	fail "$name: monitor did not subscribe: $(cat "/tmp/$name.err")"
}
# tap-audit.service's own command line (the tools are in PATH)
unit_cmd=$(sed -n 's|^ExecStart=/usr/sbin/||p' "$TAP_REPO/keytool/tap-audit.service")
[ -n "$unit_cmd" ] || fail "no ExecStart in tap-audit.service"
monitor human tap-keytool monitor
monitor json tap-keytool monitor --json
# shellcheck disable=SC2086
monitor journal $unit_cmd

# events NAME PATTERN: lines of NAME's output matching the extended regex
events() { grep -E -- "$2" "/tmp/$1.out"; }
count() { events "$@" | wc -l; }
# settle: the monitors have printed what the kernel sent
settle() { sleep 0.5; }

# --- one keyed connection: exactly one accept event, right fields ---------
isn=$(rand32) sport=$(rand_port)
auth_and_syn client "$k3" "$SERVER4" "$isn" "$sport"
in_ns client tap-send syn --dst "$SERVER4" --dport "$HTTP_PORT" --isn "$isn" \
	--sport "$sport" || fail "tap-send syn (retransmission)"
settle
re=" accept key 3 ${CLIENT4//./\\.}:$sport -> ${SERVER4//./\\.}:$HTTP_PORT window 30s\$"
[ "$(count human ' accept ')" = 1 ] && [ "$(count human "$re")" = 1 ] ||
	fail "human: expected one accept line matching '$re', got: $(cat /tmp/human.out)"
[ "$(count json '"event":"accept"')" = 1 ] &&
	[ "$(count json "\"reason\":\"accepted\",\"key_id\":3,\"family\":4,\"src\":\"$CLIENT4\",\"sport\":$sport,\"dst\":\"$SERVER4\",\"dport\":$HTTP_PORT,\"window\":30}\$")" = 1 ] ||
	fail "json: expected one accept object for $CLIENT4:$sport, got: $(cat /tmp/json.out)"
[ "$(count journal '^<6>[0-9T:.-]+Z accept key 3 ')" = 1 ] ||
	fail "journal: expected one '<6>' accept line, got: $(cat /tmp/journal.out)"
pass "keyed connection (and its retransmission): one accept event, key 3, $CLIENT4:$sport -> $SERVER4:$HTTP_PORT, window 30 (human, json, journal)"

# a real connection over IPv6, the OS's own SYN
out=$(in_ns client tap-send connect --key "$k3" --dst "$SERVER6" --dport "$HTTP_PORT" \
	--timeout 10 --send $'GET /index.html HTTP/1.0\r\n\r\n') || fail "IPv6 connect: $out"
settle
[ "$(count human " accept key 3 \\[$CLIENT6\\]:[0-9]+ -> \\[$SERVER6\\]:$HTTP_PORT window 30s\$")" = 1 ] &&
	[ "$(count json "\"event\":\"accept\".*\"family\":6,\"src\":\"$CLIENT6\"")" = 1 ] ||
	fail "IPv6: expected one accept event, got: $(cat /tmp/human.out)"
pass "IPv6 HTTP exchange: one accept event [$CLIENT6] -> [$SERVER6]:$HTTP_PORT"

# --- forged and stale tokens: refusal events with their reason ------------
fsport=$(rand_port) ssport=$(rand_port) nsport=$(rand_port)
auth_and_syn client "$wrong3" "$SERVER4" "$(rand32)" "$fsport"
auth_and_syn client "$k3" "$SERVER4" "$(rand32)" "$ssport" --time $(( $(date +%s) - 120 ))
auth_and_syn client "$k7" "$SERVER4" "$(rand32)" "$nsport"
settle
[ "$(count human " refuse bad_mac key 3 ${CLIENT4//./\\.}:$fsport -> ")" = 1 ] ||
	fail "forged token: no bad_mac event for sport $fsport: $(cat /tmp/human.out)"
[ "$(count human " refuse stale key 3 ${CLIENT4//./\\.}:$ssport -> ")" = 1 ] ||
	fail "stale token: no stale event for sport $ssport: $(cat /tmp/human.out)"
[ "$(count json "\"event\":\"refuse\",\"reason\":\"bad_mac\",\"key_id\":3,.*\"sport\":$fsport,")" = 1 ] &&
	[ "$(count journal "^<5>.* refuse stale key 3 ")" = 1 ] ||
	fail "forged/stale: json or journal line missing"
[ "$(count human " refuse key_not_allowed key - ${CLIENT4//./\\.}:$nsport -> ")" = 1 ] &&
	[ "$(count json "\"reason\":\"key_not_allowed\",\"key_id\":null,.*\"sport\":$nsport,")" = 1 ] ||
	fail "key 7: no key_not_allowed event without key id for sport $nsport: $(cat /tmp/human.out)"
[ "$(count human ' accept ')" = 2 ] || fail "a refused token gave an accept event"
pass "forged token: refuse bad_mac key 3; stale token: refuse stale key 3; key 7: refuse key_not_allowed key - (human, json, journal)"

# --- a flood of refusals: at most BUDGET events a second, rest suppressed --
stat_sum() {	# the refusal counters of the server's netns, summed
	local n=0 o
	snapshot server
	for o in $REFUSALS; do n=$((n + SNAP[$o])); done
	echo $n
}
ev_stat() { in_ns server tap-keytool stats | awk -v n="$1" '$1 == n { print $2 }'; }
ref0=$(stat_sum) sup0=$(ev_stat events_suppressed) drop0=$(ev_stat events_dropped)
jref0=$(count json '"event":"refuse"')
out=$(in_ns client python3 "$TAP_REPO/tests/guest/token_burst.py" "$wrong3" "$SERVER4" \
	"$HTTP_PORT" 60) || fail "token_burst: $out"
sleep 1
refused=$(( $(stat_sum) - ref0 ))
sup=$(( $(ev_stat events_suppressed) - sup0 )) drop=$(( $(ev_stat events_dropped) - drop0 ))
got=$(( $(count json '"event":"refuse"') - jref0 ))
echo "flood: $refused refusals, $got events, $sup suppressed, $drop dropped (budget $BUDGET/s)"
[ "$refused" -ge $((3 * BUDGET)) ] || fail "flood: only $refused refusals counted"
[ "$sup" -gt 0 ] || fail "flood: events_suppressed did not grow"
[ $((got + sup + drop)) = "$refused" ] ||
	fail "flood: $got events + $sup suppressed + $drop dropped != $refused refusals"
# per second of the events' own time (the kernel's budget uses it)
per_sec=$(grep '"event":"refuse"' /tmp/json.out | grep -o '"time":"[^.]*' | sort | uniq -c | sort -rn)
worst=$(head -n 1 <<<"$per_sec" | awk '{ print $1 }')
[ "$worst" -le "$BUDGET" ] || fail "flood: more than $BUDGET refusal events in one second: $per_sec"
pass "flood of $refused refusals: $got events, at most $BUDGET per second (busiest second: $worst), $sup suppressed (events_suppressed), events + suppressed + dropped = refusals"

# --- listeners without CAP_NET_ADMIN over the netns -----------------------
# unpriv NAME WHO CMD...: refused with a clear message, no event while it ran
# (a refused monitor exits at once; 30 s, since on a debug kernel the
# start alone took more than 5)
unpriv() {
	local name=$1 who=$2 rc
	shift 2
	ip netns exec server timeout 30 "$@" tap-keytool monitor --json >"/tmp/$name.out" 2>"/tmp/$name.err" &
	local pid=$!
	sleep 0.3
	auth_and_syn client "$wrong3" "$SERVER4" "$(rand32)" "$(rand_port)"
	wait $pid
	rc=$?
	[ "$rc" = 1 ] || fail "$name: monitor exited $rc (124: still listening), expected 1"
	grep -q "permission denied.*CAP_NET_ADMIN" "/tmp/$name.err" ||
		fail "$name: no clear message: $(cat "/tmp/$name.err")"
	[ ! -s "/tmp/$name.out" ] || fail "$name: got output: $(cat "/tmp/$name.out")"
	pass "$who: 'monitor' exits 1 ($(cat "/tmp/$name.err")), no events"
}
unpriv unpriv_uid "uid 65534" setpriv --reuid=65534 --regid=65534 --clear-groups
unpriv unpriv_userns "root of a user namespace of its own" unshare --user --map-root-user

# --- no key material anywhere in the output --------------------------------
for f in "$k3" "$wrong3" "$k7"; do
	for field in secret realm; do
		b64=$(sed -n "s/^$field = //p" "$f")
		[ -n "$b64" ] || fail "no $field in $f"
		hex=$(base64 -d <<<"$b64" | od -An -tx1 | tr -d ' \n')
		for o in human json journal; do
			if grep -qiF -e "$b64" -e "$hex" -e "${b64%%=*}" "/tmp/$o.out" "/tmp/$o.err"; then
				fail "$o: the $field of $f appears in the monitor's output"
			fi
		done
	done
done
pass "no key or realm (base64 or hex) in the monitors' output ($(cat /tmp/human.out /tmp/json.out /tmp/journal.out | wc -l) lines)"
in_ns server tap-keytool stats | grep -E '^events_' | tr '\n' ' '
echo

echo "--- sample: tap-keytool monitor"
head -n 6 /tmp/human.out
echo "--- sample: tap-keytool monitor --json"
head -n 5 /tmp/json.out
echo "--- sample: tap-audit.service (tap-keytool monitor --journal)"
head -n 5 /tmp/journal.out

# the module goes with listeners still subscribed (one killed first)
kill "${MON_PID[human]}" "${MON_PID[json]}"
unprotect server
mod_unload xt_tap || fail "rmmod xt_tap with a subscribed listener"
kill "${MON_PID[journal]}" 2>/dev/null
pass "module unloaded with a listener subscribed"
check_dmesg_clean
