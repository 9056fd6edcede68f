#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tap-clientd refuses bad input with a clear error that names the problem,
# and leaves nothing half set up: bad configs (with line numbers),
# unreadable and loosely permitted key files, missing capabilities, a
# missing kernel feature (nfnetlink_queue; the nftables queue expression), a
# second daemon in the same namespace, and a bad config on SIGHUP (the old
# one stays); an empty or directory config name, a NUL byte in a line,
# config files others could change, files the daemon's user cannot read (at
# start, with --check-config, and on SIGHUP), a missing user or one with
# uid 0, and no ephemeral port free to send auth SYNs from.
. "$(dirname "$(readlink -f "$0")")/setup.sh"
clientd_prepare

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
server srv_1 port 80 key $k3
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
		'bad.conf:6: bad address "srv_1": expected an IPv4 or IPv6 address, a CIDR prefix or a host name' \
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
expect_error "empty config file name" 2 'the configuration file name is empty' -- \
	in_ns client tap-clientd -c ""
mkdir -p "$C/conf.d"
expect_error "config is a directory" 1 "$C/conf.d: a directory, not a configuration file" -- \
	in_ns client tap-clientd -c "$C/conf.d"
# the NUL used to cut the line silently: "queue 7" was read
printf 'queue 7\0 junk\nserver %s port 80 key %s\n' "$SERVER4" "$k3" >"$C/nul.conf"
expect_error "NUL byte in a line" 1 'nul.conf:1: NUL byte in the line \(at byte 8\)' -- \
	in_ns client tap-clientd -c "$C/nul.conf"

# Files someone else could change are refused, naming the file and the fix
printf 'server %s port 80 key %s\n' "$SERVER4" "$k3" >"$C/perm.conf"
chmod 664 "$C/perm.conf"
expect_error "group-writable config" 1 \
	"$C/perm.conf: mode 0664 lets group/others modify it; run chmod go-w $C/perm.conf" -- \
	in_ns client tap-clientd -c "$C/perm.conf"
chmod 644 "$C/perm.conf" && chown nobody "$C/perm.conf"
expect_error "config owned by another user" 1 \
	"perm.conf: owned by uid $(id -u nobody), not by root or $CD_USER" "run chown root $C/perm.conf" -- \
	in_ns client tap-clientd -c "$C/perm.conf" --check-config
chown root "$C/perm.conf"

# The files are read as the daemon's user, by --check-config (run as root)
# too: a key file only root can read is refused, with the fix
install -m 600 "$k3" "$C/rootkey.key"
echo "server $SERVER4 port 80 key $C/rootkey.key" >"$C/rootkey.conf"
for mode in --check-config run; do
	args=(-c "$C/rootkey.conf")
	[ $mode = run ] || args+=(--check-config)
	expect_error "key file only root can read ($mode)" 1 \
		'rootkey.conf:1: key file .*rootkey.key: cannot open: Permission denied' \
		"reads its key files as $CD_USER: make the file owned by $CD_USER, mode 0600" -- \
		in_ns client tap-clientd "${args[@]}"
done

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
chmod 600 "$C/garbage.key" && chown "$CD_USER" "$C/garbage.key"
echo "server $SERVER4 port 80 key $C/garbage.key" >"$C/garbage.conf"
expect_error "malformed key file" 1 'garbage.conf:1: key file .*garbage.key' -- \
	in_ns client tap-clientd -c "$C/garbage.conf"

good=$C/good.conf
printf 'server %s port 80 key %s\nserver %s port 80 key %s\n' "$SERVER4" "$k3" "$SERVER6" "$k3" >"$good"
tap-clientd -c "$good" --check-config >/dev/null 2>&1 || fail "good config rejected"

expect_error "without CAP_NET_ADMIN / CAP_NET_RAW" 1 'CAP_NET_ADMIN' -- \
	in_ns client setpriv --bounding-set -net_admin,-net_raw --inh-caps -all \
	tap-clientd -c "$good"
expect_error "root without CAP_SETUID / CAP_SETGID" 1 'needs CAP_SETUID and CAP_SETGID' -- \
	in_ns client setpriv --bounding-set -setuid,-setgid --inh-caps -all \
	tap-clientd -c "$good"

# auth SYN ports come from ports the daemon holds; with every port of the
# ephemeral range held by another program it cannot start
in_ns client sysctl -qw net.ipv4.ip_local_port_range="50000 50016" || fail "port range"
ip netns exec client python3 -c '
import socket, sys, time
held = [socket.socket(socket.AF_INET6) for _ in range(17)]
for i, s in enumerate(held):
    s.bind(("::", 50000 + i))
