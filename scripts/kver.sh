#!/bin/sh
# The kernel to build against and boot in the guest: Debian's stock kernel
# (what linux-image-amd64 depends on), else the newest installed headers.
# TAP_KVER overrides.
[ -n "$TAP_KVER" ] && { echo "$TAP_KVER"; exit 0; }
k=$(dpkg-query -W -f='${Depends}' linux-image-amd64 2>/dev/null |
	sed -n 's/.*linux-image-\([^ ,(]*\).*/\1/p')
if [ -n "$k" ] && [ -d "/lib/modules/$k/build" ]; then
	echo "$k"
	exit 0
fi
ls -d /lib/modules/*/build 2>/dev/null | sed 's|/lib/modules/||; s|/build||' |
	sort -V | tail -n 1
