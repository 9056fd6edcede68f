#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tap-nft apply and /etc/tap/protect.conf (here /tmp/protect.conf), in the
# server's netns, against a real service (python3 http.server):
#  1. fail closed: without the xt_tap module (none installed in the guest;
#     any copy under /lib/modules is hidden first), and then with an empty
#     or missing key directory, apply exits 3, says FAIL-CLOSED and installs
#     a plain drop without the tap match: nmap from the attacker sees the
#     port filtered and the keyed client cannot connect either; so does
#     the iptables path's base file (5.) when its tap file cannot load;
#  2. apply twice gives the identical ruleset (handles too); a changed port
#     changes exactly the port; two ports in one file are both protected,
#     and both dropped when failing closed; bad files fail with status 2,
#     ruleset unchanged; --check changes nothing;
#  3. "nft -f" of a file that begins with "flush ruleset" removes the
#     protection (the port is open), "tap-nft apply" puts it back: filtered
#     to nmap, the keyed client connects;
#  4. --hold: on 6.9 and later the held table survives "nft flush ruleset",
#     a plain apply leaves it alone, SIGHUP re-applies, and it stays after
#     the holder ends; on older kernels --hold applies and says it cannot hold;
#  5. the iptables path (nft/iptables-base.rules, then iptables-tap.rules),
#     for iptables and ip6tables: without the module the tap file loads
#     nothing, with the legacy and the nft restore, and the base keeps the
#     port dropped; with the module the two files protect the port.
. "$(dirname "$(readlink -f "$0")")/setup.sh"

topo_start
S() { in_ns server "$@"; }
CONF=/tmp/protect.conf
KEYDIR=/tmp/protect-keys
mkdir -p "$KEYDIR" /tmp/empty-keys && chmod 700 "$KEYDIR"
k3=$(tap-keytool genkey --id 3 -o "$KEYDIR/3.key" >/dev/null && echo "$KEYDIR/3.key") ||
	fail "genkey"
start_http server

# conf [EXTRA LINES...]: the configuration, port $HTTP_PORT, key id 3
conf() {
	{
		echo "# protect_apply.sh"
		echo "port ${PORT:-$HTTP_PORT}   # the web server"
		echo "key-id 3"
		echo "key-dir ${KEYS:-$KEYDIR}"
		printf '%s\n' "$@"
	} > "$CONF"
	chmod 644 "$CONF"
}
ruleset() { S nft -a -s list ruleset 2>/dev/null; }
# scan: what nmap -sS from the attacker sees of the port, IPv4
scan() { scan_port attacker "$SERVER4" -sS "$HTTP_PORT"; }
# keyed ADDR: a real connection with a token and an HTTP exchange
keyed() {
	in_ns client tap-send connect --key "$k3" --dst "$1" --dport "${KPORT:-$HTTP_PORT}" \
		--timeout "${2:-10}" --send $'GET /index.html HTTP/1.0\r\n\r\n' 2>&1
}
# protected WHAT: filtered to nmap, the keyed client connects (v4 and v6)
protected() {
	local st out a
	st=$(scan) && [ "$st" = filtered ] || fail "$1: nmap -sS says '$st', not filtered"
	for a in "$SERVER4" "$SERVER6"; do
		out=$(keyed "$a") || fail "$1: keyed client to $a failed: $out"
		grep -q tap-protected-page <<<"$out" || fail "$1: no page from $a: $out"
	done
	http_get client "$SERVER4" 3 >/dev/null && fail "$1: curl without a token got through"
	pass "$1: nmap -sS filtered, the keyed client connects (IPv4, IPv6), curl without a token does not"
}
# dropped_closed_ipt WHAT: filtered, no connection even with a key
dropped_closed_ipt() {
	local st out
	st=$(scan_port attacker "$2" -sS "$HTTP_PORT") && [ "$st" = filtered ] ||
		fail "$1: nmap -sS says '$st', not filtered"
	out=$(keyed "$2" 3) && fail "$1: the keyed client connected: $out"
	pass "$1: nmap -sS filtered, the keyed client cannot connect"
}
# dropped_closed WHAT: filtered, and no connection even with a key
dropped_closed() {
	local st out
	st=$(scan) && [ "$st" = filtered ] || fail "$1: nmap -sS says '$st', not filtered"
	out=$(keyed "$SERVER4" 3) && fail "$1: the keyed client connected: $out"
	S nft list ruleset 2>/dev/null | grep -q 'xt match' && fail "$1: a tap match is in the ruleset"
	S nft list chain inet tap syn | grep -q 'FAIL-CLOSED' || fail "$1: no fail-closed rule"
	pass "$1: nmap -sS filtered, the keyed client cannot connect, no tap match in the ruleset"
}
# apply_expect STATUS WHAT [ARGS]: tap-nft apply -c $CONF ARGS exits STATUS
apply_expect() {
	local want=$1 what=$2 rc=0
	shift 2
	OUT=$(S tap-nft apply -c "$CONF" "$@" 2>&1) || rc=$?
	echo "$OUT" | sed 's/^/    /'
	[ "$rc" = "$want" ] || fail "$what: tap-nft apply exited $rc, not $want"
}

