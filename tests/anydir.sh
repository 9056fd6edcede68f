#!/bin/bash
# A checkout anywhere works, /tmp included (the guest mounts a fresh tmpfs on
# its /tmp, which used to hide a checkout there): clones this repository's
# HEAD under the host's /tmp, builds it and runs the smoke test from the clone.
# The clone goes when it ends; its guest logs stay in build/qemu/logs/anydir.
set -eu
cd "$(dirname "$0")/.."
repo=$PWD
clone=$(mktemp -d /tmp/tap-anydir.XXXXXX)
trap 'rm -rf "$clone"' EXIT
git clone -q . "$clone"
echo "=== anydir: building a clone in $clone"
make -C "$clone" -s all >"$clone.build.log" 2>&1 || { tail -n 30 "$clone.build.log"; rm -f "$clone.build.log"; exit 1; }
rm -f "$clone.build.log"
cd "$clone"
rc=0
tests/run-guest-tests.sh smoke || rc=$?
rm -rf "$repo/build/qemu/logs/anydir" && mkdir -p "$repo/build/qemu/logs/anydir" &&
	cp -r build/qemu/logs/. "$repo/build/qemu/logs/anydir/"
[ $rc = 0 ] || echo "anydir: the clone's guest logs are in build/qemu/logs/anydir/"
exit $rc
