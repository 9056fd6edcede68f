#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The test-only packet injectors of bench/inject for guest tests
# (forgery_scale.sh, lifecycle_load.sh); sourcing it only defines.
# `make inject-modules` builds them for every installed kernel into
# build/kmod/KVER/NAME.bin; a fresh in-tree build is used when it fits.

# inject_load NAME [PARAMS...]: insmod NAME.ko built for the running kernel
inject_load() {
	local name=$1 ko
	shift
	ko=$TAP_REPO/build/kmod/$(uname -r)/$name.bin
	[ -e "$ko" ] || ko=$TAP_REPO/bench/inject/$name.ko
	cp "$ko" "/tmp/$name.ko" 2>/dev/null ||
		fail "no $name for $(uname -r): run make inject-modules"
	[ "$(modinfo -F vermagic "/tmp/$name.ko" | cut -d' ' -f1)" = "$(uname -r)" ] ||
		fail "$ko is not built for $(uname -r): run make inject-modules"
	insmod "/tmp/$name.ko" "$@" || fail "insmod $name $*"
}
