#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tap-nft among the other nftables tools:
#  - after tap-nft add, nft list ruleset shows the rule and nft -j parses;
#  - tap-nft list decodes the rules of iptables-nft / ip6tables-nft -m tap;
#  - a tap-nft rule in iptables-nft's own table shows in iptables-nft -S as
#    -m tap --key-id ..., and iptables-nft -D deletes it by its spec (so the
#    match data is the plugin's);
#  - tap-nft delete by handle;
#  - error cases: module missing, unknown table / chain, output hook, bad
#    options, no privilege; a failed command leaves the ruleset as it was;
#  - inet tables: the README's "tap-nft add inet filter input ..." example,
#    listed by nft and tap-nft, and accepting tokens over IPv4 and IPv6.
. "$(dirname "$(readlink -f "$0")")/setup.sh"

topo_start
S() { in_ns server "$@"; }
ruleset() { S nft -a list ruleset 2>/dev/null; }

# expect_fail STATUS PATTERN CMD...: CMD exits STATUS, says PATTERN on stderr
# and leaves the ruleset alone
expect_fail() {
	local want=$1 pat=$2 before out rc
	shift 2
	# usage errors (2) never reach the kernel: skip the slow comparison
	[ "$want" = 2 ] || before=$(ruleset)
	out=$("$@" 2>&1 >/dev/null)
	rc=$?
	[ "$rc" = "$want" ] || fail "'$*' exited $rc, not $want: $out"
	grep -qi -- "$pat" <<<"$out" || fail "'$*' did not say '$pat': $out"
	[ "$want" = 2 ] || [ "$(ruleset)" = "$before" ] || fail "'$*' changed the ruleset"
	echo "    $*: $(head -n 1 <<<"$out")"
}

S nft -f - <<'EOF' || fail "base ruleset"
table ip filt {
	chain input { type filter hook input priority 0; policy accept; }
	chain out { type filter hook output priority 0; policy accept; }
	chain sub { }
}
table ip6 filt6 {
	chain guard { type filter hook forward priority 0; policy accept; }
}
table inet both {
	chain input { type filter hook input priority 0; policy accept; }
}
EOF

# ---- before the module is loaded ----
grep -q '^xt_tap ' /proc/modules && fail "xt_tap already loaded"
expect_fail 1 "modprobe xt_tap" S tap-nft add ip filt input --dport 22 --key-id 3 accept
pass "without xt_tap: a clear 'modprobe xt_tap' error, ruleset unchanged"

tap_load_module

# ---- add; nft list; nft -j ----
out=$(S tap-nft add ip filt input --dport 22 --key-id 3 accept) || fail "tap-nft add: $out"
echo "    $out"
h1=$(sed -n 's/.*; handle \([0-9]*\)$/\1/p' <<<"$out")
[ -n "$h1" ] || fail "no handle in: $out"
out=$(S tap-nft add ip6 filt6 guard --dport 1000-2000 --key-id 100-199 --window 60 \
	--no-dst-bind drop) || fail "tap-nft add ip6: $out"
h2=$(sed -n 's/.*; handle \([0-9]*\)$/\1/p' <<<"$out")
out=$(S tap-nft add ip filt sub --dport 443 --key-id 0-65535 --window 3600 accept) ||
	fail "tap-nft add to a regular chain: $out"
h3=$(sed -n 's/.*; handle \([0-9]*\)$/\1/p' <<<"$out")

S nft list ruleset >/tmp/ruleset.txt 2>/tmp/ruleset.err || fail "nft list ruleset"
echo "--- nft list ruleset (stderr: $(tr '\n' ' ' </tmp/ruleset.err))"
cat /tmp/ruleset.txt
# nft 1.0.6 prints xt match tap, later versions xt match "tap"
grep -Eq 'tcp dport 22 tcp flags syn / fin,syn,rst,ack xt match "?tap"? counter packets 0 bytes 0 accept' \
	/tmp/ruleset.txt || fail "nft list ruleset does not show the ip rule"
