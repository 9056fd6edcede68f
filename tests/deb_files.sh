#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tests/deb_files.sh DEBDIR: make install installs exactly the files of the
# three packages in DEBDIR (make deb's build/deb): the same paths, modes and
# contents, but for what only packaging adds (/usr/share/doc/PKG/copyright
# and changelog, lintian overrides, man pages gzipped).
set -euo pipefail
cd "$(dirname "$0")/.."
debdir=${1:?usage: tests/deb_files.sh DEBDIR}
ver=$(cat VERSION)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# FILE MODE SHA256 for every regular file under $1, man pages unzipped;
# programs without the hash (the packages' are stripped, built with
# dpkg-buildflags)
list() {
	(cd "$1" && find . -type f -printf '%P\n' | sort | while read -r f; do
		case $f in usr/share/doc/*/copyright|usr/share/doc/*/changelog*|usr/share/lintian/*) continue ;; esac
		m=$(stat -c %a "$f")
		case $f in
		*) [ "$(od -An -N4 -tx1 "$f")" = " 7f 45 4c 46" ] && { echo "/$f $m program"; continue; } ;;
		esac
		case $f in
		*.gz) echo "/${f%.gz} $m $(gzip -dc "$f" | sha256sum | cut -c1-16)" ;;
		*) echo "/$f $m $(sha256sum <"$f" | cut -c1-16)" ;;
		esac
	done)
}

n=0
for pkg in xt-tap-dkms tap-server tap-client; do
	deb=$(find "$debdir" -maxdepth 1 -name "${pkg}_${ver}_*.deb" | head -n 1)
	[ -n "$deb" ] || { echo "FAIL: no ${pkg}_${ver}_*.deb in $debdir (make deb)"; exit 1; }
	dpkg-deb -x "$deb" "$tmp/debs"
	n=$((n + 1))
done
make -s install DESTDIR="$tmp/inst" PREFIX=/usr >/dev/null
list "$tmp/debs" >"$tmp/debs.txt"
list "$tmp/inst" >"$tmp/inst.txt"
if ! diff -u "$tmp/debs.txt" "$tmp/inst.txt"; then
	echo "FAIL: make install (+) and the packages (-) differ"
	exit 1
fi
echo "PASS: make install DESTDIR=... installs the $(wc -l <"$tmp/inst.txt") files of the $n packages, same modes and contents"

make -s uninstall DESTDIR="$tmp/inst" PREFIX=/usr >/dev/null
left=$(find "$tmp/inst" -type f)
[ -z "$left" ] || { echo "FAIL: make uninstall left: $left"; exit 1; }
echo "PASS: make uninstall DESTDIR=... removes every file make install installed"

# a configuration file in /etc (as h11apply's protect.conf will be) is the
# admin's once installed: neither a second install nor uninstall touches it
conf="0644:VERSION:/etc/tap/test.conf"
make -s install-server DESTDIR="$tmp/etc" SERVER_FILES="$conf" >/dev/null
echo edited >"$tmp/etc/etc/tap/test.conf"
make -s install-server DESTDIR="$tmp/etc" SERVER_FILES="$conf" >/dev/null
make -s uninstall DESTDIR="$tmp/etc" SERVER_FILES="$conf" >/dev/null
[ "$(cat "$tmp/etc/etc/tap/test.conf")" = edited ] || { echo "FAIL: make install/uninstall changed a file in /etc"; exit 1; }
echo "PASS: make install and uninstall leave an existing file in /etc as the admin made it"

make -s install DESTDIR="$tmp/local" PREFIX=/usr/local >/dev/null
for f in usr/local/sbin/tap-keytool usr/local/sbin/tap-nft usr/local/sbin/tap-clientd \
	usr/local/share/man/man8/tap-nft.8; do
	[ -e "$tmp/local/$f" ] || { echo "FAIL: PREFIX=/usr/local: no /$f"; exit 1; }
done
if [ -e "$tmp/local/usr/sbin" ] || ! grep -q '^ExecStart=/usr/local/sbin/tap-keytool sync' \
	"$tmp/local/lib/systemd/system/tap-keys.service"; then
	echo "FAIL: PREFIX=/usr/local: files in /usr/sbin, or the unit does not run /usr/local/sbin's tool"
	exit 1
fi
echo "PASS: PREFIX=/usr/local: the programs and man pages under /usr/local, the units run them from there"
