#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# guest-init: systemd
# A kernel upgrade with DKMS, systemd as PID 1 (tests/guest/lib_sysd.sh):
#  boot 1, on 6.1: dpkg -i of make deb's three packages (DKMS builds xt_tap
#          for 6.1 in the postinst; the 6.12 headers are hidden, so that it
#          builds once), the protection set up as an admin would (a key,
#          /etc/tap/protect.conf, the units enabled, tap-clientd.service in
#          the client's namespace); the attacker's nmap -sS sees the port
#          filtered and the keyed client connects (IPv4, IPv6). Then what apt
#          does when a new kernel is installed: its headers appear and the
#          kernel's postinst runs /etc/kernel/postinst.d/dkms 6.12...; DKMS
#          builds xt_tap for 6.12 into updates/dkms. run.sh boots 6.12 next
#          ($TAP_WORK/next-kver).
#  boot 2, on 6.12: xt_tap loaded from the DKMS build, the units active,
#          nmap sees the port filtered, the keyed client connects, dmesg
#          clean.
# With the argument --no-kernel-hook (tests/qemu/run.sh SCRIPT
# --no-kernel-hook) boot 1 skips the hook: 6.12 boots without the module,
# the port is dropped for everyone, and the test must fail on boot 2.
# Two DKMS builds in TCG in one boot:
# guest-timeout: 3600
# long (make check-packaging runs it, on Debian's stock kernel):
# guest-default: no
. "$(dirname "$(readlink -f "$0")")/setup.sh"
# shellcheck source=lib_sysd.sh
. "$TAP_GUEST_DIR/lib_sysd.sh"
# shellcheck source=lib_install.sh
. "$TAP_GUEST_DIR/lib_install.sh"

# Debian 12's stock kernel, as the host's linux-image-amd64 names it: a
# point release moves it (6.1.0-56 became 6.1.0-57)
old=$(TAP_KVER='' "$TAP_REPO/scripts/kver.sh")
case $old in 6.1.*) ;; *) fail "the stock kernel is $old, not a 6.1" ;; esac
# bookworm-backports' newest 6.12, which scripts/install-deps.sh installs
new=$(find /boot -maxdepth 1 -name 'vmlinuz-6.12.*-amd64' | sed 's|^/boot/vmlinuz-||' | sort -V | tail -n 1)
[ -n "$new" ] || fail "no 6.12 kernel in /boot (scripts/install-deps.sh installs one)"
kernel_hook=1
[ "${1:-}" = --no-kernel-hook ] && kernel_hook=0

# the installed files only: the packages' tools in /usr/sbin, not build/'s
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/run/busybox
unset XTABLES_LIBDIR

case $TAP_BOOT in
1)
	[ "$(uname -r)" = $old ] || fail "boot 1 is on $(uname -r), not $old"
	[ -d "/usr/src/linux-headers-$new" ] || fail "no headers of $new on the host"
	ver=$(cat "$TAP_REPO/VERSION")
	mapfile -t debs < <(find "$TAP_REPO/build/deb" -maxdepth 1 -name "*_${ver}_*.deb" ! -name '*-dbgsym_*' 2>/dev/null)
	[ ${#debs[@]} = 3 ] || fail "expected the 3 packages of version $ver in build/deb (make deb), found ${#debs[@]}"

	# only 6.1's headers during dpkg -i: one DKMS build there (in TCG one
	# takes about 10 minutes); 6.12's come back below, as from its package
	new_build=$(readlink "/lib/modules/$new/build") || fail "no /lib/modules/$new/build"
	for d in /lib/modules/*/; do
		[ "$(basename "$d")" = $old ] || rm -f "${d}build"
	done
	mkdir -p /tmp/debs && cp "${debs[@]}" /tmp/debs/ || fail "copying the packages"
	out=$(dpkg -i /tmp/debs/*.deb 2>&1) || { echo "$out" | tail -n 40; fail "dpkg -i"; }
	echo "$out" | grep -E '^xt_tap: |Building|installed|Setting up' | sed 's/^/    /'
	path=$(expect_dkms_module $old) || exit 1
	dkms status xt_tap | grep -q "$new" && fail "DKMS built for $new without its headers: $(dkms status xt_tap)"
	pass "dpkg -i: the 3 packages of $ver installed; DKMS built xt_tap for $old only ($path)"

	sysd_configure
	sysd_network
	sysd_check "$old, the packages installed"

	# the new kernel's packages: its headers, then the kernel's postinst
	# runs the hooks of /etc/kernel/postinst.d with its version
	ln -s "$new_build" "/lib/modules/$new/build" || fail "the headers of $new"
	if [ $kernel_hook = 1 ]; then
		echo "--- /etc/kernel/postinst.d/dkms $new"
		out=$(/etc/kernel/postinst.d/dkms "$new" 2>&1)
		echo "$out" | tail -n 5 | sed 's/^/    /'
		path=$(expect_dkms_module "$new") || exit 1
		[ "$(modinfo -F vermagic "$path" | cut -d' ' -f1)" = "$new" ] ||
			fail "$path: vermagic $(modinfo -F vermagic "$path")"
		pass "the kernel's postinst hook: DKMS built xt_tap for $new ($path)"
	else
		echo "--- the kernel's postinst hook skipped (--no-kernel-hook)"
	fi
	# the reboot does not sync the disk under the overlay: depmod's index
	# for $new, written just now, came back broken without this
	sync
	echo "$new" >"$TAP_WORK/next-kver"
	sysd_reboot
	;;
2)
	[ "$(uname -r)" = "$new" ] || fail "boot 2 is on $(uname -r), not $new"
	sysd_settle	# the test's unit may start before tap-protect finished
	sysd_network
	sysd_check "the upgrade to $new"
	for u in nftables tap-keys tap-protect tap-clientd; do
		systemctl is-active -q $u || { sysd_units; fail "on $new $u is not active"; }
	done
	path=$(expect_dkms_module "$new") || exit 1
	[ -e /sys/module/xt_tap ] || fail "xt_tap is not loaded"
	# the loaded module is that file
	[ "$(cat /sys/module/xt_tap/srcversion)" = "$(modinfo -F srcversion "$path")" ] ||
		fail "the loaded xt_tap is not $path"
	pass "on $new: the units active, xt_tap loaded from the DKMS build ($path)"
	check_dmesg_clean
	pass sysd_kernel_upgrade
	;;
*) fail "unexpected boot $TAP_BOOT" ;;
esac