grep -Eq 'tcp dport 1000-2000 tcp flags syn / fin,syn,rst,ack xt match "?tap"? counter packets 0 bytes 0 drop' \
	/tmp/ruleset.txt || fail "nft list ruleset does not show the ip6 rule"
pass "nft list ruleset shows the rules (xt match tap)"

S nft -j list ruleset >/tmp/ruleset.json || fail "nft -j list ruleset"
python3 - /tmp/ruleset.json "$h1" <<'EOF' || fail "nft -j output"
import json, sys
d = json.load(open(sys.argv[1]))
rules = [o["rule"] for o in d["nftables"] if "rule" in o]
r = [r for r in rules if r["table"] == "filt" and r["chain"] == "input"
     and r["handle"] == int(sys.argv[2])]
assert len(r) == 1, rules
xt = [e["xt"] for e in r[0]["expr"] if "xt" in e]
assert xt and xt[0].get("name") == "tap" and xt[0].get("type") == "match", r[0]
assert any("accept" in e for e in r[0]["expr"]), r[0]
print("    json rule:", json.dumps(r[0]["expr"]))
EOF
pass "nft -j list ruleset parses (json.load) and holds the xt match"

# ---- tap-nft list decodes all of them ----
S tap-nft list >/tmp/list.txt || fail "tap-nft list"
cat /tmp/list.txt
row() { awk -v f="$1" -v t="$2" -v c="$3" -v h="$4" \
	'$1 == f && $2 == t && $3 == c && $4 == h { $1 = $2 = $3 = $4 = ""; print }' /tmp/list.txt |
	xargs; }
[ "$(row ip filt input "$h1")" = "22 3 30 yes accept" ] || fail "list row 1: $(row ip filt input "$h1")"
[ "$(row ip6 filt6 guard "$h2")" = "1000-2000 100-199 60 no drop" ] || fail "list row 2"
[ "$(row ip filt sub "$h3")" = "443 0-65535 3600 yes accept" ] || fail "list row 3"
[ "$(S tap-nft list ip6 | wc -l)" = 2 ] || fail "tap-nft list ip6 should show one rule"
# struct xt_tap_mtinfo as dumped: ids 3-3, window 30, flags 0, and the
# kernel-private state pointer hidden (.usersize) as zeros
info=$(S tap-nft list -v ip filt input | awk -v h="$h1" '$4 == h { print $NF }')
[ "$info" = 030003001e0000000000000000000000 ] || fail "match info as dumped: '$info'"
pass "tap-nft list decodes port, key ids, window, binding and verdict; the match data's kernel tail reads as zeros"

# ---- iptables-nft -m tap, listed by tap-nft ----
S iptables-nft -A INPUT -p tcp --dport 8080 --syn -m tap --key-id 7 --window 90 -j ACCEPT ||
	fail "iptables-nft -m tap"
S ip6tables-nft -t raw -A PREROUTING -p tcp --dport 81:82 --syn -m tap --key-id 5-6 \
	--no-dst-bind -j ACCEPT || fail "ip6tables-nft -m tap"
S tap-nft list >/tmp/list.txt || fail "tap-nft list"
cat /tmp/list.txt
grep -Eq '^ip +filter +INPUT +[0-9]+ +8080 +7 +90 +yes +accept$' /tmp/list.txt ||
	fail "tap-nft list does not decode the iptables-nft rule"
grep -Eq '^ip6 +raw +PREROUTING +[0-9]+ +81-82 +5-6 +30 +no +accept$' /tmp/list.txt ||
	fail "tap-nft list does not decode the ip6tables-nft rule"
pass "tap-nft list decodes iptables-nft and ip6tables-nft -m tap rules"

# ---- tap-nft rule in iptables-nft's own table ----
out=$(S tap-nft add ip filter INPUT --dport 22 --key-id 3-5 --window 45 accept) ||
	fail "tap-nft add ip filter INPUT: $out"
