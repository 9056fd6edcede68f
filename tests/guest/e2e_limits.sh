#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The one-rule form and the admission limits, through the real module:
#  - "-m tap ... --drop-invalid -j ACCEPT" alone lets a keyed client in and
#    drops every other SYN to the port (no second rule), IPv4 and IPv6;
#  - a key loaded with --rate 5 gets a second's worth (5) of tokens
#    through at once, then is refused as "limited" (counter, and the key's
#    own in tap-keytool list), while another key is not touched;
#  - the counters show the replay cache filling (replay_live).
. "$(dirname "$(readlink -f "$0")")/setup.sh"

# low enough that even a debug kernel's burst (about 30 tokens/s) outruns it
RATE3=5
N=40
# long enough that the first burst's tokens are still in the replay cache
# (window + 1 s) after the second: on a debug kernel 31 s were not enough
WINDOW=300

topo_start
tap_load_module
k3=$(tap_genkey 3)
k4=$(tap_genkey 4)
in_ns server tap-keytool load --rate "$RATE3" "$k3" >/dev/null || fail "load key 3"
in_ns server tap-keytool load "$k4" >/dev/null || fail "load key 4"
start_http server
server_out_counters server

for fam in 4 6; do
	[ $fam = 4 ] && { addr=$SERVER4; cmd=iptables; } || { addr=$SERVER6; cmd=ip6tables; }
	in_ns server $cmd -t raw -A PREROUTING -p tcp --dport "$HTTP_PORT" --syn \
		-m tap --key-id 3-4 --window "$WINDOW" --drop-invalid -j ACCEPT ||
		fail "$cmd one-rule form"
	snapshot server
	http_get client "$addr" 3 >/dev/null && fail "IPv$fam: no token, yet in"
	expect_stat server incomplete "${SNAP[incomplete]}" +1
	out=$(in_ns client tap-send connect --key "$k4" --dst "$addr" --dport "$HTTP_PORT" \
		--timeout 10 --send $'GET / HTTP/1.0\r\n\r\n') || fail "IPv$fam: keyed connect: $out"
	grep -q tap-protected-page <<<"$out" || fail "IPv$fam: no page"
	[ "$(in_ns server $cmd -t raw -S PREROUTING | grep -c -- '-j DROP')" = 0 ] ||
		fail "a DROP rule exists"
	pass "IPv$fam: one rule with --drop-invalid: no token dropped, keyed client in"
done
[ "$(out_count server synack)" = 2 ] || fail "SYN/ACKs: $(out_count server synack), want the 2 keyed ones"

# key 3 at $RATE3/s: N tokens at once; key 4, no limit, N too
BURST="python3 $TAP_REPO/tests/guest/token_burst.py"
# key_use ID: "rate accepted limited" from tap-keytool list
key_use() { in_ns server tap-keytool list | awk -v id="$1" '$1 == id { print $3, $4, $9 }'; }
read -r _ acc0 lim0 <<<"$(key_use 3)"
snapshot server
live0=$(tap_stat server replay_live)
out=$(in_ns client $BURST "$k3" "$SERVER4" "$HTTP_PORT" $N) || fail "token burst, key 3: $out"
sleep 0.5
acc=$(( $(tap_stat server accepted) - SNAP[accepted] ))
lim=$(( $(tap_stat server limited) - SNAP[limited] ))
# a second's worth at once, plus what the rate refills while the burst
# goes out and the server takes up to 0.3 s more to process it
ms=$(sed -n "s/^sent $N tokens in \([0-9]*\) ms\$/\1/p" <<<"$out")
[ -n "$ms" ] || fail "token burst: no time in \"$out\""
most=$(( RATE3 + (RATE3 * (ms + 300) + 999) / 1000 ))
echo "  key 3 (--rate $RATE3), $N tokens in $ms ms: $acc accepted (at most $most), $lim limited"
# a burst the allowance covers could not tell a limiter from none
[ $((N - most)) -ge $((N / 2)) ] || fail "the burst took $ms ms: too slow to outrun $RATE3/s"
[ "$acc" -ge "$RATE3" ] && [ "$acc" -le "$most" ] && [ $((acc + lim)) = $N ] ||
	fail "key 3 at $RATE3/s: $acc accepted, $lim limited of $N in $ms ms"
read -r rate acc1 lim1 <<<"$(key_use 3)"
[ "$rate" = "$RATE3" ] && [ $((acc1 - acc0)) = "$acc" ] && [ $((lim1 - lim0)) = "$lim" ] ||
	fail "list does not show key 3's use: $(in_ns server tap-keytool list)"
snapshot server
in_ns client $BURST "$k4" "$SERVER4" "$HTTP_PORT" $N >/dev/null || fail "token burst, key 4"
sleep 0.5
expect_stat server accepted "${SNAP[accepted]}" $N
expect_stat server limited "${SNAP[limited]}" 0
live=$(tap_stat server replay_live)
# the two bursts' tokens at least; the live0 earlier ones (the keyed
# connects') may have expired
[ "$live" -ge $((acc + N)) ] || fail "replay_live $live (before the bursts $live0), want at least $((acc + N))"
pass "key 3 at --rate $RATE3: $acc of $N at once, $lim limited; key 4 unlimited: $N of $N; replay_live $live"
check_dmesg_clean
