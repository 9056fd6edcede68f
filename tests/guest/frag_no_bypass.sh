#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# No SYN cut into IP fragments gets past a tap ruleset.
# From the attacker, fragsend.py sends key-less SYNs to the protected port in
# every shape (first fragments of 8 and 16 bytes of TCP header, three
# fragments, ordinary two-fragment SYNs, overlapping fragments that rewrite
# the flags to SYN, and each of these out of order), over IPv4 and IPv6,
# against:
#  - the README's pair of rules, iptables-nft and iptables-legacy, in raw
#    PREROUTING, mangle PREROUTING, filter INPUT, and filter FORWARD on the
#    gateway (router) that protects nat1;
#  - tap-nft add in a chain of our own with no ct expression, at prerouting
#    priority -300, and at -450: before defragmentation, where the match
#    meets the fragments and must drop those that cut the TCP header short
#    (counter "truncated");
#  - tap-nft protect.
# Each: no SYN/ACK reaches the attacker (its own count and a counter in the
# server), the match met no cut-short header where whole datagrams are due,
# and a keyed client still connects over IPv4 and IPv6. Two controls first:
# no rules (the sender's shapes are answered, so it can see a bypass), and
# the DROP rule alone with no tap rule in the netns, so that nothing
# defragments before raw PREROUTING: the tiny first fragment must then be
# answered, which is the bypass this test is here to catch.
#
# frag_no_bypass.sh [--report-only] [--ko FILE]  (or TAP_FRAG_REPORT_ONLY=1,
# TAP_KO=FILE; the guest gets no environment from the host): --report-only
# prints the matrix and fails on nothing that depends on the fix, for a
# module built before it; --ko loads that module instead of this tree's.
. "$(dirname "$(readlink -f "$0")")/setup.sh"
while [ $# -gt 0 ]; do
	case $1 in
	--report-only) TAP_FRAG_REPORT_ONLY=1; shift ;;
	--ko) export TAP_KO=$2; shift 2 ;;
	*) echo "usage: $0 [--report-only] [--ko FILE]"; exit 2 ;;
	esac
done
REPORT_ONLY=${TAP_FRAG_REPORT_ONLY:-0}
# fragsend.py's shapes; SHORT_SHAPES of them (tiny, tiny-rev, tiny16, three)
# have a first fragment shorter than the 20-byte TCP header
SHAPES="whole tiny tiny-rev tiny16 three split split-rev overlap overlap-rev"
SHORT_SHAPES=4
START=$SECONDS

topo_start
tap_load_module
k3=$(tap_genkey 3)
# one attacker process for the whole test: Python starts slowly in the guest
# tmpfs: 9p reads are slow; its checksum module beside it
cp "$TAP_REPO/tests/guest/fragsend.py" "$TAP_REPO/tests/tools/inet_csum.py" /tmp/
coproc FRAG { exec ip netns exec attacker python3 /tmp/fragsend.py --dport "$HTTP_PORT" \
	--shapes "${SHAPES// /,}" --serve 2>&1; }
# nat1's service starts while start_http waits for the server's
mkdir -p /tmp/www
ip netns exec nat1 python3 -m http.server --bind :: --directory /tmp/www "$HTTP_PORT" \
	>/dev/null 2>&1 &
start_http server
wait_for_port nat1 "$HTTP_PORT"
for ns in server router; do
	in_ns $ns tap-keytool load "$k3" >/dev/null || fail "load key in $ns"
done
# client and attacker reach nat1 through the router, which forwards without
# NAT: its masquerade would bring conntrack, and so defragmentation, into its
# netns whatever the tap rules do, and hide the FORWARD case
in_ns router nft delete table inet topo_nat || fail "remove the router's NAT"
for ns in client attacker; do
	in_ns $ns ip route add 10.77.2.0/24 via $ROUTER4 &&
	in_ns $ns ip -6 route add fd00:77:2::/64 via $ROUTER6 || fail "routes in $ns"
done

# unfixed MSG: what the fix must prevent happened: fail (--report-only: note it)
NOTES=()
unfixed() {
	[ "$REPORT_ONLY" = 1 ] || fail "$*"
	NOTES+=("$*")
}