print("held", flush=True)
time.sleep(120)' >"$C/held.out" &
holder=$!
for _ in $(seq 50); do grep -q held "$C/held.out" && break; sleep 0.1; done
grep -q held "$C/held.out" || fail "could not hold the ports"
expect_error "no free port for auth SYNs" 1 \
	'cannot hold source ports for auth SYNs in the ephemeral range 50000-50016: Address already in use' \
	'nothing was set up' -- in_ns client tap-clientd -c "$good"
kill $holder; wait $holder 2>/dev/null
in_ns client sysctl -qw net.ipv4.ip_local_port_range="32768 60999"

# Never root: a missing user is an error that says how to create it
for mode in --check-config run; do
	args=(-c "$good" --user tap-nosuchuser)
	[ $mode = run ] || args+=(--check-config)
	expect_error "user does not exist ($mode)" 1 'user tap-nosuchuser does not exist' \
		'"adduser --system --group --no-create-home tap-nosuchuser"' 'nothing was set up' -- \
		in_ns client tap-clientd "${args[@]}"
done
expect_error "user with uid 0" 1 'user root has uid 0, gid 0: tap-clientd must not keep' -- \
	in_ns client tap-clientd -c "$good" --user root
out=$(tap-clientd -c "$good" --check-config 2>&1) &&
	grep -q "configuration OK (read as user $CD_USER)" <<<"$out" ||
	fail "--check-config as root: $out"
pass "--check-config as root reads the files as $CD_USER"

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

# Started as the daemon's user with the two capabilities (ambient): it
# stays that user, with those two only
CD_WRAP="setpriv --reuid $CD_USER --regid $CD_USER --clear-groups --inh-caps +net_admin,+net_raw --ambient-caps +net_admin,+net_raw" \
	clientd_start client "$good"
clientd_check_privs "${CD_PID[client]}" "started as $CD_USER with ambient capabilities" \
	"$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)"
clientd_stop client

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
kill -HUP "${CD_PID[client]}"
sleep 1
kill -0 "${CD_PID[client]}" || fail "tap-clientd died on a bad reload"
grep -q 'live.conf:3: bad port "99999"' "$CD_DIR/client.log" &&
	grep -q "keeping the current one" "$CD_DIR/client.log" || fail "bad reload not reported"
[ "$(in_ns client nft list table inet tap_clientd | grep -c queue)" = 2 ] ||
	fail "rules changed after a bad reload"
pass "SIGHUP with a bad config: error with its line, the old config and rules stay"

# SIGHUP reads the files as the daemon's user: a key file or a config it
# cannot read is an error that says so, and the old config and rules stay
# reload_refused WHAT PATTERN...: SIGHUP is refused with every PATTERN logged
reload_refused() {
	local what=$1 p i
	shift
	: >"$CD_DIR/client.log"
	kill -HUP "${CD_PID[client]}"
	for ((i = 0; i < 50; i++)); do
		grep -q "keeping the current one" "$CD_DIR/client.log" && break
		sleep 0.1
	done
	kill -0 "${CD_PID[client]}" || fail "$what: tap-clientd died on the reload"
	grep -q "keeping the current one" "$CD_DIR/client.log" || fail "$what: not refused"
	for p in "$@"; do
		grep -qE -- "$p" "$CD_DIR/client.log" ||
			fail "$what: log does not say /$p/: $(cat "$CD_DIR/client.log")"
	done
	[ "$(in_ns client nft list table inet tap_clientd | grep -c queue)" = 2 ] ||
		fail "$what: the rules changed"
	pass "$what: $(grep -m1 error: "$CD_DIR/client.log")"
}
sed -i '$d' "$C/live.conf"
chown root "$k3"
reload_refused "SIGHUP with a key file the daemon's user cannot read" \
	'live.conf:1: key file .*k3.key: cannot open: Permission denied' \
	"make the file owned by $CD_USER, mode 0600"
chown "$CD_USER" "$k3" && chmod 600 "$C/live.conf"
reload_refused "SIGHUP with a config the daemon's user cannot read" \
	"live.conf: cannot read the configuration file: Permission denied; the daemon reads it as $CD_USER"
chmod 644 "$C/live.conf"
echo "server 10.77.2.0/24 port 22,8000-8100 key $k3 no-dst-bind" >>"$C/live.conf"
kill -HUP "${CD_PID[client]}"
sleep 1
[ "$(in_ns client nft list table inet tap_clientd | grep -c queue)" = 4 ] ||
	fail "the good reload did not install 4 rules"
in_ns client nft list table inet tap_clientd | grep -q "10.77.2.0/24 tcp dport 8000-8100" ||
	fail "the reloaded rules lack the new entry"
pass "SIGHUP with a good config: the new rules are in place"
clientd_stop client
check_dmesg_clean
