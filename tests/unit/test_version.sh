#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# VERSION is the one version number: the Debian changelog, dkms.conf, the
# module's MODULE_VERSION (each build in the tree) and every tool's
# --version must say the same.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
fails=0
ver=$(cat VERSION)
check() { # WHAT GOT
	if [ "$2" = "$ver" ]; then
		echo "ok: $1: $2"
	else
		echo "FAIL: $1 says '$2', VERSION says '$ver'"
		fails=$((fails + 1))
	fi
}
[[ $ver =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "FAIL: VERSION '$ver' is not X.Y.Z"; exit 1; }
check debian/changelog "$(sed -n '1s/^tap (\([^)]*\)).*/\1/p' debian/changelog)"
check dkms.conf "$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)"
for tool in tap-keytool tap-nft tap-clientd; do
	check "$tool --version" "$(build/$tool --version | sed -n "s/^$tool //p")"
done
# modinfo reads a file only by a name ending in .ko: the kept builds are
# *.bin, so each is read through a .ko-named copy.
ko_copy=$(mktemp --suffix=.ko)
trap 'rm -f "$ko_copy"' EXIT
for ko in xt_tap/xt_tap.ko build/kmod/*/xt_tap.bin; do
	[ -e "$ko" ] || continue
	cp "$ko" "$ko_copy"
	check "MODULE_VERSION of $ko" "$(modinfo -F version "$ko_copy")"
done
[ $fails = 0 ] || exit 1
echo "PASS: version $ver everywhere"
