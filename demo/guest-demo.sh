#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The story of TAP, told inside the test VM: an attacker, a client and a
# server (with a real sshd and a web page) in their own network namespaces.
. "$(dirname "$(readlink -f "$0")")/../tests/guest/setup.sh"
clientd_prepare

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '   $ %s\n' "$*"; }

topo_start
tap_load_module >/dev/null

say "Server $SERVER4: sshd on port 22 and a web page on port $HTTP_PORT"
start_http server
start_sshd server
k3=$(clientd_key 3)
show "tap-keytool genkey --id 3 -o 3.key; tap-keytool load 3.key"
in_ns server tap-keytool load "$TAP_KEYS/3.key" | sed 's/^/   /'
show "iptables -t raw -A PREROUTING -p tcp --dport 22 --syn -m tap --key-id 3 -j ACCEPT"
show "iptables -t raw -A PREROUTING -p tcp --dport 22 --syn -j DROP    (and the same for port $HTTP_PORT, and ip6tables)"
protect_ports server 3 22 "$HTTP_PORT"

say "Attacker $ATTACKER4 scans the server"
for type in -sS -sT; do
	show "nmap $type -p 22,$HTTP_PORT $SERVER4"
	for port in 22 "$HTTP_PORT"; do
		echo "   port $port: $(scan_port attacker $SERVER4 $type $port)"
	done
done

say "Client $CLIENT4 without tap-clientd"
show "ssh root@$SERVER4 hostname"
if out=$(SSH_TIMEOUT=5 ssh_run client $SERVER4 hostname 2>&1); then
	fail "ssh got through without tap-clientd: $out"
fi
echo "   $out"
show "curl http://$SERVER4:$HTTP_PORT/"
http_get client $SERVER4 5 || echo "   curl: timed out, exactly as for the attacker"

say "Client $CLIENT4 with tap-clientd and the key file"
conf=$CD_DIR/clientd.conf
cat >"$conf" <<CONF
server $SERVER4 port 22,$HTTP_PORT key $k3
server $SERVER6/128 port 22,$HTTP_PORT key $k3
CONF
sed 's/^/   clientd.conf: /' "$conf"
clientd_start client "$conf"
show "ssh root@$SERVER4 'echo hello from \$(hostname -s); uname -r'"
ssh_run client $SERVER4 'echo "hello from the server, kernel $(uname -r)"' | sed 's/^/   /' ||
	fail "ssh through TAP failed"
show "curl http://$SERVER4:$HTTP_PORT/"
http_get client $SERVER4 10 | sed 's/^/   /' || fail "curl through TAP failed"
show "curl http://[$SERVER6]:$HTTP_PORT/"
http_get client $SERVER6 10 | sed 's/^/   /' || fail "curl over IPv6 through TAP failed"
show "nmap -sS -p 22 $SERVER4   (from the client, with the daemon)"
echo "   port 22: $(scan_port client $SERVER4 -sS 22)"
clientd_stop client

say "What the server's counters say (cat /proc/net/xt_tap)"
in_ns server cat /proc/net/xt_tap | awk '
	/^(accepted|retransmit|incomplete|key_not_allowed|unknown_key|stale|bad_mac|replayed|table_full|evicted) / {
		printf "   %-16s %s\n", $1, $2 }'
echo "   accepted: connections let in with a valid token; incomplete: SYNs"
echo "   without one (the attacker's scans and the client without the daemon)."
say "Demo finished"
check_dmesg_clean
