#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The client bundle, host names and --probe (issue 14). The server's admin
# runs tap-keytool export; a client started from that one file (no key
# file) connects. A config naming the server by a host name (the client
# namespace's /etc/hosts, through /etc/netns; no DNS) connects and logs the
# address; a name that does not resolve stops the start (exit 1) and, on
# SIGHUP, changes nothing. tap-clientd --probe: exit 0 against the
# protected port; exit 3 and the skew when the probe's clock is 120 s
# behind (libfaketime: the clocks of that one process); exit 5 against a
# port without TAP (closed: RST); exit 4 when the port's rule takes another
# key id. The daemon itself, with its clock 120 s behind, fails to connect
# and logs one warning (for two connections) that suggests --probe.
. "$(dirname "$(readlink -f "$0")")/setup.sh"
clientd_prepare

topo_start
tap_load_module
OPEN_PORT=8081		# no TAP, no listener: the server answers RST
NOKEY_PORT=8082		# TAP for key 4 only
k3=$(tap_genkey 3)
in_ns server tap-keytool load "$k3" >/dev/null || fail "load key"
start_http server
protect_ports server 3 "$HTTP_PORT"
protect_ports server 4 "$NOKEY_PORT"

# ---- export: one file, nothing else on the client ----------------------
bundle=$CD_DIR/bundle.conf
in_ns server tap-keytool export 3 --server "$SERVER4" --port "$HTTP_PORT,$OPEN_PORT,$NOKEY_PORT" \
	--key-dir "$TAP_KEYS" >"$bundle" || fail "tap-keytool export"
sed 's/secret [^ ]*/secret .../; s/realm [^ ]*/realm .../; s/^/    /' "$bundle"
[ "$(grep -c '^server ' "$bundle")" = 1 ] && ! grep '^server ' "$bundle" | grep -q ' key ' ||
	fail "export: not one server entry with an inline key: $(cat "$bundle")"
chown "$CD_USER:$CD_USER" "$bundle"
chmod 644 "$bundle"
out=$(tap-clientd -c "$bundle" --check-config 2>&1) && fail "a bundle others may read was accepted"
grep -q "chmod 600" <<<"$out" || fail "no chmod advice: $out"
chmod 600 "$bundle"
pass "export: one server entry with the key in it; refused unless mode 0600"

url=http://$SERVER4:$HTTP_PORT/
in_ns client curl -s -m 3 "$url" >/dev/null && fail "client got in without tap-clientd"
clientd_start client "$bundle"
[ "$(in_ns client curl -s -m 20 "$url")" = tap-protected-page ] ||
	fail "client started from the exported stanza alone could not connect"
clientd_stop client
pass "a client started from the exported stanza alone connects (and could not before)"

# ---- host names -----------------------------------------------------------
# ip netns exec binds /etc/netns/client/hosts over /etc/hosts
mkdir -p /etc/netns/client
echo "$SERVER4 tap-server.test" >/etc/netns/client/hosts
named=$CD_DIR/named.conf
sed "s/^server $SERVER4 /server tap-server.test /" "$bundle" >"$named"
chown "$CD_USER:$CD_USER" "$named" && chmod 600 "$named"
grep -q '^server tap-server.test ' "$named" || fail "named config: $(cat "$named")"
: >"$CD_DIR/client.log"
clientd_start client "$named"
grep -q "server tap-server.test resolves to $SERVER4" "$CD_DIR/client.log" ||
	fail "the resolved address is not in the log: $(cat "$CD_DIR/client.log")"
