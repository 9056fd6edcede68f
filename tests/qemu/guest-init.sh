#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# PID 1 inside the qemu guest, exec'd by the initramfs after switch_root into
# the overlay of the host root. Sets up a minimal system, runs the test named
# in /tapwork/cmd (written by tests/qemu/run.sh), checks dmesg, reports the
# status through /tapwork/status and isa-debug-exit, and powers off.
# PID 1 must never exit, so no "set -e" here.
#
# With tap_systemd=1 on the kernel command line (run.sh --systemd) it sets up
# the same minimal system, prepares systemd's configuration in the overlay
# (sysd_prepare) and execs systemd, whose unit tap-test.service runs this
# script again as "guest-init.sh --run-test" after multi-user.target: the
# same test run and report, or a reboot if the test asked for one.

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/run/busybox
export HOME=/root TERM=dumb LANG=C.UTF-8
# Kernel complaints that fail a test; tests/guest/topology.sh reuses this.
export TAP_DMESG_RE='BUG:|WARNING:|Oops|refcount_t|kmemleak|UBSAN|general protection|leak'

report() {
	local status=$1
	echo "$status" >/tapwork/status
	sync
	# Let the UART drain (stty sets attributes with TCSADRAIN), then exit
	# qemu through isa-debug-exit: qemu exits with (byte << 1) | 1.
	stty -F /dev/console -echo 2>/dev/null
	[ "$status" -gt 127 ] && status=127
	printf "\\$(printf %03o "$status")" | dd of=/dev/port bs=1 seek=$((0xf4)) count=1 status=none
	busybox poweroff -f
	sleep 3600
}

# run_test: runs the test of /tapwork/cmd, then checks dmesg; sets status
run_test() {
	if [ ! -r /tapwork/cmd ]; then
		echo "tap: /tapwork/cmd missing"
		report 125
	fi
	. /tapwork/cmd
	TAP_BOOT=$(cat /tapwork/boot 2>/dev/null || echo 1)
	export TAP_REPO TAP_KVER TAP_BOOT TAP_WORK=/tapwork
	# Run the script where it lives if the guest sees it there (so it can find
	# its siblings), else the copy in the share (e.g. scripts under host /tmp).
	cmp -s "${TAP_ARGV[0]}" /tapwork/script || TAP_ARGV[0]=/tapwork/script
	[ -x "${TAP_ARGV[0]}" ] || TAP_ARGV=(bash "${TAP_ARGV[@]}")
	cd "$TAP_CWD" 2>/dev/null || cd /

	read -r up _ </proc/uptime
	printf '\ntap: %s up after %ss, running %s\n' "$(uname -r)" "$up" "${TAP_ARGV[*]}"
	echo "<6>tap: test start" >/dev/kmsg
	"${TAP_ARGV[@]}" 2>&1 | tee -a /tapwork/log
	status=${PIPESTATUS[0]}

	# kmemleak (debug kernel): two scans some seconds apart, so that what
	# the test freed late is not taken for a leak.
	if [ -w /sys/kernel/debug/kmemleak ]; then
		echo scan >/sys/kernel/debug/kmemleak
		sleep 5
		echo scan >/sys/kernel/debug/kmemleak
	fi
	bad=$(dmesg | sed -n '/tap: test start/,$p' | grep -E "$TAP_DMESG_RE")
	[ -r /sys/kernel/debug/kmemleak ] && bad+=$(cat /sys/kernel/debug/kmemleak)
	if [ -n "$bad" ]; then
		{
			echo "tap: kernel complained during the test:"
			echo "$bad"
			echo "tap: full dmesg since test start:"
			dmesg | sed -n '/tap: test start/,$p'
		} | tee -a /tapwork/log
		[ "$status" = 0 ] && status=1
	fi
}

