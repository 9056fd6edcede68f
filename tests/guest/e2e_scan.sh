#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A port scan learns nothing: nmap -sS and -sT see the protected port as
# filtered (IPv4 and IPv6); without the rules the same scans see it open.
# The server sends nothing back: no SYN/ACK, no RST, no ICMP.
. "$(dirname "$(readlink -f "$0")")/setup.sh"

topo_start
tap_load_module
in_ns server tap-keytool load "$(tap_genkey 3)" >/dev/null || fail "load key"
start_http server
server_out_counters server

# scan NS ADDR TYPE: the state nmap reports for the port
scan() {
	local six=
	case $2 in *:*) six=-6 ;; esac
	in_ns "$1" nmap $six -Pn -n "$3" -p "$HTTP_PORT" --max-retries 1 \
		--host-timeout 60s "$2" -oG - | sed -n "s|.*Ports: $HTTP_PORT/\([a-z|]*\)/.*|\1|p"
}

for fam in 4 6; do
	[ $fam = 4 ] && { addr=$SERVER4; cmd=iptables; } || { addr=$SERVER6; cmd=ip6tables; }
	for type in -sS -sT; do
		st=$(scan attacker $addr $type)
		[ "$st" = open ] || fail "control: nmap $type IPv$fam without rules says '$st', not open"
		pass "control: nmap $type IPv$fam without rules: open"
	done

	protect server $cmd raw PREROUTING 3
	snapshot server
	before_synack=$(out_count server synack) before_rst=$(out_count server rst)
	before_icmp=$(out_count server icmp)
	for type in -sS -sT; do
		st=$(scan attacker $addr $type)
		[ "$st" = filtered ] || fail "nmap $type IPv$fam with tap says '$st', not filtered"
		pass "nmap $type IPv$fam with tap: filtered"
	done
	[ "$(out_count server synack)" = "$before_synack" ] || fail "server sent a SYN/ACK"
	[ "$(out_count server rst)" = "$before_rst" ] || fail "server sent a RST"
	[ "$(out_count server icmp)" = "$before_icmp" ] || fail "server sent ICMP"
	pass "IPv$fam: the server sent no SYN/ACK, RST or ICMP to the scanner"
	# each scan sent >= 2 SYNs (probe + retry); none was accepted
	expect_stat server incomplete "${SNAP[incomplete]}" +4
	expect_stat server accepted "${SNAP[accepted]}" 0
	pass "IPv$fam: counters: incomplete +$(( $(tap_stat server incomplete) - SNAP[incomplete] )), accepted +0"
	unprotect server
done
check_dmesg_clean
