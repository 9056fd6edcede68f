#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Bad tokens are dropped, over IPv4 and IPv6, and the counter says why:
# wrong key, unknown key id, key id outside the rule's range, stale
# timestamp, replay of a captured auth sequence plus real SYN (from the same
# source and from another one), and a token for another ISN, another port or
# another address. Last, neither a wider rule added later, nor removing the
# last rule and adding it back, nor unloading the module and loading it
# again opens a window for replays.
. "$(dirname "$(readlink -f "$0")")/setup.sh"

topo_start
# a short retransmission lifetime, so the replay is not a retransmission
tap_load_module retransmit_lifetime_ms=1000
k3=$(tap_genkey 3)
wrong3=$(tap_genkey 3 wrong3)	# same id, another secret
k7=$(tap_genkey 7)		# in the rule's range, never loaded
k20=$(tap_genkey 20)		# loaded, outside the rule's range
for k in "$k3" "$k20"; do
	in_ns server tap-keytool load "$k" >/dev/null || fail "load $k"
done
start_http server
server_out_counters server

# dropped NAME COUNTER ISN SPORT [auth options]: token + real SYN, expect no
# SYN/ACK and COUNTER +1 (and nothing accepted). Each case comes from a
# source address of its own: the pieces of earlier cases, live in the same
# flow, could otherwise pass this case's check bytes by chance (docs/
# PROTOCOL.md §4) and give one of its SYNs another outcome.
cases=0
dropped() {
	local name=$1 counter=$2 isn=$3 sport=$4 synack src
	shift 4
	cases=$((cases + 1))
	if [ "$fam" = 4 ]; then
		src=10.77.1.$((100 + cases))
		in_ns client ip addr add "$src/24" dev eth0 || fail "address $src"
	else
		src=fd00:77:1::$(printf %x $((256 + cases)))
		in_ns client ip addr add "$src/64" dev eth0 nodad || fail "address $src"
	fi
	snapshot server
	synack=$(out_count server synack)
	auth_and_syn client "$KEY" "$addr" "$isn" "$sport" --src "$src" "$@"
	[ "$(out_count server synack)" = "$synack" ] || fail "IPv$fam $name: got a SYN/ACK"
	expect_stat server accepted "${SNAP[accepted]}" 0
	expect_stat server retransmit "${SNAP[retransmit]}" 0
	# every auth SYN itself counts as incomplete too
	if [ "$counter" = incomplete ]; then
		expect_stat server incomplete "${SNAP[incomplete]}" 5
	else
		expect_stat server "$counter" "${SNAP[$counter]}" 1
		expect_stat server incomplete "${SNAP[incomplete]}" 4
	fi
	# gone again: later steps pick the client's own address
	in_ns client ip addr del "$src/$([ "$fam" = 4 ] && echo 24 || echo 64)" dev eth0 ||
		fail "address $src"
	pass "IPv$fam: $name dropped ($counter +1)"
}

# replay_refused NAME COUNTER PCAP: the attacker replays PCAP; no SYN/ACK,
# nothing accepted, COUNTER +1 or more
SYNS="tcp dst port $HTTP_PORT and tcp[tcpflags] & tcp-syn != 0"
replay_refused() {
	local name=$1 counter=$2 synack
	snapshot server
	synack=$(out_count server synack)
	in_ns attacker python3 "$TAP_REPO/tests/guest/replay.py" "$3" --src "$ATTACKER4" >/dev/null ||
		fail "replay.py"
	sleep 0.3
	[ "$(out_count server synack)" = "$synack" ] || fail "$name: the replay got a SYN/ACK"
	expect_stat server accepted "${SNAP[accepted]}" 0
	expect_stat server "$counter" "${SNAP[$counter]}" +1
	pass "$name: refused ($counter)"
}
# A reload that removes the last tap rule and adds it back (a flush, then
# the rules again) must not forget what the cache holds: the tables stay
# until their last entry expires, then go.
# (on a debug kernel, kmemleak, the replay alone can take 20 s: 120 there)
W=20
debug_kernel && W=120
protect server iptables raw PREROUTING 3 --window $W
capture_start server /tmp/reload.pcap "$SYNS"
auth_and_syn client "$k3" "$SERVER4" "$(rand32)" "$(rand_port)"
capture_stop
unprotect server
[ "$(tap_stat server rules)" = 0 ] || fail "rules left after the flush"
kept=$(tap_stat server tables_kept_s)
[ "$kept" -ge 1 ] && [ "$kept" -le $((2 * W + 2)) ] 2>/dev/null ||
	fail "tables_kept_s $kept after the last rule went, want 1 to 2 * $W + 2"