# sysd_prepare: systemd's configuration in the overlay, on the first boot of
# its disk: only what the tests start runs (none of the host's enabled units,
# gettys or network setup), no fstab of the host's disks, and tap-test.service
sysd_prepare() {
	local etc=/etc/systemd/system u
	[ -e $etc/tap-test.service ] && return
	echo tap-guest >/etc/hostname
	: >/etc/fstab
	rm -rf $etc/*.wants $etc/*.requires
	# what the tests do not use, slow under TCG: udev, dbus and logind,
	# the journal on disk, first-boot and utmp bookkeeping
	for u in getty@.service serial-getty@.service console-getty.service \
		systemd-timesyncd.service networking.service systemd-networkd.service \
		NetworkManager.service ssh.service cron.service \
		systemd-udevd.service systemd-udev-trigger.service systemd-udevd-control.socket \
		systemd-udevd-kernel.socket dbus.service dbus.socket systemd-logind.service \
		systemd-user-sessions.service systemd-update-utmp.service \
		systemd-update-utmp-runlevel.service systemd-binfmt.service \
		proc-sys-fs-binfmt_misc.automount systemd-random-seed.service \
		systemd-tmpfiles-setup.service systemd-tmpfiles-clean.timer \
		systemd-journal-flush.service systemd-firstboot.service \
		systemd-machine-id-commit.service systemd-repart.service \
		systemd-pcrphase.service systemd-pcrphase-sysinit.service systemd-sysusers.service \
		sys-fs-fuse-connections.mount sys-kernel-config.mount dev-hugepages.mount \
		systemd-ask-password-console.path systemd-ask-password-wall.path; do
		ln -sf /dev/null "$etc/$u"
	done
	mkdir -p /etc/systemd/journald.conf.d &&
		printf '[Journal]\nStorage=volatile\n' >/etc/systemd/journald.conf.d/tap-guest.conf
	ln -sf /lib/systemd/system/multi-user.target $etc/default.target
	# systemd-tmpfiles must not empty /tmp: a checkout may be bound there
	mkdir -p /etc/tmpfiles.d && echo 'd /tmp 1777 root root -' >/etc/tmpfiles.d/tmp.conf
	cat >$etc/tap-test.service <<-EOF
	[Unit]
	Description=TAP guest test
	After=multi-user.target

	[Service]
	Type=oneshot
	ExecStart=$(readlink -f "$0") --run-test
	StandardOutput=tty
	TTYPath=/dev/console
	TimeoutStartSec=infinity
	EOF
	mkdir -p $etc/multi-user.target.wants
	ln -s ../tap-test.service $etc/multi-user.target.wants/
}

# under systemd, from tap-test.service: a test that passed and asked for a
# reboot (tests/guest/lib_sysd.sh) gets it; otherwise report as PID 1 would
if [ "${1:-}" = --run-test ]; then
	run_test
	if [ "$status" = 0 ] && [ -e /tapwork/reboot ]; then
		echo "tap: rebooting, as the test asked"
		# what the test wrote last (a depmod before a kernel switch)
		# was seen lost across the reboot without it
		sync
		systemctl --no-block reboot
		exit 0
	fi
	report "$status"
fi

mount -t proc proc /proc
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
# bash process substitution and /dev/std* need these
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
[ -e /dev/stdin ] || ln -s /proc/self/fd/0 /dev/stdin
[ -e /dev/stdout ] || ln -s /proc/self/fd/1 /dev/stdout
[ -e /dev/stderr ] || ln -s /proc/self/fd/2 /dev/stderr
mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
# The test gets a fresh /tmp; a checkout under the host's /tmp (a new user's
# first clone often is) stays visible at its own path.
[ -r /tapwork/cmd ] && . /tapwork/cmd
mkdir -p /run/host-tmp && mount --bind /tmp /run/host-tmp
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
for d in "${TAP_REPO:-}" "${TAP_CWD:-}"; do
	case $d in
	/tmp/*) [ -e "$d" ] || { mkdir -p "$d" && mount --bind "/run/host-tmp/${d#/tmp/}" "$d"; } ;;
	esac
done
# A kernel booted from outside /boot brings its own modules (run.sh's TAP_KMODROOT).
if [ -n "${TAP_KMODROOT:-}" ]; then
	mkdir -p "/lib/modules/$TAP_KVER" &&
		mount --bind "$TAP_KMODROOT/lib/modules/$TAP_KVER" "/lib/modules/$TAP_KVER"
fi
mkdir -p /dev/pts /dev/shm
mount -t devpts -o ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
# busybox fills in tools the host lacks (ping, nc, ...), last in PATH.
mkdir -p /run/busybox && busybox --install -s /run/busybox
if grep -qw tap_systemd=1 /proc/cmdline; then
	sysd_prepare
	exec /lib/systemd/systemd
fi
hostname tap-guest
ip link set lo up
exec </dev/null

run_test
report "$status"