# ---- 1. fail closed ----
while read -r ko; do
	mv "$ko" "$ko.hidden" || fail "hiding $ko"
done < <(find /lib/modules/"$(uname -r)" -name 'xt_tap.ko*' 2>/dev/null)
modprobe -n xt_tap 2>/dev/null && fail "modprobe still finds an xt_tap module"
[ -e /sys/module/xt_tap ] && fail "xt_tap is loaded already"
[ "$(scan)" = open ] || fail "before apply the port is not open"

# ipt_file NAME: nft/NAME for $HTTP_PORT instead of 22
ipt_file() { sed "s/--dport 22 /--dport $HTTP_PORT /" "$TAP_REPO/nft/$1"; }
# ipt_load CMD: both files with CMD-restore -n (CMD: ip[6]tables-legacy or
# -nft, as tap-iptables.service runs both); 0 if the tap file loaded
ipt_load() {
	ipt_file iptables-base.rules | S "$1-restore" -n || fail "$1: base file"
	ipt_file iptables-tap.rules | S "$1-restore" -n
}
ipt_flush() { S "$1" -t raw -F && S "$1" -t mangle -F; }
for fam in 4 6; do
	addr=$SERVER4 ipt=iptables
	[ $fam = 4 ] || addr=$SERVER6 ipt=ip6tables
	for v in legacy nft; do
		ipt_load $ipt-$v 2>&1 && fail "$ipt-$v-restore loaded the tap file without the module"
		rules=$(S "$ipt-$v" -t raw -S PREROUTING)
		echo "$rules" | sed 's/^/    /'
		grep -q -- '-m tap' <<<"$rules" && fail "$ipt-$v: a tap rule got in"
		grep -q -- "--dport $HTTP_PORT .*-j DROP" <<<"$rules" ||
			fail "$ipt-$v: the base drop is missing"
		dropped_closed_ipt "$ipt-$v-restore, no module: the tap file fails, the base drops the port" \
			"$addr"
		ipt_flush $ipt-$v
	done
done
conf
apply_expect 3 "module missing"
grep -q 'FAIL-CLOSED: the xt_tap module cannot be loaded' <<<"$OUT" || fail "no FAIL-CLOSED message"
dropped_closed "module missing: apply exits 3, FAIL-CLOSED"

tap_load_module
S tap-keytool load "$k3" >/dev/null || fail "load key"
apply_expect 0 "module and keys there"
protected "module loaded: apply replaces the fail-closed drop by the tap match"

for KEYS in /tmp/empty-keys /tmp/no-such-dir; do
	conf
	apply_expect 3 "key dir $KEYS"
	grep -q "FAIL-CLOSED: the key directory $KEYS" <<<"$OUT" || fail "no FAIL-CLOSED message"
	dropped_closed "key directory $KEYS (empty or unreadable): apply exits 3"
done
unset KEYS

# ---- 2. idempotent, exact changes, bad files ----
conf
apply_expect 0 "first apply"
r1=$(ruleset)
apply_expect 0 "second apply"
grep -q "nothing changed" <<<"$OUT" || fail "second apply did something"
[ "$(ruleset)" = "$r1" ] || { diff <(echo "$r1") <(ruleset); fail "second apply changed the ruleset"; }
pass "apply twice: the second changes nothing (nft -a list ruleset identical, handles too)"

before=$(S nft -s list ruleset 2>/dev/null)
PORT=8080 conf
apply_expect 0 "port 8080"
after=$(S nft -s list ruleset 2>/dev/null)
[ "$after" != "$before" ] || fail "port 8080: the ruleset did not change"
[ "$(sed "s/dport $HTTP_PORT /dport 8080 /" <<<"$before")" = "$after" ] || {
	diff <(echo "$before") <(echo "$after")
	fail "port 8080: more than the port changed"
}
[ "$(grep -c 'dport 8080 ' <<<"$after")" = 3 ] || fail "port 8080: not in the 3 rules"
pass "port $HTTP_PORT -> 8080 in protect.conf: apply changes exactly the port of the 3 rules"
conf
apply_expect 0 "back to port $HTTP_PORT"
[ "$(S nft -s list ruleset 2>/dev/null)" = "$before" ] || fail "back to $HTTP_PORT: ruleset differs"

