#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# dkms-all-kernels VERSION: builds and installs xt_tap VERSION through DKMS
# for every kernel in /lib/modules that has its headers, the running one
# included (DKMS's own postinst does only the running and the newest, and
# an older copy in updates/dkms would then shadow a newer install).
# Installed as /usr/libexec/xt-tap-dkms/dkms-all-kernels; run by make install and
# by xt-tap-dkms's postinst. Exit 1 if a build failed.
# (TAP_MODULES_DIR: another /lib/modules, for tests/unit/test_dkms_all_kernels.sh)
set -u
ver=${1:?usage: dkms-all-kernels VERSION}
modules=${TAP_MODULES_DIR:-/lib/modules}
rc=0
dkms status -m xt_tap -v "$ver" | grep -q . || dkms add -m xt_tap -v "$ver" || exit 1
for dir in "$modules"/*/; do
	k=$(basename "$dir")
	if [ ! -d "$dir/build/include" ]; then
		echo "xt_tap: no headers for kernel $k (linux-headers-$k): not built for it"
		continue
	fi
	dkms status -m xt_tap -v "$ver" -k "$k" | grep -q ': installed' && continue
	echo "xt_tap: building for kernel $k"
	dkms install -m xt_tap -v "$ver" -k "$k" || { echo "xt_tap: the build for $k failed" >&2; rc=1; }
done
exit $rc
