#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Scans, tokens and bad tokens as in e2e_scan, e2e_token and e2e_reject,
# with the protection set up by "tap-nft protect" alone: no iptables command
# anywhere (the server's replies are counted with nft too). Against a real service
# (python3 http.server), over IPv4 and IPv6:
#  1. nmap -sS and -sT from the attacker see the port filtered, the server
#     sends nothing back;
#  2. a valid token (tap-send connect) completes an HTTP exchange; a
#     different SYN from the same source does not pass;
#  3. wrong key, unknown key, key id out of range, stale, replay: dropped,
#     each counted under its reason;
# all in the default table inet tap; protect twice changes nothing (inet, and
# ip + ip6), unprotect restores the exact ruleset.
. "$(dirname "$(readlink -f "$0")")/setup.sh"

topo_start
S() { in_ns server "$@"; }
# a short retransmission lifetime, so that the replay is not a retransmission
tap_load_module retransmit_lifetime_ms=1000
k3=$(tap_genkey 3)
wrong3=$(tap_genkey 3 wrong3)	# same id, another secret
k7=$(tap_genkey 7)		# in the rule's range, never loaded
k20=$(tap_genkey 20)		# loaded, outside the rule's range
for k in "$k3" "$k20"; do
	S tap-keytool load "$k" >/dev/null || fail "load $k"
done
start_http server

# The server's own rules, there before TAP, and counters of what it sends.
S nft -f - <<'EOF' || fail "base ruleset"
table inet host {
	chain input {
		type filter hook input priority filter; policy accept;
		tcp dport 9 drop
	}
}
table inet obs {
	counter sent_synack { }
	counter sent_rst { }
	counter sent_icmp { }
	chain out {
		type filter hook output priority filter; policy accept;
		tcp flags & (syn | ack) == syn | ack counter name "sent_synack"
		tcp flags & rst == rst counter name "sent_rst"
		icmp type destination-unreachable counter name "sent_icmp"
		icmpv6 type destination-unreachable counter name "sent_icmp"
	}
}
EOF
out_count() { S nft list counter inet obs "sent_$1" | sed -n 's/.*packets \([0-9]*\).*/\1/p'; }

# ---- protect / protect again / unprotect, on a quiet ruleset ----
before=$(S nft list ruleset 2>/dev/null)
before_s=$(S nft -s list ruleset 2>/dev/null)
tap_tables() { S nft list tables | sed -n 's/^table \(.*\) tap$/\1/p' | sort | xargs; }
# FAMILY_OPTION:EXPECTED_TABLES (default: one inet table)
for spec in ":inet" "--family ip,ip6:ip ip6"; do
	fam_opt=${spec%%:*} want=${spec#*:}
	protect_cmd=(tap-nft protect --dport "$HTTP_PORT" --key-id 3-9 $fam_opt)
	out=$(S "${protect_cmd[@]}") || fail "${protect_cmd[*]}: $out"
	echo "$out"
	echo "--- nft list ruleset after ${protect_cmd[*]}"
	S nft list ruleset 2>/dev/null | sed -n '/^table [a-z0-9]* tap/,/^}/p'
	[ "$(tap_tables)" = "$want" ] || fail "${protect_cmd[*]}: tap tables '$(tap_tables)', not '$want'"
	a1=$(S nft -a list ruleset 2>/dev/null)
	out=$(S "${protect_cmd[@]}") || fail "second ${protect_cmd[*]}: $out"
	grep -q "nothing changed" <<<"$out" || fail "second protect did something: $out"
	[ "$(S nft -a list ruleset 2>/dev/null)" = "$a1" ] || fail "second protect changed the ruleset"
	pass "${protect_cmd[*]}: tables $want; the second run changes nothing (nft -a list ruleset identical, handles too)"
done
# from ip + ip6 to the default inet: one batch replaces the tables
out=$(S tap-nft protect --dport "$HTTP_PORT" --key-id 3-9) || fail "protect (inet after ip,ip6): $out"
[ "$(tap_tables)" = inet ] || fail "after switching to inet: tap tables '$(tap_tables)'"
pass "protect with another family replaces the ip and ip6 tables by the inet one"
out=$(S tap-nft unprotect) || fail "tap-nft unprotect: $out"
echo "    $out"
[ "$(S nft list ruleset 2>/dev/null)" = "$before" ] || {
	diff <(echo "$before") <(S nft list ruleset 2>/dev/null)
	fail "unprotect did not restore the ruleset"
}
S tap-nft unprotect | grep -q "nothing changed" || fail "second unprotect"
pass "tap-nft unprotect: nft list ruleset exactly as before protect"

# the end-to-end tests below run against the default: table inet tap
protect_cmd=(tap-nft protect --dport "$HTTP_PORT" --key-id 3-9)
out=$(S "${protect_cmd[@]}") || fail "tap-nft protect: $out"
# only nft: no iptables tables in this namespace (legacy or nft)
S nft list tables | grep -Eqv '^table (inet tap|inet host|inet obs)$' &&
	fail "unexpected tables: $(S nft list tables)"
[ -z "$(S cat /proc/net/ip_tables_names /proc/net/ip6_tables_names 2>/dev/null)" ] ||
	fail "legacy iptables tables exist"

# scan NS ADDR TYPE: the state nmap reports for the port
scan() {
	local six=
	case $2 in *:*) six=-6 ;; esac
	in_ns "$1" nmap $six -Pn -n "$3" -p "$HTTP_PORT" -T4 --max-retries 1 \
		--host-timeout 60s "$2" -oG - | sed -n "s|.*Ports: $HTTP_PORT/\([a-z|]*\)/.*|\1|p"
}

