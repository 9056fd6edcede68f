#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Issue 3, test 7: bad input gets a clear error that names the problem, and
# nothing is left half set up: bad configs (with line numbers), unreadable
# and loosely permitted key files, missing capabilities, a missing kernel
# feature (nfnetlink_queue; the nftables queue expression), a second daemon
# in the same namespace, and a bad config on SIGHUP (the old one stays).
set -u
. "$(dirname "$(readlink -f "$0")")/topology.sh"
. "$(dirname "$(readlink -f "$0")")/lib_tap.sh"
. "$(dirname "$(readlink -f "$0")")/lib_client.sh"

topo_setup
trap 'echo /sbin/modprobe >/proc/sys/kernel/modprobe; topo_teardown' EXIT
mkdir -p "$TAP_KEYS" && chmod 700 "$TAP_KEYS"
k3=$(clientd_key 3)
C=$CD_DIR

# expect_error WHAT STATUS PATTERN... -- CMD...: CMD exits with STATUS, its
# stderr matches every PATTERN (grep -E), and the client has no rules
expect_error() {
	local what=$1 want=$2 pat=() out st p
	shift 2
	while [ "$1" != -- ]; do pat+=("$1"); shift; done
	shift
	out=$("$@" 2>&1 >/dev/null)
	st=$?
	[ "$st" = "$want" ] || fail "$what: exit status $st, expected $want: $out"
	for p in "${pat[@]}"; do
		grep -qE -- "$p" <<<"$out" || fail "$what: error does not say /$p/: $out"
	done
	no_rules_left client
	pass "$what: $(head -1 <<<"$out")"
}

cat >"$C/bad.conf" <<EOF
# one mistake per line
queue 70000
server 10.77.1.1/33 port 80 key $k3
server 10.77.1.1 port 0 key $k3
server 10.77.1.1 port 90-80 key $k3
server server.example port 80 key $k3
server 10.77.1.1 key $k3
server 10.77.1.1 port 80
server 10.77.1.1 port 80 key $k3 bind-everything
frobnicate yes
mark 0
server 10.77.1.1 port 80 key $k3
EOF
for mode in --check-config run; do
	args=(-c "$C/bad.conf")
	[ $mode = run ] || args+=(--check-config)
	expect_error "bad config ($mode)" 1 \
		'bad.conf:2: bad queue number "70000"' \
		'bad.conf:3: bad prefix length "/33"' \
		'bad.conf:4: bad port "0"' \
		'bad.conf:5: bad port range 90-80' \
		'bad.conf:6: bad address "server.example".*host names are not resolved' \
		'bad.conf:7: .*missing "port PORTS"' \
		'bad.conf:8: .*missing "key FILE"' \
		'bad.conf:9: unknown server option "bind-everything"' \
		'bad.conf:10: unknown keyword "frobnicate"' \
		'bad.conf:11: bad mark "0"' \
		'10 errors' -- \
		in_ns client tap-clientd "${args[@]}"
done
expect_error "run: nothing set up after a bad config" 1 'nothing was set up' -- \
	in_ns client tap-clientd -c "$C/bad.conf"

: >"$C/empty.conf"
expect_error "empty config" 1 'no server entries' -- \
	in_ns client tap-clientd -c "$C/empty.conf"
expect_error "missing config" 1 'nope.conf: cannot read the configuration file: No such file' -- \
	in_ns client tap-clientd -c "$C/nope.conf"
expect_error "usage" 2 "unknown option '--frob'" -- in_ns client tap-clientd --frob

echo "server $SERVER4 port 80 key $C/missing.key" >"$C/nokey.conf"
expect_error "missing key file" 1 'nokey.conf:1: key file .*missing.key.*cannot open: No such file' -- \
	in_ns client tap-clientd -c "$C/nokey.conf"
mkdir -p "$C/dir.key"
echo "server $SERVER4 port 80 key $C/dir.key" >"$C/dirkey.conf"
expect_error "key file is a directory" 1 'dirkey.conf:1: key file .*dir.key' -- \
	in_ns client tap-clientd -c "$C/dirkey.conf"