# Counters of the SYN/ACKs the target sends to the attacker, with the
# iptables of the case (iptables-legacy and -nft never share a netns).
# synack_counter NS IPT / synack_count NS IPT (IPT: iptables or iptables-legacy)
synack_counter() {
	in_ns "$1" "$2" -I OUTPUT -d $ATTACKER4 -p tcp --tcp-flags SYN,ACK SYN,ACK &&
	in_ns "$1" "${2/ip/ip6}" -I OUTPUT -d $ATTACKER6 -p tcp --tcp-flags SYN,ACK SYN,ACK ||
		fail "SYN/ACK counter in $1"
}
synack_count() {
	local n=0 c cmd
	for cmd in "$2" "${2/ip/ip6}"; do
		c=$(in_ns "$1" "$cmd" -nvxL OUTPUT | awk '/flags:0x12\/0x12/ { s += $1 } END { print s + 0 }')
		n=$((n + c))
	done
	echo $n
}
# ipt_flush NS IPT: empty the raw, mangle and filter tables, v4 and v6
# (iptables-restore flushes each table it names: one command a family)
ipt_flush() {
	local cmd
	for cmd in "$2" "${2/ip/ip6}"; do
		in_ns "$1" "$cmd-restore" <<<$'*raw\nCOMMIT\n*mangle\nCOMMIT\n*filter\nCOMMIT' ||
			fail "$cmd-restore (flush) in $1"
	done
}
# ipt_pair NS IPT TABLE CHAIN: the README's two rules, v4 and v6
ipt_pair() {
	protect "$1" "$2" "$3" "$4" 3
	protect "$1" "${2/ip/ip6}" "$3" "$4" 3
}

# truncated NS: the match's count of cut-short TCP headers ("-" if the
# module has no such counter)
truncated() {
	local n
	n=$(tap_stat "$1" truncated)
	[ "$n" = missing ] && n=-
	echo "$n"
}

# connect_ok ADDR: a keyed client fetches the page (says why not)
connect_ok() {
	local out
	out=$(in_ns client tap-send connect --key "$k3" --dst "$1" --dport "$HTTP_PORT" \
		--timeout 10 --send $'GET / HTTP/1.0\r\n\r\n' 2>&1) &&
	grep -q tap-protected-page <<<"$out" && return 0
	echo "keyed connect to $1: $out"
	return 1
}

declare -A SA SRV TRUNC KEYED
CASES=()
# run_case NAME RULES_NS TARGET_NS IPT ADDR4 ADDR6 EXPECT
# The rules are in place; NAME's row of the matrix. EXPECT: "open" (no
# rules), "bypass" (DROP rule alone), "safe" (tap rules after
# defragmentation) or "predefrag" (tap rules in a chain before it).
run_case() {
	local name=$1 rns=$2 tns=$3 ipt=$4 a4=$5 a6=$6 expect=$7
	local t0 out shape fam n sum=0 fam_addr wait pids line
	CASES+=("$name")
	synack_counter "$tns" "$ipt"
	t0=$(truncated "$rns")
	# controls must see their SYN/ACKs; elsewhere a late one still shows
	# in the server's counter, read last
	wait=1.5
	case $expect in open|bypass) wait=3 ;; esac
	# the attack and the keyed clients at once (CPU time is scarce in
	# the guest); neither counts the other's packets
	echo "wait=$wait $a4 $a6" >&"${FRAG[1]}" || fail "$name: fragsend is gone"
	pids=()
	KEYED[$name]=-
	if [ "$expect" = safe ] || [ "$expect" = predefrag ]; then
		connect_ok "$a4" & pids+=($!)
		connect_ok "$a6" & pids+=($!)
		KEYED[$name]=v4+v6
	fi
	out=
	while read -r -t 60 line <&"${FRAG[0]}" && [ "$line" != done ]; do
		out+=$line$'\n'
	done
	[ "$line" = done ] || fail "$name: fragsend stopped: $out"
	out=${out%$'\n'}
	for n in "${pids[@]}"; do
		wait "$n" || fail "$name: a keyed client could not connect (above)"
	done
	while read -r shape fam n; do
		SA["$name|$shape|$fam"]=$n
		sum=$((sum + n))
	done <<<"$out"
	[ "$(wc -l <<<"$out")" = $((2 * $(wc -w <<<"$SHAPES"))) ] ||
		fail "$name: fragsend answered: $out"
	n=$(truncated "$rns")
	[ "$t0" = - ] || [ "$n" = - ] && TRUNC[$name]=n/a || TRUNC[$name]=$((n - t0))
	SRV[$name]=$(synack_count "$tns" "$ipt")
	case $expect in
	open)
		for fam_addr in "whole 4" "whole 6" "tiny 4"; do
			[ "${SA[$name|${fam_addr% *}|${fam_addr#* }]}" -ge 1 ] ||
				fail "$name: no SYN/ACK for shape $fam_addr: the sender or the topology is broken"
		done ;;
	bypass)
		[ "${SA[$name|tiny|4]}" -ge 1 ] && [ "${SRV[$name]}" -ge 1 ] ||
			fail "$name: the tiny first fragment got no SYN/ACK with no tap rule: this test could not see the bypass ($(tr '\n' ' ' <<<"$out"))" ;;
	safe|predefrag)
		[ "$sum" = 0 ] || unfixed "$name: $sum fragmented attempts answered with a SYN/ACK"
		[ "${SRV[$name]}" = 0 ] || unfixed "$name: the server sent ${SRV[$name]} SYN/ACKs to the attacker"
		# before defragmentation the match meets every first fragment
		# that cuts the header short, and must drop it
		[ "$expect" = predefrag ] && [ "${TRUNC[$name]}" != $((2 * SHORT_SHAPES)) ] &&
			unfixed "$name: truncated counter moved by ${TRUNC[$name]}, expected $((2 * SHORT_SHAPES))"
		;;
	esac
	echo "    [$((SECONDS - START)) s] $name: $sum attempts answered, server sent ${SRV[$name]} SYN/ACKs, truncated +${TRUNC[$name]}, keyed ${KEYED[$name]}"
}