[ "$(tap_stat server memory_bytes)" -gt 0 ] || fail "the tables went with the last rule"
protect server iptables raw PREROUTING 3 --window $W
sleep 1.5	# past the retransmission lifetime
replay_refused "a token replayed after its last rule was removed and added again" replayed /tmp/reload.pcap
unprotect server
for ((i = 0; i < 4 * W + 10; i++)); do
	[ "$(tap_stat server memory_bytes)" = 0 ] && break
	sleep 0.5
done
[ "$(tap_stat server memory_bytes)" = 0 ] && [ "$(tap_stat server tables_kept_s)" = 0 ] ||
	fail "the kept tables did not go: memory_bytes $(tap_stat server memory_bytes)"
pass "the tables without rules went once their last entry expired"

for fam in 4 6; do
	if [ $fam = 4 ]; then
		addr=$SERVER4 cmd=iptables other=$CLIENT4 attacker=$ATTACKER4
	else
		addr=$SERVER6 cmd=ip6tables other=$CLIENT6 attacker=$ATTACKER6
	fi
	protect server $cmd raw PREROUTING 3-9 --window 30

	KEY=$wrong3 dropped "wrong key" bad_mac "$(rand32)" "$(rand_port)"
	KEY=$k7 dropped "unknown key id 7" unknown_key "$(rand32)" "$(rand_port)"
	KEY=$k20 dropped "key id 20 outside 3-9" key_not_allowed "$(rand32)" "$(rand_port)"
	KEY=$k3 dropped "stale timestamp (-120 s)" stale "$(rand32)" "$(rand_port)" \
		--time $(( $(date +%s) - 120 ))
	KEY=$k3 dropped "token from the future (+120 s)" stale "$(rand32)" "$(rand_port)" \
		--time $(( $(date +%s) + 120 ))
	KEY=$k3 dropped "token for another address" bad_mac "$(rand32)" "$(rand_port)" \
		--token-dst "$other"
	# the pieces are masked by the ISN and port: under the real SYN's masks
	# a token for another ISN or port does not even decode
	KEY=$k3 dropped "token for another ISN" incomplete "$(rand32)" "$(rand_port)" \
		--token-isn "$(rand32)"
	KEY=$k3 dropped "token for another port" incomplete "$(rand32)" "$(rand_port)" \
		--token-dport 81

	# Replay: capture a good exchange, then re-send it verbatim.
	pcap=/tmp/replay$fam.pcap
	capture_start server "$pcap" "tcp dst port $HTTP_PORT and ((ip and tcp[tcpflags] & tcp-syn != 0) or (ip6 and ip6[53] & 2 != 0))"
	snapshot server
	t_tok=$(date +%s)
	auth_and_syn client "$k3" "$addr" "$(rand32)" "$(rand_port)"
	capture_stop
	expect_stat server accepted "${SNAP[accepted]}" 1
	n=$(tcpdump -r "$pcap" -n 2>/dev/null | wc -l)
	[ "$n" = 5 ] || fail "IPv$fam: captured $n SYNs, expected 4 auth + 1 real"
	sleep 1.5	# past the retransmission lifetime
	for src in same "$attacker"; do
		snapshot server
		synack=$(out_count server synack)
		if [ $src = same ]; then
			in_ns client python3 "$TAP_REPO/tests/guest/replay.py" "$pcap" >/dev/null
		else
			in_ns attacker python3 "$TAP_REPO/tests/guest/replay.py" "$pcap" --src "$src" >/dev/null
		fi || fail "replay.py"
		sleep 0.3
		[ "$(out_count server synack)" = "$synack" ] || fail "IPv$fam: replay from $src got a SYN/ACK"
		expect_stat server accepted "${SNAP[accepted]}" 0
		replay_refused_once "IPv$fam: a captured auth sequence + real SYN replayed from $src" "$t_tok"
	done
	unprotect server
	server_out_counters server