# dropped NAME COUNTER ISN SPORT [auth options]: token ($KEY) + real SYN,
# expect no SYN/ACK and COUNTER +1, nothing accepted
dropped() {
	local name=$1 counter=$2 isn=$3 sport=$4 synack
	shift 4
	snapshot server
	synack=$(out_count synack)
	auth_and_syn client "$KEY" "$addr" "$isn" "$sport" "$@"
	[ "$(out_count synack)" = "$synack" ] || fail "IPv$fam $name: got a SYN/ACK"
	expect_stat server accepted "${SNAP[accepted]}" 0
	expect_stat server retransmit "${SNAP[retransmit]}" 0
	expect_stat server "$counter" "${SNAP[$counter]}" 1
	pass "IPv$fam: $name dropped ($counter +1)"
}

for fam in 4 6; do
	if [ $fam = 4 ]; then
		addr=$SERVER4 attacker=$ATTACKER4
	else
		addr=$SERVER6 attacker=$ATTACKER6
	fi

	# 1. scans
	snapshot server
	synack=$(out_count synack) rst=$(out_count rst) icmp=$(out_count icmp)
	for type in -sS -sT; do
		st=$(scan attacker "$addr" $type)
		[ "$st" = filtered ] || fail "nmap $type IPv$fam says '$st', not filtered"
		pass "nmap $type IPv$fam: filtered"
	done
	[ "$(out_count synack)" = "$synack" ] || fail "IPv$fam: the server sent a SYN/ACK"
	[ "$(out_count rst)" = "$rst" ] || fail "IPv$fam: the server sent a RST"
	[ "$(out_count icmp)" = "$icmp" ] || fail "IPv$fam: the server sent ICMP"
	expect_stat server incomplete "${SNAP[incomplete]}" +4
	expect_stat server accepted "${SNAP[accepted]}" 0
	pass "IPv$fam: no SYN/ACK, RST or ICMP to the scanner; incomplete +$(( $(tap_stat server incomplete) - SNAP[incomplete] )), accepted +0"

	# 2. a valid token: an HTTP exchange with the OS's own SYN
	snapshot server
	out=$(in_ns client tap-send connect --key "$k3" --dst "$addr" --dport "$HTTP_PORT" \
		--timeout 10 --send $'GET /index.html HTTP/1.0\r\n\r\n') ||
		fail "IPv$fam: tap-send connect failed: $out"
	grep -q tap-protected-page <<<"$out" || fail "IPv$fam: no page in: $out"
	expect_stat server accepted "${SNAP[accepted]}" 1
	pass "IPv$fam: token + real SYN: HTTP exchange completed (accepted +1)"

	snapshot server
	http_get client "$addr" 3 >/dev/null && fail "IPv$fam: curl without a token got through"
	expect_stat server accepted "${SNAP[accepted]}" 0
	pass "IPv$fam: curl without a token times out"

	# exactly its real SYN passes, no other SYN from the same source
	isn=$(rand32) sport=$(rand_port)
	snapshot server
	synack=$(out_count synack)
	auth_and_syn client "$k3" "$addr" "$isn" "$sport"
	expect_stat server accepted "${SNAP[accepted]}" 1
	[ "$(out_count synack)" = $((synack + 1)) ] || fail "IPv$fam: no SYN/ACK for the real SYN"
	snapshot server
	for o in "$((isn ^ 1)) $sport" "$isn $((sport + 1))" "$(rand32) $((sport + 2))"; do
		set -- $o
		in_ns client tap-send syn --dst "$addr" --dport "$HTTP_PORT" --isn "$1" --sport "$2" ||
			fail "tap-send syn"
	done
	sleep 0.3
	[ "$(out_count synack)" = $((synack + 1)) ] ||
		fail "IPv$fam: another SYN from the same source got a SYN/ACK"
	expect_stat server accepted "${SNAP[accepted]}" 0
	expect_stat server retransmit "${SNAP[retransmit]}" 0
	expect_stat server incomplete "${SNAP[incomplete]}" 3
	pass "IPv$fam: the real SYN passed; other SYNs from the same source (other ISN, other port) dropped"

	# 3. bad tokens
	KEY=$wrong3 dropped "wrong key" bad_mac "$(rand32)" "$(rand_port)"
	KEY=$k7 dropped "unknown key id 7" unknown_key "$(rand32)" "$(rand_port)"
	KEY=$k20 dropped "key id 20 outside 3-9" key_not_allowed "$(rand32)" "$(rand_port)"
	KEY=$k3 dropped "stale timestamp (-120 s)" stale "$(rand32)" "$(rand_port)" \
		--time $(( $(date +%s) - 120 ))
	KEY=$k3 dropped "token without destination binding" bad_mac "$(rand32)" "$(rand_port)" \
		--no-dst-bind

	# replay of a captured good exchange, from the same source and another
	# (BPF's tcp[] works for IPv4 only: for IPv6, the flags byte is ip6[40 + 13])
	pcap=/tmp/replay$fam.pcap
	synfilter="tcp dst port $HTTP_PORT and tcp[tcpflags] & tcp-syn != 0"
	[ $fam = 6 ] && synfilter="ip6 and tcp dst port $HTTP_PORT and ip6[53] & 2 != 0"
	capture_start server "$pcap" "$synfilter"
	snapshot server
	auth_and_syn client "$k3" "$addr" "$(rand32)" "$(rand_port)"
	capture_stop
	expect_stat server accepted "${SNAP[accepted]}" 1
	n=$(tcpdump -r "$pcap" -n 2>/dev/null | wc -l)
	[ "$n" = 5 ] || fail "IPv$fam: captured $n SYNs, expected 4 auth + 1 real"
	sleep 1.5	# past the retransmission lifetime
	for src in same "$attacker"; do
		snapshot server
		synack=$(out_count synack)
		if [ "$src" = same ]; then
			in_ns client python3 "$TAP_REPO/tests/guest/replay.py" "$pcap" >/dev/null
		else
			in_ns attacker python3 "$TAP_REPO/tests/guest/replay.py" "$pcap" --src "$src" >/dev/null
		fi || fail "replay.py"
		sleep 0.3
		[ "$(out_count synack)" = "$synack" ] || fail "IPv$fam: replay ($src) got a SYN/ACK"
		expect_stat server accepted "${SNAP[accepted]}" 0
		expect_stat server replayed "${SNAP[replayed]}" 1
		pass "IPv$fam: replay from $src dropped (replayed +1)"
	done
done

echo "--- tap-nft list"
S tap-nft list
echo "--- xt_tap counters"
S cat /proc/net/xt_tap

out=$(S tap-nft unprotect) || fail "tap-nft unprotect: $out"
[ "$(S nft -s list ruleset 2>/dev/null)" = "$before_s" ] || fail "unprotect: ruleset differs"
st=$(scan attacker "$SERVER4" -sS)
[ "$st" = open ] || fail "after unprotect nmap -sS says '$st', not open"
pass "tap-nft unprotect: the ruleset is as before (counters aside) and the port is open again"
check_dmesg_clean
pass "nft_protect_e2e"