# several ports: three rules each, every port protected, and failing closed
# drops them all
ip netns exec server python3 -m http.server --bind :: --directory /tmp/www 8443 \
	>/dev/null 2>&1 &
wait_for_port server 8443
PORT=$HTTP_PORT,8443 conf
apply_expect 0 "ports $HTTP_PORT,8443"
after=$(S nft -s list ruleset 2>/dev/null)
[ "$(grep -c "dport $HTTP_PORT " <<<"$after")" = 3 ] && [ "$(grep -c 'dport 8443 ' <<<"$after")" = 3 ] ||
	{ echo "$after"; fail "ports $HTTP_PORT,8443: not 3 rules each"; }
for port in "$HTTP_PORT" 8443; do
	for a in "$SERVER4" "$SERVER6"; do
		st=$(scan_port attacker "$a" -sS "$port") && [ "$st" = filtered ] ||
			fail "ports $HTTP_PORT,8443: nmap -sS $a port $port says '$st'"
		out=$(KPORT=$port keyed "$a") && grep -q tap-protected-page <<<"$out" ||
			fail "ports $HTTP_PORT,8443: keyed client to $a port $port failed: $out"
	done
done
http_get client "$SERVER4" 3 >/dev/null && fail "ports $HTTP_PORT,8443: curl without a token got through"
pass "port $HTTP_PORT,8443 in protect.conf: 3 rules per port; both filtered to nmap, the keyed client connects to both (IPv4, IPv6)"
KEYS=/tmp/empty-keys PORT=$HTTP_PORT,8443 conf
apply_expect 3 "ports $HTTP_PORT,8443, no keys"
grep -q "TCP ports $HTTP_PORT, 8443 are DROPPED" <<<"$OUT" || fail "FAIL-CLOSED does not name both ports"
for port in "$HTTP_PORT" 8443; do
	st=$(scan_port attacker "$SERVER4" -sS "$port") && [ "$st" = filtered ] ||
		fail "ports $HTTP_PORT,8443 failing closed: nmap -sS port $port says '$st'"
	out=$(KPORT=$port keyed "$SERVER4" 3) && fail "failing closed: the keyed client got in on $port: $out"
done
pass "ports $HTTP_PORT,8443 failing closed: apply exits 3, names both ports, both dropped for everyone"
conf
apply_expect 0 "back to port $HTTP_PORT"
[ "$(S nft -s list ruleset 2>/dev/null)" = "$before" ] || fail "back to $HTTP_PORT: ruleset differs"

r1=$(ruleset)
bad=(
	"window 0"
	"window 30 60"
	"key-id 3"
	"hook output"
	"family ip,ip"
	"bogus 1"
	"src-bind yes"
	"key-dir relative/dir"
)
for line in "${bad[@]}"; do
	conf "$line"
	apply_expect 2 "bad line '$line'"
	grep -q "$CONF:[0-9]*: " <<<"$OUT" || fail "bad line '$line': no FILE:LINE in the error"
	grep -q "nothing was changed" <<<"$OUT" || fail "bad line '$line': no 'nothing was changed'"
	[ "$(ruleset)" = "$r1" ] || fail "bad line '$line' changed the ruleset"
done
printf 'key-id 3\n' > "$CONF"
apply_expect 2 "no port line"
conf
chmod 666 "$CONF"
apply_expect 2 "world-writable file"
rm -f "$CONF"
apply_expect 2 "missing file"
[ "$(ruleset)" = "$r1" ] || fail "a bad file changed the ruleset"
pass "${#bad[@]} bad lines, a missing port, a world-writable and a missing file: status 2, ruleset unchanged"
PORT=8080 conf
apply_expect 0 "--check" --check
[ "$(ruleset)" = "$r1" ] || fail "--check changed the ruleset"
conf
pass "apply --check: OK, ruleset unchanged"

# ---- 3. flush ruleset, as nftables.service's /etc/nftables.conf ----
# a saved ruleset with the tap table is no nftables.conf: nft refuses it whole
S nft list ruleset > /tmp/saved.nft 2>/dev/null
out=$(S nft -c -f /tmp/saved.nft 2>&1) && fail "nft -c -f accepted the saved ruleset"
echo "$out" | head -n 3 | sed 's/^/    /'
grep -q 'Error: .*' <<<"$out" && grep -q 'xt match' <<<"$out" ||
	fail "nft -c -f refused the saved ruleset for another reason: $out"