hf=$(sed -n 's/.*; handle \([0-9]*\)$/\1/p' <<<"$out")
S tap-nft add ip filter INPUT --dport 2000-2010 --key-id 9 --no-dst-bind drop >/dev/null ||
	fail "tap-nft add ip filter INPUT (2)"
S iptables-nft -S INPUT >/tmp/ipt.txt 2>&1 || fail "iptables-nft -S: $(cat /tmp/ipt.txt)"
cat /tmp/ipt.txt
grep -q -- '^-A INPUT -p tcp -m tcp --dport 22 --tcp-flags FIN,SYN,RST,ACK SYN -m tap --key-id 3-5 --window 45 -j ACCEPT$' \
	/tmp/ipt.txt || fail "iptables-nft -S does not show the tap-nft rule"
grep -q -- '-m tcp --dport 2000:2010 --tcp-flags FIN,SYN,RST,ACK SYN -m tap --key-id 9 --no-dst-bind -j DROP$' \
	/tmp/ipt.txt || fail "iptables-nft -S does not show the second tap-nft rule"
grep -qi warning /tmp/ipt.txt && fail "iptables-nft warned: $(cat /tmp/ipt.txt)"
pass "iptables-nft -S shows tap-nft's rules as -m tap --key-id ..."
S iptables-nft -D INPUT -p tcp --dport 22 --syn -m tap --key-id 3-5 --window 45 -j ACCEPT ||
	fail "iptables-nft -D could not find the rule tap-nft added"
S tap-nft list ip filter INPUT | awk '{ print $4 }' | grep -qx "$hf" &&
	fail "iptables-nft -D deleted another rule"
pass "iptables-nft -D deletes the tap-nft rule by its spec: same match data as the plugin's"
S iptables-nft-save -t filter >/tmp/save.txt || fail "iptables-nft-save"
S iptables-nft -F INPUT
S iptables-nft-restore -n </tmp/save.txt || fail "iptables-nft-restore"
S tap-nft list ip filter INPUT | grep -Eq ' 2000-2010 +9 +30 +no +drop$' ||
	fail "rule lost in iptables-nft-save/restore"
pass "iptables-nft-save / restore keeps a tap-nft rule"

# ---- delete by handle ----
out=$(S tap-nft delete ip filt input "$h1") || fail "tap-nft delete: $out"
echo "    $out"
S nft -a list chain ip filt input | grep -q "# handle $h1\$" && fail "rule $h1 still there"
S tap-nft list | awk '$2 == "filt" && $3 == "input"' | grep -q . && fail "tap-nft list still shows it"
expect_fail 1 "no rule with handle" S tap-nft delete ip filt input "$h1"
S nft add rule ip filt input tcp dport 25 drop || fail "nft add rule"
hp=$(S nft -a list chain ip filt input | sed -n 's/.*tcp dport 25 drop # handle \([0-9]*\)/\1/p')
expect_fail 1 "no tap match" S tap-nft delete ip filt input "$hp"
pass "tap-nft delete removes a tap rule by handle, refuses others"

