#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Keys are per network namespace, and deleting a key takes effect for the
# very next SYN, retransmissions included.
. "$(dirname "$(readlink -f "$0")")/setup.sh"

topo_start
tap_load_module
k3=$(tap_genkey 3)
start_http server
server_out_counters server
addr=$SERVER4
protect server iptables raw PREROUTING 3

# Loaded in the client's and the router's namespaces, not the server's.
in_ns client tap-keytool load "$k3" >/dev/null || fail "load key in client ns"
in_ns router tap-keytool load "$k3" >/dev/null || fail "load key in router ns"
in_ns server tap-keytool list | grep -qw 3 && fail "key 3 visible in the server ns"
snapshot server
synack=$(out_count server synack)
auth_and_syn client "$k3" "$addr" "$(rand32)" "$(rand_port)"
[ "$(out_count server synack)" = "$synack" ] || fail "a key of another netns authorized a SYN"
# no key was ever loaded here, so this netns has no realm either: the
# pieces do not even decode (4 auth SYNs and the SYN: incomplete +5)
expect_stat server incomplete "${SNAP[incomplete]}" 5
expect_stat server accepted "${SNAP[accepted]}" 0
pass "a key loaded in other namespaces authorizes nothing here (incomplete +5)"

in_ns server tap-keytool load "$k3" >/dev/null || fail "load key in server ns"
isn=$(rand32) sport=$(rand_port)
snapshot server
auth_and_syn client "$k3" "$addr" "$isn" "$sport"
expect_stat server accepted "${SNAP[accepted]}" 1
[ "$(out_count server synack)" = $((synack + 1)) ] || fail "no SYN/ACK after loading the key"
pass "the same token passes once the key is loaded here"

in_ns server tap-keytool del 3 >/dev/null || fail "del 3"
snapshot server
in_ns client tap-send syn --dst "$addr" --dport "$HTTP_PORT" --isn "$isn" --sport "$sport"
auth_and_syn client "$k3" "$addr" "$(rand32)" "$(rand_port)"
[ "$(out_count server synack)" = $((synack + 1)) ] || fail "a SYN passed after the key was deleted"
expect_stat server retransmit "${SNAP[retransmit]}" 0
expect_stat server accepted "${SNAP[accepted]}" 0
expect_stat server unknown_key "${SNAP[unknown_key]}" 1
pass "after del: the retransmission and a fresh token are both dropped at once"

# The other namespaces still hold their own copy, untouched.
in_ns client tap-keytool list | grep -qw 3 || fail "del in server ns removed the client ns key"
pass "deleting in one namespace leaves the others alone"
check_dmesg_clean
