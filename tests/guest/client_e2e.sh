#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tap-clientd lets unmodified applications through TAP (the paper's section
# 4.2). A real sshd and an HTTP server on the server, protected by
# xt_tap. From the attacker, nmap -sS and -sT say filtered; from the client
# without tap-clientd, ssh and curl time out; with tap-clientd running, nmap
# says open, ssh (key auth, BatchMode) runs a command and curl fetches the
# page; IPv4 and IPv6. A capture on the server shows auth SYNs that look
# exactly like the real SYN. Stopping the daemon leaves no rules and the
# client can no longer connect; starting it again, it can. Started as root,
# by hand or with the privileges its systemd unit gives it, the daemon runs
# as its own user with only CAP_NET_ADMIN and CAP_NET_RAW.
. "$(dirname "$(readlink -f "$0")")/setup.sh"
clientd_prepare

topo_start
tap_load_module
# the key and the config where userspace-client/README.md puts them
k3=/etc/tap/clientd/office.key
install -d -m 750 -g "$CD_USER" /etc/tap/clientd &&
	install -o "$CD_USER" -g "$CD_USER" -m 600 "$(tap_genkey 3)" "$k3" ||
	fail "installing the key as the README says"
in_ns server tap-keytool load "$TAP_KEYS/3.key" >/dev/null || fail "load key"
start_http server
start_sshd server
protect_ports server 3 22 "$HTTP_PORT"
server_out_counters server

conf=/etc/tap/clientd.conf
cat >"$conf" <<EOF
# the server's two services, IPv4 and IPv6, one key
server $SERVER4 port 22,$HTTP_PORT key $k3
server $SERVER6/128 port 22,$HTTP_PORT key $k3
EOF
tap-clientd -c "$conf" --check-config || fail "--check-config on a good config"

# works ADDR WHAT: ssh runs a command on the server, curl gets the page
works() {
	local out
	out=$(ssh_run client "$1" 'echo ssh-ok; ip -br addr show dev eth0') ||
		fail "$2: ssh to $1 failed"
	grep -q ssh-ok <<<"$out" && grep -qF "$1" <<<"$out" ||
		fail "$2: ssh ran somewhere else: $out"
	out=$(in_ns client curl -s -m 20 "$(url_of "$1")") || fail "$2: curl $1 failed"
	[ "$out" = tap-protected-page ] || fail "$2: curl got '$out'"
	pass "$2: ssh runs a command on $1 and curl fetches the page"
}

# blocked ADDR WHAT: ssh and curl time out; the server sends nothing back
blocked() {
	local synack
	synack=$(out_count server synack)
	SSH_TIMEOUT=4 ssh_run client "$1" true 2>/dev/null && fail "$2: ssh to $1 got through"
	in_ns client curl -s -m 4 "$(url_of "$1")" >/dev/null && fail "$2: curl $1 got through"
	[ "$(out_count server synack)" = "$synack" ] || fail "$2: the server answered a SYN"
	pass "$2: ssh and curl to $1 time out, the server sent no SYN/ACK"
}

for addr in $SERVER4 $SERVER6; do
	for type in -sS -sT; do
		st=$(scan_port attacker "$addr" $type 22)
		[ "$st" = filtered ] || fail "attacker: nmap $type $addr port 22 says '$st'"
	done
	pass "attacker: nmap -sS and -sT see port 22 (sshd) of $addr filtered"
	blocked "$addr" "client without tap-clientd"
done

snapshot server
clientd_start client "$conf" -v
clientd_check_privs "${CD_PID[client]}" "tap-clientd started by hand as root"
in_ns client nft list table inet tap_clientd | sed 's/^/    /'

for addr in $SERVER4 $SERVER6; do
	for type in -sS -sT; do
		st=$(scan_port client "$addr" $type 22)
		[ "$st" = open ] || fail "client with tap-clientd: nmap $type $addr port 22 says '$st'"
	done
	pass "client with tap-clientd: nmap -sS and -sT see port 22 of $addr open"
	works "$addr" "client with tap-clientd"
done
expect_stat server accepted "${SNAP[accepted]}" +8
pass "server counters: accepted +$(( $(tap_stat server accepted) - SNAP[accepted] )), incomplete +$(( $(tap_stat server incomplete) - SNAP[incomplete] ))"

# the auth SYNs of one connection look exactly like its real SYN to the server
for addr in $SERVER4 $SERVER6; do
	case $addr in *:*) c=$CLIENT6 fam=6 ;; *) c=$CLIENT4 fam=4 ;; esac
	capture_start server "$CD_DIR/syn$fam.pcap" "tcp dst port $HTTP_PORT and src host $c"
	in_ns client curl -s -m 20 "$(url_of "$addr")" >/dev/null || fail "curl $addr"
	capture_stop
	check_auth_syns "$CD_DIR/syn$fam.pcap" "server capture, IPv$fam"
done

# stop, and the client is locked out again; start, and it is not
clientd_stop client
pass "tap-clientd stopped (SIGTERM): exit 0, no interception rules left"
for addr in $SERVER4 $SERVER6; do
	blocked "$addr" "client after tap-clientd stopped"
done
# again, as systemd starts it: root, the unit's bounding set, no_new_privs
unit=$TAP_REPO/userspace-client/tap-clientd.service
bset=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit" | tr 'A-Z ' 'a-z\n' | sed 's/^cap_/+/' | paste -sd,)
[ -n "$bset" ] && grep -q '^NoNewPrivileges=yes' "$unit" || fail "unit: $bset"
CD_WRAP="setpriv --bounding-set -all,$bset --no-new-privs" clientd_start client "$conf" -v
clientd_check_privs "${CD_PID[client]}" "tap-clientd started with the unit's bounding set ($bset)"
for addr in $SERVER4 $SERVER6; do
	works "$addr" "client with tap-clientd started again"
done

# A crash (SIGKILL) leaves no rules either (the table is owned by the
# daemon's socket), and the next start works
kill -KILL "${CD_PID[client]}"; wait "${CD_PID[client]}" 2>/dev/null
sleep 0.5
no_rules_left client
pass "tap-clientd killed (SIGKILL): no interception rules left"
clientd_start client "$conf"
works "$SERVER4" "client after a crash and a restart"
clientd_stop client INT
pass "SIGINT: exit 0, no rules left"

grep -q "token sent" "$CD_DIR/client.log" || fail "the daemon logged no token"
check_dmesg_clean
