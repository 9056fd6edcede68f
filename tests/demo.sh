#!/bin/bash
# make demo: boots the test VM and runs demo/guest-demo.sh in it.
set -eu
cd "$(dirname "$0")/.."
exec tests/qemu/run.sh -o build/qemu/logs demo/guest-demo.sh
