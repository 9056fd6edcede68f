#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Helpers for the guest tests that boot systemd as PID 1 (tests/guest/sysd_*.sh,
# marked "# guest-init: systemd"; tests/qemu/README.md). They source it after
# setup.sh; sourcing it only defines.
#
# The server is the guest's own (root) network namespace, as on a real host:
# make install, a key in /etc/tap/keys, /etc/tap/protect.conf, and
# nftables.service, tap-keys.service and tap-protect.service enabled. Its
# eth0 joins the test network of topology.sh in place of the namespace
# "server", with the server's addresses. The client is tap-clientd.service,
# run in the namespace "client" by a drop-in (NetworkNamespacePath=); the
# attacker scans from its namespace. The guest's disk keeps all of it across
# reboots (sysd_reboot); the network is made again on every boot.

SYSD_KEY_ID=3

# sysd_reboot: when the test then exits 0, the guest reboots and run.sh boots
# it again on the same disk, running the test with TAP_BOOT one higher
sysd_reboot() {
	touch "$TAP_WORK/reboot"
}

# sysd_install: the server and the client installed and configured, the
# server's units enabled and started
sysd_install() {
	local kver ko
	kver=$(uname -r)
	# DKMS would build the module for every kernel of the host's root: in
	# TCG that takes many minutes (tests/guest/deb_install.sh tests it)
	make -s -C "$TAP_REPO" -o all install DKMS=no KVER="$kver" >/dev/null || fail "make install"
	# the module of this kernel (make modules-all's copy on 6.12)
	ko=$(tap_ko "$TAP_REPO")
	install -D -m 0644 "$ko" "/lib/modules/$kver/extra/xt_tap.ko" && depmod -a "$kver" ||
		fail "installing $ko"
	[ -e /lib/systemd/system/tap-protect.service ] || fail "make install: no tap-protect.service"
	sysd_configure
}

# sysd_configure: with TAP installed (make install, the packages), the
# admin's part: a key, /etc/tap/protect.conf, the server's units enabled and
# started, the client's key, configuration and namespace
sysd_configure() {
	tap-keytool genkey --id $SYSD_KEY_ID -o /etc/tap/keys/$SYSD_KEY_ID.key >/dev/null ||
		fail "genkey"
	printf 'port %s\nkey-id %s\n' "$HTTP_PORT" $SYSD_KEY_ID >/etc/tap/protect.conf
	tap-nft apply --check >/dev/null || fail "tap-nft apply --check"
	systemctl enable --now nftables tap-keys tap-protect 2>&1 || fail "systemctl enable --now"

	# the client: its key, configuration, and namespace
	install -o tap-clientd -g tap-clientd -m 0600 /etc/tap/keys/$SYSD_KEY_ID.key \
		/etc/tap/clientd/$SYSD_KEY_ID.key || fail "client key"
	printf 'server %s port %s key /etc/tap/clientd/%s.key\n' \
		"$SERVER4" "$HTTP_PORT" $SYSD_KEY_ID "$SERVER6" "$HTTP_PORT" $SYSD_KEY_ID \
		>/etc/tap/clientd.conf
	mkdir -p /etc/systemd/system/tap-clientd.service.d
	printf '[Service]\nNetworkNamespacePath=/run/netns/client\n' \
		>/etc/systemd/system/tap-clientd.service.d/netns.conf
	systemctl daemon-reload
}

