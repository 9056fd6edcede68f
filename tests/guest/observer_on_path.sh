#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# What an observer on the client's path can do (docs/PROTOCOL.md §6):
#  - passively, without the realm, it finds no TAP exchange and no key id in
#    a capture of keyed connections; with the realm (the control) it finds
#    them all;
#  - actively, it can race a client: copy its auth SYNs and SYN and send them
#    first from its own address. Without --src-bind that gets the attacker
#    the connection and the client is refused as "replayed"; with --src-bind
#    the copy fails the MAC and the client gets in.
. "$(dirname "$(readlink -f "$0")")/setup.sh"

topo_start
tap_load_module
k3=$(tap_genkey 3)
in_ns server tap-keytool load "$k3" >/dev/null || fail "load key"
start_http server
server_out_counters server
OBS="python3 $TAP_REPO/tests/tools/tap_observer.py"
SYN_FILTER="tcp dst port $HTTP_PORT and ((ip and tcp[tcpflags] & tcp-syn != 0) or (ip6 and ip6[53] & 2 != 0))"

# ---- passive: a capture of three keyed connections per family ----
protect server iptables raw PREROUTING 3
protect server ip6tables raw PREROUTING 3
pcap=/tmp/observed.pcap
capture_start server "$pcap" "$SYN_FILTER"
snapshot server
for addr in $SERVER4 $SERVER6 $SERVER4 $SERVER6 $SERVER4 $SERVER6; do
	in_ns client tap-send connect -q --key "$k3" --dst "$addr" --dport "$HTTP_PORT" \
		--timeout 10 --send $'GET / HTTP/1.0\r\n\r\n' | grep -q tap-protected-page ||
		fail "keyed connection to $addr"
done
capture_stop
expect_stat server accepted "${SNAP[accepted]}" 6
out=$($OBS "$pcap" --realm-from "$k3") || fail "observer: $out"
echo "  with the realm:    $(tail -n 1 <<<"$out")"
grep -qE "^syns [0-9]+ exchanges (6|7|8|9|1[0-9]) key_ids 3$" <<<"$out" ||
	fail "the observer with the realm did not find the 6 exchanges of key 3: $out"
for guess in public zero random; do
	out=$($OBS "$pcap" --guess $guess) || fail "observer: $out"
	echo "  guessing ($guess): $(tail -n 1 <<<"$out")"
	grep -qE "^syns [0-9]+ exchanges 0 key_ids -$" <<<"$out" ||
		fail "an observer without the realm ($guess) found exchanges: $out"
done
pass "a capture of 6 keyed connections: the observer finds all 6 (key id 3) with the realm, none without"
unprotect server
server_out_counters server

# ---- active: the race, without and with --src-bind ----
for fam in 4 6; do
	if [ $fam = 4 ]; then
		addr=$SERVER4 cmd=iptables client=$CLIENT4 attacker=$ATTACKER4 sel="ip saddr"
	else
		addr=$SERVER6 cmd=ip6tables client=$CLIENT6 attacker=$ATTACKER6 sel="ip6 saddr"
	fi
	for mode in plain src-bind; do
		opts=()
		[ $mode = src-bind ] && opts=(--src-bind)
		protect server $cmd raw PREROUTING 3 "${opts[@]}"
		# the client's own copy is held up on the path; the observer's
		# copy of it (a capture on the client's link) goes first
		in_ns server nft -f - <<-EOT || fail "nft hold"
			table inet hold {
				chain pre {
					type filter hook prerouting priority -500; policy accept;
					$sel $client drop
				}
			}
		EOT
		pcap=/tmp/race$fam$mode.pcap
		capture_start client "$pcap" "$SYN_FILTER"
		auth_and_syn client "$k3" "$addr" "$(rand32)" "$(rand_port)" "${opts[@]}"
		capture_stop
		snapshot server
		synack=$(out_count server synack)
		in_ns attacker python3 "$TAP_REPO/tests/guest/replay.py" "$pcap" --src "$attacker" >/dev/null ||
			fail "replay from the attacker"
		sleep 0.3
		if [ $mode = plain ]; then
			expect_stat server accepted "${SNAP[accepted]}" 1
			[ "$(out_count server synack)" = $((synack + 1)) ] ||
				fail "IPv$fam $mode: the raced copy got no SYN/ACK"
		else
			expect_stat server accepted "${SNAP[accepted]}" 0
			expect_stat server bad_mac "${SNAP[bad_mac]}" 1
			[ "$(out_count server synack)" = "$synack" ] ||
				fail "IPv$fam $mode: the raced copy got a SYN/ACK"
		fi
		# the client's own copy arrives
		in_ns server nft delete table inet hold || fail "nft delete hold"
		snapshot server
		synack=$(out_count server synack)
		in_ns client python3 "$TAP_REPO/tests/guest/replay.py" "$pcap" >/dev/null ||
			fail "the client's own copy"
		sleep 0.3
		if [ $mode = plain ]; then
			expect_stat server replayed "${SNAP[replayed]}" 1
			expect_stat server accepted "${SNAP[accepted]}" 0
			[ "$(out_count server synack)" = "$synack" ] || fail "IPv$fam $mode: client got in"
			pass "IPv$fam without --src-bind: the racing copy from $attacker is accepted, the client is then 'replayed'"
		else
			expect_stat server accepted "${SNAP[accepted]}" 1
			[ "$(out_count server synack)" = $((synack + 1)) ] ||
				fail "IPv$fam $mode: the client got no SYN/ACK"
			pass "IPv$fam with --src-bind: the racing copy from $attacker is bad_mac, the client gets in"
		fi
		unprotect server
		server_out_counters server
	done
done

# a keyed client in src-bind mode connects for real (tap-send connect)
protect server iptables raw PREROUTING 3 --src-bind
in_ns client tap-send connect -q --src-bind --key "$k3" --dst "$SERVER4" --dport "$HTTP_PORT" \
	--timeout 10 --send $'GET / HTTP/1.0\r\n\r\n' | grep -q tap-protected-page ||
	fail "tap-send connect --src-bind"
pass "a client in --src-bind mode connects"
check_dmesg_clean