done

# A wider rule added later must not accept a token the cache was told to
# remember only for the narrower one: replays after the old window's end,
# of a token the cache still held when the rule came (replayed) and of one
# it had already forgotten (stale).
wide_rule() {
	in_ns server iptables -t raw -I PREROUTING 1 -p tcp --dport "$HTTP_PORT" --syn \
		-m tap --key-id 3 --window 300 -j ACCEPT || fail "the 300 s rule"
}
# (a debug kernel can take longer than 3 s from the accept to the next
# rule: a narrow window of 20 s there)
NW=2
debug_kernel && NW=20
protect server iptables raw PREROUTING 3 --window $NW
capture_start server /tmp/forgotten.pcap "$SYNS"
auth_and_syn client "$k3" "$SERVER4" "$(rand32)" "$(rand_port)"
capture_stop
sleep $((NW + 2))	# its entry (window + 1 s) has expired
wide_rule
replay_refused "a token forgotten before a 300 s rule came, replayed" stale /tmp/forgotten.pcap
unprotect server
protect server iptables raw PREROUTING 3 --window $NW
capture_start server /tmp/held.pcap "$SYNS"
auth_and_syn client "$k3" "$SERVER4" "$(rand32)" "$(rand_port)"
capture_stop
wide_rule	# while its entry lives
sleep $((NW + 2))	# past the entry's first expiry
replay_refused "a token held when a 300 s rule came, replayed after its old expiry" replayed /tmp/held.pcap
in_ns client tap-send connect -q --key "$k3" --dst "$SERVER4" --dport "$HTTP_PORT" \
	--timeout 10 --send $'GET / HTTP/1.0\r\n\r\n' | grep -q tap-protected-page ||
	fail "a fresh token through the 300 s rule"
pass "a fresh token gets in through the 300 s rule"
unprotect server

# The module unloaded and loaded again (an upgrade; a reboot is the same)
# forgets its cache: the new tables refuse the tokens made before them.
protect server iptables raw PREROUTING 3 --window 30
capture_start server /tmp/unload.pcap "$SYNS"
auth_and_syn client "$k3" "$SERVER4" "$(rand32)" "$(rand_port)"
capture_stop
unprotect server
mod_unload xt_tap || fail "rmmod xt_tap"
sleep 1		# the token's second is over
tap_load_module retransmit_lifetime_ms=1000
in_ns server tap-keytool load "$k3" >/dev/null || fail "load key 3 again"
protect server iptables raw PREROUTING 3 --window 30
replay_refused "a token replayed after the module was unloaded and loaded again" stale /tmp/unload.pcap
# a client whose clock lags by 20 s (inside the window) waits those 20 s
addr=$SERVER4 fam=4 KEY=$k3 dropped "a token 20 s old, from before the new tables" stale \
	"$(rand32)" "$(rand_port)" --time $(( $(date +%s) - 20 ))
in_ns client tap-send connect -q --key "$k3" --dst "$SERVER4" --dport "$HTTP_PORT" \
	--timeout 10 --send $'GET / HTTP/1.0\r\n\r\n' | grep -q tap-protected-page ||
	fail "a fresh token after the reload"
pass "a fresh token gets in after the reload"
unprotect server

check_dmesg_clean