[ "$(in_ns client curl -s -m 20 "http://tap-server.test:$HTTP_PORT/")" = tap-protected-page ] ||
	fail "client with a host name in its config could not connect"
pass "a config naming the server tap-server.test connects; the log says it resolves to $SERVER4"

# SIGHUP with a name that does not resolve: nothing changes
sed -i 's/^server tap-server.test /server nosuch.test /' "$named"
kill -HUP "${CD_PID[client]}"
for ((i = 0; i < 50; i++)); do
	grep -q "keeping the current one" "$CD_DIR/client.log" && break
	sleep 0.1
done
grep -q 'cannot resolve host name "nosuch.test"' "$CD_DIR/client.log" &&
	grep -q "keeping the current one" "$CD_DIR/client.log" ||
	fail "SIGHUP with an unresolvable name: $(tail -5 "$CD_DIR/client.log")"
[ "$(in_ns client curl -s -m 20 "$url")" = tap-protected-page ] ||
	fail "after a failed reload the client no longer connects"
clientd_stop client
pass "SIGHUP with a name that does not resolve: logged, the previous config still works"
: >"$CD_DIR/client.log"
ip netns exec client timeout 30 tap-clientd -c "$named" 2>>"$CD_DIR/client.log"
st=$?
[ "$st" = 1 ] && grep -q 'cannot resolve host name "nosuch.test"' "$CD_DIR/client.log" ||
	fail "start with an unresolvable name: exit $st, $(cat "$CD_DIR/client.log")"
no_rules_left client
pass "start with a name that does not resolve: exit 1, a clear error, no rules"

# ---- --probe ----------------------------------------------------------------
# probe [WRAPPER...] -- PORT: runs it in the client namespace; output in $out,
# exit status in $st
probe() {
	local wrap=()
	while [ "$1" != -- ]; do wrap+=("$1"); shift; done
	out=$(ip netns exec client "${wrap[@]}" tap-clientd -c "$bundle" -v \
		--probe tap-server.test "$2" 2>"$CD_DIR/probe.log")
	st=$?
	echo "    probe port $2: exit $st: $out"
}
snapshot server
probe -- "$HTTP_PORT"
[ "$st" = 0 ] && grep -q "token accepted: the path keeps it intact" <<<"$out" ||
	fail "probe of the protected port: exit $st"
expect_stat server accepted "${SNAP[accepted]}" 1
pass "--probe against the protected port: exit 0, token accepted (server: accepted +1)"

# the probe's clock 120 s behind the server's: only its process, by libfaketime
snapshot server
probe faketime -f -120s -- "$HTTP_PORT"
[ "$st" = 3 ] && grep -q "time moved by +120 s: the server's clock is about 120 s ahead" <<<"$out" ||
	fail "probe with a clock 120 s behind: exit $st"
expect_stat server stale "${SNAP[stale]}" +1
pass "--probe with the client's clock 120 s behind: exit 3, skew of about 120 s (server: stale +$(( $(tap_stat server stale) - SNAP[stale] )))"

probe -- "$OPEN_PORT"
[ "$st" = 5 ] && grep -q "answers a SYN without a token (RST): TAP does not guard" <<<"$out" ||
	fail "probe of a port without TAP: exit $st"
pass "--probe against a port without TAP: exit 5, says so"

snapshot server
probe -- "$NOKEY_PORT"
[ "$st" = 4 ] && grep -q "no token was accepted" <<<"$out" ||
	fail "probe of a port for another key: exit $st"
expect_stat server key_not_allowed "${SNAP[key_not_allowed]}" +21
pass "--probe against a port whose rule does not take key 3: exit 4, lists what to check"

# ---- the daemon's hint: its clock 120 s behind, its connections fail ------
# (libfaketime preloaded by env, which execs the daemon: its pid gets the
# signals; monotonic time is left alone)
ftlib=$(dpkg -L libfaketime | grep '/libfaketime.so.1$') || fail "no libfaketime"
: >"$CD_DIR/client.log"
CD_WRAP="env LD_PRELOAD=$ftlib FAKETIME=-120 FAKETIME_DONT_FAKE_MONOTONIC=1" \
	clientd_start client "$bundle"
ip netns exec client curl -s -m 5 "$url" >/dev/null &
c1=$!
in_ns client curl -s -m 5 "$url" >/dev/null && fail "a client 120 s behind got in"
wait "$c1" && fail "a client 120 s behind got in"
clientd_stop client
hint="still no answer after 3 sends with tokens; if connections there keep failing, run \"tap-clientd --probe $SERVER4 $HTTP_PORT\""
n=$(grep -cF "$hint" "$CD_DIR/client.log")
[ "$n" = 1 ] || fail "two failing connections: $n hints to --probe, want 1: $(cat "$CD_DIR/client.log")"
pass "the daemon 120 s behind: two connections fail, one warning suggests --probe (rate-limited)"

check_dmesg_clean
