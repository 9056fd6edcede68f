#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Two clients behind one MASQUERADE router authenticate at the same time:
# their auth SYNs interleave and reach the server from the same (router)
# address, and both real SYNs are let in. Repeated several times.
# (tests/guest/client_nat.sh does the same with tap-clientd and real
# connections.)
. "$(dirname "$(readlink -f "$0")")/setup.sh"

topo_start
tap_load_module
k3=$(tap_genkey 3)
in_ns server tap-keytool load "$k3" >/dev/null || fail "load key"
start_http server
server_out_counters server
rounds=5

for fam in 4 6; do
	[ $fam = 4 ] && { addr=$SERVER4; cmd=iptables; } || { addr=$SERVER6; cmd=ip6tables; }
	protect server $cmd raw PREROUTING 3
	snapshot server
	synack=$(out_count server synack)
	for ((r = 1; r <= rounds; r++)); do
		isn1=$(rand32) isn2=$(rand32) p1=$(rand_port) p2=$(rand_port)
		t=$(date +%s)	# nat1's two halves must be one token
		# pieces interleaved: nat1 0,1 / nat2 all / nat1 2,3, then both SYNs
		in_ns nat1 tap-send auth -q --key "$k3" --dst "$addr" --dport "$HTTP_PORT" \
			--isn "$isn1" --time "$t" --skip 2 --skip 3 || fail "auth nat1"
		in_ns nat2 tap-send auth -q --key "$k3" --dst "$addr" --dport "$HTTP_PORT" \
			--isn "$isn2" --order 3,1,0,2 || fail "auth nat2"
		in_ns nat1 tap-send auth -q --key "$k3" --dst "$addr" --dport "$HTTP_PORT" \
			--isn "$isn1" --time "$t" --skip 0 --skip 1 || fail "auth nat1"
		in_ns nat2 tap-send syn -q --dst "$addr" --dport "$HTTP_PORT" --isn "$isn2" \
			--sport "$p2" || fail "syn nat2"
		in_ns nat1 tap-send syn -q --dst "$addr" --dport "$HTTP_PORT" --isn "$isn1" \
			--sport "$p1" || fail "syn nat1"
		sleep 0.3
	done
	expect_stat server accepted "${SNAP[accepted]}" $((2 * rounds))
	[ "$(out_count server synack)" = $((synack + 2 * rounds)) ] ||
		fail "IPv$fam: expected $((2 * rounds)) SYN/ACKs, got $(( $(out_count server synack) - synack ))"
	pass "IPv$fam: $rounds rounds of two clients behind one NAT at once: $((2 * rounds)) accepted"
	unprotect server
	server_out_counters server
done

# One real connection from behind the NAT, with the OS's own SYN.
protect server iptables raw PREROUTING 3
out=$(in_ns nat1 tap-send connect -q --key "$k3" --dst "$SERVER4" --dport "$HTTP_PORT" \
	--timeout 10 --send $'GET / HTTP/1.0\r\n\r\n') || fail "connect from nat1: $out"
grep -q tap-protected-page <<<"$out" || fail "no page through the NAT"
pass "a real connection from behind the NAT completes"
check_dmesg_clean
