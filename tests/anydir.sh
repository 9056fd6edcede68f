#!/bin/bash
# A checkout anywhere works, /tmp included (the guest mounts a fresh tmpfs on
# its /tmp, which used to hide a checkout there): clones this repository's
# HEAD under the host's /tmp, builds it and runs the smoke test from the clone.
set -eu
cd "$(dirname "$0")/.."
clone=$(mktemp -d /tmp/tap-anydir.XXXXXX)
trap 'rm -rf "$clone"' EXIT
git clone -q . "$clone"
echo "=== anydir: building a clone in $clone"
make -C "$clone" -s all >"$clone.build.log" 2>&1 || { tail -n 30 "$clone.build.log"; rm -f "$clone.build.log"; exit 1; }
rm -f "$clone.build.log"
cd "$clone"
exec tests/run-guest-tests.sh smoke