# sysd_network: topology.sh's network with the root namespace as the server,
# the web server, and tap-clientd.service started in the namespace client
sysd_network() {
	local i
	topo_start
	ip -n server link set eth0 netns 1 &&
	ip addr add "$SERVER4/24" dev eth0 &&
	ip addr add "$SERVER6/64" dev eth0 nodad &&
	ip link set eth0 up || fail "the root namespace on the test network"
	mkdir -p /tmp/www && echo tap-protected-page >/tmp/www/index.html
	python3 -m http.server --bind :: --directory /tmp/www "$HTTP_PORT" >/dev/null 2>&1 &
	for ((i = 0; i < 100; i++)); do
		[ -n "$(ss -Hltn "sport = :$HTTP_PORT")" ] && break
		sleep 0.1
	done
	[ -n "$(ss -Hltn "sport = :$HTTP_PORT")" ] || fail "the web server did not start"
	systemctl restart tap-clientd || {
		journalctl -b -u tap-clientd --no-pager | tail -20
		fail "systemctl restart tap-clientd"
	}
	# the unit's LimitNOFILE leaves room for every auth SYN port it holds
	for ((i = 0; i < 50; i++)); do
		journalctl -b -u tap-clientd --no-pager |
			grep -q "each held 150 s (at most 4096 at once)" && return 0
		sleep 0.1
	done
	journalctl -b -u tap-clientd --no-pager | tail -20
	fail "tap-clientd.service does not hold up to 4096 auth SYN ports"
}

# sysd_settle: waits until systemd has no job left but the test's own:
# systemctl waits for the job it asked for, not for those it propagated
# (tap-protect's reload after nftables', its restart after nftables')
sysd_settle() {
	local i
	for ((i = 0; i < 300; i++)); do
		systemctl list-jobs --no-legend | grep -qv -e tap-test.service -e 'No jobs' || return 0
		sleep 0.1
	done
	systemctl list-jobs --no-pager
	fail "systemd's jobs did not finish"
}

# sysd_accepted: the server's xt_tap counter "accepted"
sysd_accepted() {
	awk '$1 == "accepted" { print $2 }' /proc/net/xt_tap 2>/dev/null
}

# sysd_scan ADDR: the state nmap -sS from the attacker reports for the port
sysd_scan() {
	local six=
	case $1 in *:*) six=-6 ;; esac
	in_ns attacker nmap $six -Pn -n -sS -p "$HTTP_PORT" -T4 --max-retries 1 \
		--host-timeout 60s "$1" -oG - | sed -n "s|.*Ports: $HTTP_PORT/\([a-z|]*\)/.*|\1|p"
}

# sysd_units: how the units stand, for the log
sysd_units() {
	systemctl --no-pager --full list-units 'tap-*' nftables.service | sed -n '/^ *[a-z]/p'
	nft list tables
}

# sysd_check WHEN: the attacker's nmap -sS sees the port filtered and the
# keyed client (tap-clientd.service) fetches the page, over IPv4 and IPv6;
# the server's xt_tap accepted each fetch
sysd_check() {
	local when=$1 addr st acc
	for addr in "$SERVER4" "$SERVER6"; do
		st=$(sysd_scan "$addr")
		[ "$st" = filtered ] || { sysd_units; fail "$when: nmap -sS $addr says '$st', not filtered"; }
		acc=$(sysd_accepted)
		http_get client "$addr" 10 | grep -q tap-protected-page || {
			sysd_units
			journalctl -b -u tap-clientd --no-pager | tail -10
			fail "$when: the keyed client did not get the page from $addr"
		}
		[ "$(sysd_accepted)" = $((acc + 1)) ] ||
			fail "$when: xt_tap accepted $(sysd_accepted), not $((acc + 1))"
	done
	pass "$when: nmap -sS from the attacker sees the port filtered, the keyed client connects (IPv4, IPv6)"
}

# sysd_check_closed WHEN: without the module the port is dropped for all:
# filtered to nmap, no page for the keyed client either
sysd_check_closed() {
	local when=$1 addr st
	for addr in "$SERVER4" "$SERVER6"; do
		st=$(sysd_scan "$addr")
		[ "$st" = filtered ] || { sysd_units; fail "$when: nmap -sS $addr says '$st', not filtered"; }
		if http_get client "$addr" 5 >/dev/null; then
			sysd_units
			fail "$when: the client got the page from $addr with no xt_tap loaded"
		fi
	done
	pass "$when: nmap -sS from the attacker sees the port filtered, the client gets nothing (IPv4, IPv6)"
}
