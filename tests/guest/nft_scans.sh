#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The paper's anti-scan rules: all eight nmap scan types (-sS -sT -sA -sF -sN
# -sX -sM -sW), from the attacker, against port 22 (a real service listens,
# TAP protects it) and against control port 2222 (nothing listens, a plain
# rule drops everything). Every scan must report the same state for both
# ports: the attacker learns nothing about the service. Done with
# "tap-nft protect" (inet table, and ip + ip6 tables) and with
# nft/protect-iptables.rules loaded by
# iptables-restore -n / ip6tables-restore -n, over IPv4 and IPv6; then once
# without protection, to show what the scans would otherwise learn.
. "$(dirname "$(readlink -f "$0")")/setup.sh"

topo_start
S() { in_ns server "$@"; }
tap_load_module
S tap-keytool load "$(tap_genkey 3)" >/dev/null || fail "load key"
PORT=22 CTRL=2222
SCANS="-sS -sT -sA -sF -sN -sX -sM -sW"
RULES=$TAP_REPO/nft/protect-iptables.rules

# a real service on port 22, IPv4 and IPv6
mkdir -p /tmp/www22 && echo ssh-stand-in >/tmp/www22/index.html
S python3 -m http.server --bind :: --directory /tmp/www22 $PORT >/dev/null 2>&1 &
wait_for_port server $PORT
# the control port: nothing listens, a plain rule drops everything
S nft add table inet control &&
S nft add chain inet control input '{ type filter hook input priority filter; }' &&
S nft add rule inet control input tcp dport $CTRL drop || fail "control rule"

# port_state OUTPUT PORT: the state in nmap's grepable output
port_state() {
	local s
	s=$(grep -o "[ ,]$2/[^/]*/" <<<"$1" | head -n 1 | cut -d/ -f2)
	[ -n "$s" ] || s=$(sed -n 's/.*Ignored State: \([^ ]*\) .*/\1/p' <<<"$1" | head -n 1)
	echo "${s:-none}"
}

declare -A RES
# run_scans LABEL ADDR: every scan type against both ports; RES[LABEL,scan]
run_scans() {
	local label=$1 addr=$2 six= type out a b t0
	case $addr in *:*) six=-6 ;; esac
	for type in $SCANS; do
		t0=$SECONDS
		out=$(in_ns attacker nmap $six -n -Pn $type -p $PORT,$CTRL -T4 --max-retries 1 \
			--host-timeout 60s "$addr" -oG - 2>&1) || fail "nmap $type: $out"
		a=$(port_state "$out" $PORT) b=$(port_state "$out" $CTRL)
		RES[$label,$type]="$a / $b"
		echo "    $label nmap $type: $PORT $a, $CTRL $b ($((SECONDS - t0)) s)"
	done
}

# same_answers LABEL: each scan reported the same for both ports
same_answers() {
	local type a b
	for type in $SCANS; do
		a=${RES[$1,$type]% / *} b=${RES[$1,$type]#* / }
		[ "$a" != none ] && [ "$a" = "$b" ] ||
			fail "$1: nmap $type tells the ports apart: $PORT $a, $CTRL $b"
	done
	pass "$1: all eight scans report the same for port $PORT and control port $CTRL"
}

# ---- tap-nft protect: the default inet table, then ip + ip6 tables ----
for fam in inet ip,ip6; do
	S tap-nft protect --dport $PORT --key-id 3 --family $fam || fail "tap-nft protect --family $fam"
	l4="tap-nft ${fam%,*} v4" l6="tap-nft ${fam#*,} v6"
	run_scans "$l4" $SERVER4
	same_answers "$l4"
	run_scans "$l6" $SERVER6
	same_answers "$l6"
	S nft list ruleset 2>/dev/null | grep -E 'counter packets [1-9].*(comment|$)' |
		sed 's/^[[:space:]]*/    hit: /'
	S tap-nft unprotect >/dev/null || fail "tap-nft unprotect"
done

# ---- the README's iptables-restore file ----
S iptables-restore -n <"$RULES" || fail "iptables-restore -n $RULES"
S ip6tables-restore -n <"$RULES" || fail "ip6tables-restore -n $RULES"
S iptables -t raw -S PREROUTING | grep -q -- '-m tap --key-id 3 --drop-invalid -j ACCEPT' ||
	fail "the tap rule is not loaded"
run_scans "iptables v4" $SERVER4
same_answers "iptables v4"
run_scans "ip6tables v6" $SERVER6
same_answers "ip6tables v6"
for cmd in iptables ip6tables; do
	sed 's/^-A /-D /' "$RULES" | S $cmd-restore -n || fail "removing with $cmd-restore"
	S $cmd -t raw -S PREROUTING | grep -q -- '-m tap' && fail "$cmd: tap rule left"
	S $cmd -t mangle -S PREROUTING | grep -q -- 'conntrack' && fail "$cmd: anti-scan rule left"
done
pass "the iptables-restore file loads with -n and is removed with its -D form"

# ---- no protection, for comparison (after the rest: its scans create
# ---- conntrack entries on the server)
run_scans "no protection v4" $SERVER4
[ "${RES[no protection v4,-sS]}" = "open / filtered" ] ||
	fail "without protection nmap -sS says ${RES[no protection v4,-sS]}"

echo
echo "nmap results, port $PORT (service, protected) / port $CTRL (closed, plain drop):"
labels=("no protection v4" "tap-nft inet v4" "tap-nft inet v6" "tap-nft ip v4" "tap-nft ip6 v6"
	"iptables v4" "ip6tables v6")
printf '%-5s' scan
for l in "${labels[@]}"; do printf ' | %-29s' "$l"; done
echo
for type in $SCANS; do
	printf '%-5s' "$type"
	for l in "${labels[@]}"; do printf ' | %-29s' "${RES[$l,$type]}"; done
	echo
done
echo
differ=0
for type in $SCANS; do
	[ "${RES[no protection v4,$type]% / *}" = "${RES[no protection v4,$type]#* / }" ] ||
		differ=$((differ + 1))
done
pass "without protection $differ of the 8 scans tell the ports apart; with tap-nft protect or the iptables file none does"
check_dmesg_clean
pass "nft_scans"