# ---- errors ----
expect_fail 1 "no table ip nosuch" S tap-nft add ip nosuch input --dport 22 --key-id 3 accept
expect_fail 1 "no chain nosuch" S tap-nft add ip filt nosuch --dport 22 --key-id 3 accept
expect_fail 1 "hooks output" S tap-nft add ip filt out --dport 22 --key-id 3 accept
expect_fail 1 "no chain nosuch" S tap-nft delete ip filt nosuch 5
expect_fail 2 "--key-id is required" S tap-nft add ip filt input --dport 22 accept
expect_fail 2 "--dport is required" S tap-nft add ip filt input --key-id 3 accept
expect_fail 2 "invalid --dport" S tap-nft add ip filt input --dport 65536 --key-id 3 accept
expect_fail 2 "invalid --key-id" S tap-nft add ip filt input --dport 22 --key-id 9-3 accept
expect_fail 2 "invalid --window" S tap-nft add ip filt input --dport 22 --key-id 3 --window 3601 accept
expect_fail 2 "unknown option" S tap-nft add ip filt input --dport 22 --key-id 3 --bogus accept
expect_fail 2 "verdict" S tap-nft add ip filt input --dport 22 --key-id 3 reject
expect_fail 2 "family" S tap-nft add bridge filt input --dport 22 --key-id 3 accept
expect_fail 2 "invalid handle" S tap-nft delete ip filt input abc
expect_fail 2 "unknown command" S tap-nft frobnicate
expect_fail 2 "invalid --family" S tap-nft protect --dport 22 --key-id 3 --family ip,inet
expect_fail 2 "invalid --hook" S tap-nft protect --dport 22 --key-id 3 --hook output
for c in "" add list delete protect unprotect; do
	S tap-nft $c --help | grep -q '^Usage: tap-nft' || fail "tap-nft $c --help"
done
nobody() { S setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
expect_fail 1 "CAP_NET_ADMIN" nobody tap-nft list
expect_fail 1 "CAP_NET_ADMIN" nobody tap-nft add ip filt input --dport 22 --key-id 3 accept
expect_fail 1 "CAP_NET_ADMIN" nobody tap-nft protect --dport 22 --key-id 3
pass "errors: unknown table/chain, wrong hook, bad options, no privilege; ruleset unchanged"

# ---- inet: nft_compat looks the match up as NFPROTO_INET ----
# the README's example; one rule serves IPv4 and IPv6
out=$(S tap-nft add inet both input --dport 22 --key-id 3 accept) || fail "tap-nft add inet: $out"
echo "    $out"
hi=$(sed -n 's/.*; handle \([0-9]*\)$/\1/p' <<<"$out")
S tap-nft list inet | grep -Eq "^inet +both +input +$hi +22 +3 +30 +yes +accept$" ||
	fail "inet rule not listed: $(S tap-nft list inet)"
S nft list table inet both 2>/dev/null | grep -q 'xt match "\?tap"\? .*accept' ||
	fail "nft list table inet both does not show the xt match: $(S nft list table inet both 2>&1)"
S nft -j list ruleset 2>/dev/null | python3 -c '
import json, sys
rs = json.load(sys.stdin)["nftables"]
xt = [r for r in rs if "rule" in r and r["rule"]["family"] == "inet" and
      any("xt" in e for e in r["rule"]["expr"])]
sys.exit(0 if len(xt) == 1 else 1)' || fail "nft -j list ruleset: no parseable inet xt rule"
pass "tap-nft add inet: listed by tap-nft (decoded) and nft; nft -j parses"

k3=$(tap_genkey 3)
S tap-keytool load "$k3" >/dev/null || fail "load key 3"
for addr in "$SERVER4" "$SERVER6"; do
	snapshot server
	HTTP_PORT=22 auth_and_syn client "$k3" "$addr" "$(rand32)" "$(rand_port)"
	expect_stat server accepted "${SNAP[accepted]}" 1
	expect_stat server incomplete "${SNAP[incomplete]}" 4
done
pkts=$(S nft -a list chain inet both input 2>/dev/null |
	sed -n "s/.*counter packets \([0-9]*\) .*handle $hi\$/\1/p")
[ "$pkts" = 2 ] || fail "the inet rule's counter says $pkts, expected 2 (one real SYN per family)"
pass "inet rule: a token + real SYN is accepted over IPv4 and over IPv6 (rule counter 2)"

out=$(S tap-nft delete inet both input "$hi") || fail "tap-nft delete inet: $out"
[ "$(S tap-nft list inet | wc -l)" = 1 ] || fail "inet rule still listed: $(S tap-nft list inet)"
pass "tap-nft delete removes the inet rule"

check_dmesg_clean
pass "nft_interop"