echo "    [$((SECONDS - START)) s] set up"
# ---- controls: no rules; the DROP rule alone ----
run_case "no rules (control)" server server iptables $SERVER4 $SERVER6 open
ipt_flush server iptables
for cmd in iptables ip6tables; do
	in_ns server $cmd -t raw -A PREROUTING -p tcp --dport "$HTTP_PORT" --syn -j DROP ||
		fail "$cmd DROP rule"
done
run_case "iptables-nft raw DROP only, no tap rule" server server iptables $SERVER4 $SERVER6 bypass
ipt_flush server iptables
pass "controls: every shape that reassembles is answered with no rules; with the DROP rule alone and no tap rule, the tiny first fragment is answered (the bypass)"

# ---- the README's rules ----
# iptables-legacy last: once used, its (empty) tables stay in the netns
for ipt in iptables-nft iptables-legacy; do
	for spec in "raw PREROUTING" "mangle PREROUTING" "filter INPUT" "filter FORWARD"; do
		if [ "$spec" = "filter FORWARD" ]; then
			ipt_pair router $ipt $spec
			run_case "$ipt FORWARD (gateway)" router nat1 iptables-nft $NAT1_4 $NAT1_6 safe
			ipt_flush router $ipt
			ipt_flush nat1 iptables-nft
		else
			ipt_pair server $ipt $spec
			run_case "$ipt $spec" server server $ipt $SERVER4 $SERVER6 safe
			ipt_flush server $ipt
		fi
	done
	[ $ipt = iptables-nft ] || continue

	# ---- tap-nft, in chains of our own, then protect ----
	for prio in -300 -450; do
		in_ns server nft -f - <<-EOF || fail "table inet fragt, priority $prio"
			table inet fragt {
				chain pre { type filter hook prerouting priority $prio; policy accept; }
			}
		EOF
		in_ns server tap-nft add inet fragt pre --dport "$HTTP_PORT" --key-id 3 accept \
			>/dev/null || fail "tap-nft add, priority $prio"
		in_ns server nft add rule inet fragt pre tcp dport "$HTTP_PORT" \
			tcp flags syn / fin,syn,rst,ack drop || fail "nft drop rule, priority $prio"
		# the match before the flags check where fragments may come
		order='tcp flags syn / fin,syn,rst,ack xt match "?tap"?'
		expect=safe
		if [ $prio = -450 ]; then
			order='xt match "?tap"? tcp flags syn / fin,syn,rst,ack'
			expect=predefrag
		fi
		in_ns server nft list chain inet fragt pre 2>/dev/null |
			grep -Eq "tcp dport $HTTP_PORT $order counter .* accept" ||
			fail "tap-nft add, priority $prio: not '$order': $(in_ns server nft list chain inet fragt pre 2>&1)"
		in_ns server tap-nft list inet fragt pre |
			grep -Eq "^inet +fragt +pre +[0-9]+ +$HTTP_PORT +3 +30 +yes +accept$" ||
			fail "tap-nft list does not decode the rule at priority $prio"
		run_case "tap-nft add, prerouting $prio" server server iptables $SERVER4 $SERVER6 $expect
		in_ns server nft delete table inet fragt 2>/dev/null || fail "delete table inet fragt"
		ipt_flush server iptables
	done
	# A regular chain may be jumped to from one at -450: the match goes
	# first there too, and iptables-nft still reads, and deletes, the rule.
	in_ns server iptables-nft -N TAPSUB || fail "iptables-nft -N"
	in_ns server tap-nft add ip filter TAPSUB --dport "$HTTP_PORT" --key-id 3 accept \
		>/dev/null || fail "tap-nft add to a regular chain"
	in_ns server nft list chain ip filter TAPSUB 2>/dev/null |
		grep -Eq "tcp dport $HTTP_PORT xt match \"?tap\"? tcp flags syn / fin,syn,rst,ack counter" ||
		fail "tap-nft add, regular chain: the match is not before the flags check"
	[ "$(in_ns server iptables-nft -S TAPSUB 2>&1 | grep -- -A)" = \
	  "-A TAPSUB -p tcp -m tcp --dport $HTTP_PORT --tcp-flags FIN,SYN,RST,ACK SYN -m tap --key-id 3 -j ACCEPT" ] ||
		fail "iptables-nft -S shows: $(in_ns server iptables-nft -S TAPSUB 2>&1)"
	in_ns server iptables-nft -D TAPSUB -p tcp --dport "$HTTP_PORT" --syn -m tap --key-id 3 -j ACCEPT &&
	in_ns server iptables-nft -X TAPSUB || fail "iptables-nft -D by the rule's spec"
	pass "tap-nft add puts the match first at prerouting -450 and in a regular chain, after the flags at -300; iptables-nft -S and -D read the match-first form"

	in_ns server tap-nft protect --dport "$HTTP_PORT" --key-id 3 >/dev/null || fail "tap-nft protect"
	run_case "tap-nft protect" server server iptables $SERVER4 $SERVER6 safe
	in_ns server tap-nft unprotect >/dev/null || fail "tap-nft unprotect"
	ipt_flush server iptables