pass "nft list ruleset > file: nft -f refuses the whole file at the xt match"
cat > /tmp/nftables.conf <<'EOF'
#!/usr/sbin/nft -f
flush ruleset
table inet filter {
	chain input {
		type filter hook input priority filter; policy accept;
	}
}
EOF
S nft -f /tmp/nftables.conf || fail "nft -f nftables.conf"
S nft list tables | grep -q ' tap$' && fail "the flush left table tap"
st=$(scan)
[ "$st" = open ] || fail "after flush ruleset nmap says '$st', not open"
pass "nft -f of a file beginning with flush ruleset: table tap gone, the port open"
apply_expect 0 "apply after the flush"
protected "tap-nft apply after the flush"

# ---- 4. --hold ----
IFS=. read -r maj min _ <<<"$(uname -r)"
if [ "$maj" -gt 6 ] || { [ "$maj" = 6 ] && [ "$min" -ge 9 ]; }; then
	out=$(S tap-nft apply -c "$CONF" --hold 2>/tmp/hold.err) || fail "apply --hold: $out $(cat /tmp/hold.err)"
	echo "    $out"
	holder=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' <<<"$out")
	[ -n "$holder" ] && kill -0 "$holder" || fail "no holder process"
	S nft list table inet tap 2>/dev/null | head -n 3
	S nft flush ruleset
	S nft -f /tmp/nftables.conf || fail "nft -f nftables.conf"
	S nft list tables | grep -q 'inet tap$' || fail "nft flush ruleset removed the held table"
	protected "--hold: the held table survives nft flush ruleset and nft -f nftables.conf"
	r1=$(ruleset)
	apply_expect 0 "plain apply while held"
	grep -q "held by tap-nft apply --hold" <<<"$OUT" || fail "plain apply: not 'held'"
	PORT=8080 conf
	apply_expect 1 "changed apply while held"
	grep -q "held by another process" <<<"$OUT" || fail "changed apply: no 'held'"
	[ "$(ruleset)" = "$r1" ] || fail "changed apply while held changed the ruleset"
	pass "while held: apply with the same file changes nothing, with another fails (1), ruleset unchanged"
	kill -HUP "$holder"
	for _ in $(seq 50); do S nft list chain inet tap syn | grep -q 'dport 8080' && break; sleep 0.2; done
	S nft list chain inet tap syn | grep -q 'dport 8080' || fail "SIGHUP did not re-apply"
	conf
	kill -HUP "$holder"
	for _ in $(seq 50); do S nft list chain inet tap syn | grep -q "dport $HTTP_PORT " && break; sleep 0.2; done
	pass "SIGHUP: the holder applies the changed file, still owning the table"
	kill "$holder"
	for _ in $(seq 50); do kill -0 "$holder" 2>/dev/null || break; sleep 0.2; done
	kill -0 "$holder" 2>/dev/null && fail "holder did not exit"
	cat /tmp/hold.err
	S nft list tables | grep -q 'inet tap$' || fail "the table went with the holder"
	protected "holder ended: the table stays (persist)"
	S nft flush ruleset
	S nft list tables | grep -q ' tap$' && fail "the orphaned table survived a flush"
	pass "orphaned, the table goes with the next flush, as documented"
else
	apply_expect 0 "--hold on $(uname -r)" --hold
	grep -q "no NFT_TABLE_F_PERSIST" <<<"$OUT" || fail "--hold: no explanation"
	S nft flush ruleset
	S nft list tables | grep -q ' tap$' && fail "the flush left table tap"
	pass "--hold on $(uname -r): applied without holding, says why; a flush removes it"
fi

# ---- 5. the iptables path with the module ----
S nft list tables | grep -q ' tap$' && fail "table tap still there"
for fam in 4 6; do
	addr=$SERVER4 ipt=iptables
	[ $fam = 4 ] || addr=$SERVER6 ipt=ip6tables
	ipt_load $ipt-legacy || fail "$ipt-legacy-restore of the tap file failed with the module"
	S $ipt-legacy -t raw -S PREROUTING | head -n 3 | sed 's/^/    /'
	S $ipt-legacy -t raw -S PREROUTING | sed -n 2p | grep -q -- '-m tap' ||
		fail "$ipt: the tap rule is not first in raw PREROUTING"
	st=$(scan_port attacker "$addr" -sS "$HTTP_PORT") && [ "$st" = filtered ] ||
		fail "$ipt path: nmap -sS says '$st'"
	out=$(keyed "$addr") || fail "$ipt path: keyed client failed: $out"
	pass "$ipt: iptables-base.rules then iptables-tap.rules, module loaded: tap rule first, filtered, the keyed client connects"
	ipt_flush $ipt-legacy
done
check_dmesg_clean
pass "protect_apply"