install -m 644 "$k3" "$C/loose.key"
echo "server $SERVER4 port 80 key $C/loose.key" >"$C/loose.conf"
expect_error "key file readable by others" 1 'loose.conf:1: key file .*loose.key.*mode 0644' \
	'chmod 600' -- in_ns client tap-clientd -c "$C/loose.conf" --check-config
printf 'version = 1\nid = 3\nsecret = not-base64\n' >"$C/garbage.key"
chmod 600 "$C/garbage.key"
echo "server $SERVER4 port 80 key $C/garbage.key" >"$C/garbage.conf"
expect_error "malformed key file" 1 'garbage.conf:1: key file .*garbage.key' -- \
	in_ns client tap-clientd -c "$C/garbage.conf"

good=$C/good.conf
printf 'server %s port 80 key %s\nserver %s port 80 key %s\n' "$SERVER4" "$k3" "$SERVER6" "$k3" >"$good"
tap-clientd -c "$good" --check-config >/dev/null 2>&1 || fail "good config rejected"

expect_error "without CAP_NET_ADMIN / CAP_NET_RAW" 1 'CAP_NET_ADMIN' -- \
	in_ns client setpriv --bounding-set -net_admin,-net_raw --inh-caps -all \
	tap-clientd -c "$good"

# Missing kernel features: no module may be loaded from now on (reversible:
# the modprobe helper the kernel calls is /bin/false until the EXIT trap)
lsmod | grep -q '^nfnetlink_queue' && fail "nfnetlink_queue is already loaded"
echo /bin/false >/proc/sys/kernel/modprobe
expect_error "no nfnetlink_queue in the kernel" 1 'NFQUEUE.*nfnetlink_queue' 'nothing was set up' -- \
	in_ns client tap-clientd -c "$good"
/sbin/modprobe nfnetlink_queue || fail "modprobe nfnetlink_queue"
if ! lsmod | grep -q '^nft_queue' && ! lsmod | grep -q '^xt_NFQUEUE'; then
	expect_error "no nftables queue expression in the kernel" 1 'nft_queue' 'nothing was set up' -- \
		in_ns client tap-clientd -c "$good"
	in_ns client nft list ruleset | grep -q . && fail "something was left in the client's ruleset"
fi
echo /sbin/modprobe >/proc/sys/kernel/modprobe

# A second daemon in the namespace is refused; the first one is untouched
clientd_start client "$good"
rules=$(in_ns client nft list table inet tap_clientd | grep -c queue)
expect_out=$(in_ns client tap-clientd -c "$good" 2>&1)
[ $? = 1 ] && grep -q "another process listens on this queue" <<<"$expect_out" ||
	fail "second daemon: $expect_out"
[ "$(in_ns client nft list table inet tap_clientd | grep -c queue)" = "$rules" ] ||
	fail "the second daemon changed the first one's rules"
pass "a second tap-clientd is refused: $(head -1 <<<"$expect_out")"

# SIGHUP with a bad config keeps the old one; with a good one, applies it
cp "$good" "$C/live.conf"
clientd_stop client
clientd_start client "$C/live.conf"
echo "server 10.77.1.1 port 99999 key $k3" >>"$C/live.conf"
kill -HUP "$CD_PID_client"
sleep 1
kill -0 "$CD_PID_client" || fail "tap-clientd died on a bad reload"
grep -q 'live.conf:3: bad port "99999"' "$CD_DIR/client.log" &&
	grep -q "keeping the current one" "$CD_DIR/client.log" || fail "bad reload not reported"
[ "$(in_ns client nft list table inet tap_clientd | grep -c queue)" = 2 ] ||
	fail "rules changed after a bad reload"
pass "SIGHUP with a bad config: error with its line, the old config and rules stay"
sed -i '$d' "$C/live.conf"
echo "server 10.77.2.0/24 port 22,8000-8100 key $k3 no-dst-bind" >>"$C/live.conf"
kill -HUP "$CD_PID_client"
sleep 1
[ "$(in_ns client nft list table inet tap_clientd | grep -c queue)" = 4 ] ||
	fail "the good reload did not install 4 rules"
in_ns client nft list table inet tap_clientd | grep -q "10.77.2.0/24 tcp dport 8000-8100" ||
	fail "the reloaded rules lack the new entry"
pass "SIGHUP with a good config: the new rules are in place"
clientd_stop client
check_dmesg_clean
