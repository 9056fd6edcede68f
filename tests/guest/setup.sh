#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Sourced first by every guest test, as its whole preamble:
#
#   . "$(dirname "$(readlink -f "$0")")/setup.sh"
#
# Turns on "set -u", sets TAP_REPO to the tree the test is in, defines the
# helpers of topology.sh, lib_tap.sh and lib_client.sh (which only define),
# and copies the tools to guest tmpfs. What a test sets up next is its own
# choice: topo_start (the network, torn down on exit), tap_load_module,
# clientd_prepare (the daemon's user and directory).
# It reads no arguments: the test's own "$@" is left as it was.

# shellcheck source-path=SCRIPTDIR
set -u
TAP_GUEST_DIR=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
# the tree this file is in (a scratch copy too), else the harness's
if [ -d "$TAP_GUEST_DIR/../../xt_tap" ] || [ -z "${TAP_REPO:-}" ]; then
	TAP_REPO=$(cd "$TAP_GUEST_DIR/../.." && pwd)
fi
export TAP_REPO

# shellcheck source=topology.sh
. "$TAP_GUEST_DIR/topology.sh"
# shellcheck source=lib_tap.sh
. "$TAP_GUEST_DIR/lib_tap.sh"
# shellcheck source=lib_client.sh
. "$TAP_GUEST_DIR/lib_client.sh"

tap_install_tools
