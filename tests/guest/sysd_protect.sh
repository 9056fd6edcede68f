#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# guest-init: systemd
# long (make check-packaging runs it, on Debian's stock kernel):
# guest-default: no
#
# The protection as an admin sets it up, with systemd as PID 1 and the real
# units (tests/guest/lib_sysd.sh): make install, a key, /etc/tap/protect.conf,
# nftables.service, tap-keys.service and tap-protect.service enabled, the
# client's tap-clientd.service. After each of these the attacker's nmap -sS
# sees the port filtered and the keyed client still connects (IPv4, IPv6):
#  boot 1: systemctl enable --now; systemctl reload nftables; systemctl
#          restart nftables (both run "flush ruleset");
#  boot 2: a reboot (the same disk): everything came up by itself;
#  boot 3: a boot after the module file was removed: the port is dropped
#          (filtered) for everyone, the client gets nothing, and
#          tap-protect.service says it failed closed.
. "$(dirname "$(readlink -f "$0")")/setup.sh"
# shellcheck source=lib_sysd.sh
. "$TAP_GUEST_DIR/lib_sysd.sh"

case $TAP_BOOT in
1)
	sysd_install
	sysd_network
	sysd_check "systemctl enable --now"
	systemctl reload nftables || fail "systemctl reload nftables"
	sysd_settle
	sysd_check "systemctl reload nftables"
	systemctl restart nftables || fail "systemctl restart nftables"
	sysd_settle
	sysd_check "systemctl restart nftables"
	sysd_reboot
	;;
2)
	sysd_settle	# the test's unit may start before tap-protect finished
	for u in nftables tap-keys tap-protect; do
		systemctl is-active -q $u || { sysd_units; fail "after the reboot $u is not active"; }
	done
	sysd_network
	sysd_check "a reboot"
	# the module file gone (a kernel without its module): the next boot
	rm "/lib/modules/$(uname -r)/extra/xt_tap.ko" && depmod -a || fail "removing the module"
	sysd_reboot
	;;
3)
	[ ! -e /sys/module/xt_tap ] || fail "xt_tap is loaded without its file"
	sysd_network
	sysd_check_closed "a boot without the module file"
	journalctl -b -u tap-protect --no-pager | grep -q FAIL-CLOSED || {
		journalctl -b -u tap-protect --no-pager | tail
		fail "tap-protect.service did not say it failed closed"
	}
	pass "tap-protect.service says FAIL-CLOSED in the journal"
	check_dmesg_clean
	pass sysd_protect
	;;
*) fail "unexpected boot $TAP_BOOT" ;;
esac
