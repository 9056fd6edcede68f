#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A minimal Debian sid root (debootstrap) with gcc, make and sid's newest
# kernel headers, to build xt_tap against a kernel newer than Debian 12 can
# install (sid's kbuild needs sid's libc and compiler). Made once, then
# reused: a rerun only builds.
#
#   scripts/sid-root.sh [root]        # make the root if missing; print its kernel version
#   scripts/sid-root.sh update        # newest sid headers (apt-get update + upgrade)
#   scripts/sid-root.sh build         # xt_tap.ko against them, warnings as errors,
#                                     # kept as build/kmod/KVER/xt_tap.bin
#   scripts/sid-root.sh run CMD...    # CMD inside the root
#
# TAP_SID_ROOT: where the root lives (default build/sid-root). The archive
# is the one this machine's apt uses (its URIs, read at run time). Inside,
# /proc, /dev and the checkout (read-only, at /src) are mounted in a private
# mount namespace, so nothing stays mounted when the command ends.
# Run as root.
set -euo pipefail

repo=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
root=${TAP_SID_ROOT:-$repo/build/sid-root}
pkgs=(gcc make libc6-dev linux-headers-amd64)

die() { echo "sid-root: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"

# The first Debian archive URI of this machine's apt sources.
mirror() {
	local uri
	uri=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
	[ -n "$uri" ] || uri=$(awk '/^deb / { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
	[ -n "$uri" ] || die "no Debian archive URI in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
	echo "$uri"
}

# in_root CMD...: CMD chrooted into the root, with /proc (objtool reads
# it), /dev and the checkout mounted only for its lifetime.
in_root() {
	cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
	mkdir -p "$root/src"
	unshare --mount --propagation private -- /bin/sh -euc '
		r=$1 src=$2; shift 2
		mount -t proc proc "$r/proc"
		mount --rbind /dev "$r/dev"
		mount --bind "$src" "$r/src"
		mount -o remount,bind,ro "$r/src"
		exec chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
	' sh "$root" "$repo" "$@"
}

apt_in_root() {
	in_root apt-get -q -o Dpkg::Use-Pty=0 "$@"
}

# The newest kernel whose headers the root holds.
root_kver() {
	ls "$root/usr/src" 2>/dev/null | sed -n 's/^linux-headers-\(.*-amd64\)$/\1/p' |
		sort -V | tail -n 1
}

make_root() {
	[ -e "$root/.tap-ready" ] && return 0
	# debootstrap fills $root.new, renamed when complete: a root without
	# .tap-ready only lacks the packages.
	if [ ! -e "$root/etc/debian_version" ]; then
		command -v debootstrap >/dev/null || die "debootstrap missing: scripts/install-deps.sh"
		local tmp=$root.new uri
		uri=$(mirror)
		rm -rf "$tmp"
		echo "sid-root: debootstrap sid into $root (from $uri)"
		nice -n 10 debootstrap --variant=minbase sid "$tmp" "$uri" >"$tmp.log" 2>&1 ||
			{ tail -n 20 "$tmp.log" >&2; die "debootstrap failed (log: $tmp.log)"; }
		rm -rf "$root"
		mv "$tmp" "$root"
		mv "$tmp.log" "$root/debootstrap.log"
	fi
	# sid's Release files expire within days; the archive this machine
	# uses may serve an older one than the clock expects.
	printf '%s\n' 'APT::Install-Recommends "false";' 'Acquire::Check-Valid-Until "false";' \
		>"$root/etc/apt/apt.conf.d/90tap"
	install_pkgs
	touch "$root/.tap-ready"
}

install_pkgs() {
	apt_in_root update
	nice -n 10 "$0" run apt-get -q -y -o Dpkg::Use-Pty=0 install --no-install-recommends "${pkgs[@]}"
	apt_in_root clean
}

build() {
	local kver src=/tmp/xt_tap-build out
	kver=$(root_kver)
	[ -n "$kver" ] || die "no kernel headers in $root/usr/src"
	echo "== xt_tap.ko against $kver (sid root, -Werror)"
	# A copy of the module's sources, so the checkout's own objects (built
	# for Debian 12's kernels) are neither used nor touched.
	nice -n 10 "$0" run /bin/sh -euc '
		rm -rf "$1" && mkdir -p "$1/xt_tap"
		cd /src
		cp Kbuild VERSION "$1/"
		cp xt_tap/Kbuild xt_tap/tap_core.[ch] xt_tap/tap_vectors.h xt_tap/xt_tap.h \
			xt_tap/xt_tap_*.[ch] "$1/xt_tap/"
		make -s -C "/lib/modules/$2/build" M="$1" KCFLAGS=-Werror modules
	' sh "$src" "$kver"
	out=$repo/build/kmod/$kver
	mkdir -p "$out"
	cp "$root$src/xt_tap/xt_tap.ko" "$out/xt_tap.bin"
	echo "sid-root: $out/xt_tap.bin"
}

mkdir -p "$(dirname "$root")"
exec 9>"$root.lock"
cmd=${1:-root}
[ $# -gt 0 ] && shift
case $cmd in
run)
	[ -e "$root/.tap-ready" ] || [ -e "$root/etc/debian_version" ] || die "no root at $root: run $0 first"
	in_root "$@"
	;;
*)
	flock 9
	make_root
	case $cmd in
	root) root_kver ;;
	update)
		install_pkgs
		root_kver
		;;
	build) build ;;
	*) die "unknown command $cmd (root, update, build, run CMD...)" ;;
	esac
	;;
esac