done

# ---- the matrix ----
echo
echo "fragment matrix: SYN/ACKs the attacker got, IPv4/IPv6, per shape (module: ${TAP_KO:-this tree})"
printf '%-42s' "ruleset"
for shape in $SHAPES; do printf ' %-11s' "$shape"; done
printf ' %-6s %-9s %s\n' server truncated keyed
for name in "${CASES[@]}"; do
	printf '%-42s' "$name"
	for shape in $SHAPES; do printf ' %-11s' "${SA[$name|$shape|4]}/${SA[$name|$shape|6]}"; done
	printf ' %-6s %-9s %s\n' "${SRV[$name]}" "${TRUNC[$name]}" "${KEYED[$name]}"
done
echo "(server: SYN/ACKs the target sent to the attacker, counted in its OUTPUT;"
echo " truncated: cut-short TCP headers the match dropped; keyed: tap-send connect)"
echo "frag_no_bypass: ${#CASES[@]} cases in $((SECONDS - START)) s"
echo

if [ ${#NOTES[@]} -gt 0 ]; then
	echo "report only, these would fail:"
	printf '  %s\n' "${NOTES[@]}"
fi
[ "$REPORT_ONLY" = 1 ] && { echo "report only: nothing asserted beyond the controls"; exit 0; }
pass "no fragment shape got a SYN/ACK through any tap ruleset (iptables-nft and -legacy in raw, mangle, INPUT, FORWARD; tap-nft add at -300 and -450; tap-nft protect), IPv4 and IPv6; keyed clients connect"
check_dmesg_clean
