#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Unpacks sid's kernel (image and modules, the version of the sid root's
# newest headers: scripts/sid-root.sh) outside the checkout for the guest tests,
# without installing it: apt-get download in the sid root, dpkg-deb -x,
# depmod -b. Then runs CMD with the variables tests/qemu/run.sh boots it
# with (TAP_KVER, TAP_KIMAGE, TAP_KMODROOT), or without CMD prints them:
#
#   scripts/sid-kernel.sh tests/run-guest-tests.sh smoke
#   eval "$(scripts/sid-kernel.sh)"
#
# TAP_SID_KERNEL_DIR: where (default /var/cache/tap-sid-kernel: not under the
# checkout, whose *.ko* files an external module's `make clean` deletes).
# Kept until the sid root's headers change version. Run as root.
set -euo pipefail

repo=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
dest=${TAP_SID_KERNEL_DIR:-/var/cache/tap-sid-kernel}

die() { echo "sid-kernel: $*" >&2; exit 1; }

kver=$("$repo/scripts/sid-root.sh" root | tail -n 1)
[ -n "$kver" ] || die "the sid root has no kernel headers"
moddir=$dest/usr/lib/modules/$kver

if [ ! -e "$moddir/.tap-ready" ] ||
   [ -z "$(find "$moddir/kernel" -name '*.ko*' -print -quit 2>/dev/null)" ]; then
	echo "sid-kernel: unpacking sid's $kver into $dest" >&2
	root=${TAP_SID_ROOT:-$repo/build/sid-root}
	cache=/var/cache/tap-kernel
	# base: System.map, modules.builtin and .order, which depmod and
	# modprobe need; binary: the image; modules: everything else.
	"$repo/scripts/sid-root.sh" run /bin/sh -euc '
		rm -rf "$1" && mkdir -p "$1" && cd "$1"
		apt-get -q -o Dpkg::Use-Pty=0 -o APT::Sandbox::User=root download "linux-base-$2" "linux-binary-$2" "linux-modules-$2"
	' sh "$cache" "$kver" >&2
	rm -rf "$dest.new"
	mkdir -p "$dest.new"
	for deb in "$root$cache"/*.deb; do
		dpkg-deb -x "$deb" "$dest.new"
	done
	rm -rf "$root$cache"
	depmod -b "$dest.new/usr" "$kver"
	[ -r "$dest.new/usr/lib/modules/$kver/vmlinuz" ] || die "no vmlinuz in sid's linux-binary-$kver"
	touch "$dest.new/usr/lib/modules/$kver/.tap-ready"
	rm -rf "$dest"
	mv "$dest.new" "$dest"
fi

if [ $# -gt 0 ]; then
	TAP_KVER=$kver TAP_KIMAGE=$moddir/vmlinuz TAP_KMODROOT=$dest/usr exec "$@"
fi
printf 'TAP_KVER=%q\nTAP_KIMAGE=%q\nTAP_KMODROOT=%q\n' "$kver" "$moddir/vmlinuz" "$dest/usr"
