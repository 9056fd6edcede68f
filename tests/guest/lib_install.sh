#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Helpers of the tests that install TAP as an admin would (install_dkms,
# deb_install); sourced after setup.sh. Sourcing it only defines.

# copy_tree DEST: the source tree, without .git, build/ and objects, into DEST
copy_tree() {
	mkdir -p "$1" && tar -C "$TAP_REPO" --exclude=./.git --exclude=./build --exclude='*.ko' --exclude='*.o' -cf - . |
		tar -C "$1" -xf - || fail "copying the tree to $1"
}

# expect_dkms_module KVER: DKMS installed xt_tap for KVER and modprobe finds
# that build (in updates/dkms); prints its path
expect_dkms_module() {
	local path
	dkms status xt_tap | grep -q "$1.*installed" || fail "dkms status: $(dkms status xt_tap)" >&2
	path=$(modinfo -k "$1" -n xt_tap) || fail "modinfo xt_tap: the installed module is not found" >&2
	case $path in
	/lib/modules/"$1"/updates/dkms/xt_tap.ko*) echo "$path" ;;
	*) fail "modinfo -n xt_tap: $path, not the DKMS build" >&2 ;;
	esac
}
