#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The packages as an admin installs them, inside the guest (whose root is a
# throwaway overlay): dpkg -i of make deb's xt-tap-dkms, tap-server and
# tap-client; DKMS builds the module for the running kernel in the
# postinst; then e2e_token and e2e_scan run against the installed files
# only: the tools from /usr/sbin, the plugin from the system's xtables
# directory, the module from updates/dkms (no build/ in PATH or in the tree
# they run from; only the test sender, tap-send, is not a packaged tool).
# A DKMS build in TCG takes minutes:
# guest-timeout: 1800
# long (make check-packaging runs it, on Debian's stock kernel):
# guest-default: no
. "$(dirname "$(readlink -f "$0")")/setup.sh"
# shellcheck source=lib_install.sh
. "$TAP_GUEST_DIR/lib_install.sh"

k=$(uname -r)
ver=$(cat "$TAP_REPO/VERSION")
mapfile -t debs < <(find "$TAP_REPO/build/deb" -maxdepth 1 -name "*_${ver}_*.deb" ! -name '*-dbgsym_*' 2>/dev/null)
[ ${#debs[@]} = 3 ] || fail "expected the 3 packages of version $ver in build/deb (make deb), found ${#debs[@]}"

# DKMS builds for every kernel with headers, and a build takes ~10 minutes
# in TCG: the guest keeps only its own kernel's headers (in its overlay).
others=()
for d in /lib/modules/*/; do
	[ "$(basename "$d")" = "$k" ] || { rm -f "${d}build"; others+=("$(basename "$d")"); }
done
mkdir -p /tmp/debs && cp "${debs[@]}" /tmp/debs/ || fail "copying the packages"
out=$(dpkg -i /tmp/debs/*.deb 2>&1) || { echo "$out" | tail -n 40; fail "dpkg -i"; }
echo "$out" | grep -E '^xt_tap: |Building|installed|Setting up' | sed 's/^/    /'
for p in xt-tap-dkms tap-server tap-client; do
	[ "$(dpkg-query -W -f='${Status} ${Version}' "$p")" = "install ok installed $ver" ] ||
		fail "$p: $(dpkg-query -W -f='${Status} ${Version}' "$p")"
done
path=$(expect_dkms_module "$k") || exit 1
# the postinst went over every kernel (tests/unit/test_dkms_all_kernels.sh)
for o in "${others[@]}"; do
	grep -q "^xt_tap: no headers for kernel $o " <<<"$out" || fail "the postinst did not look at kernel $o"
done
[ "$(modinfo -F version "$path")" = "$ver" ] || fail "the module's version is not $ver"
pass "dpkg -i: the 3 packages of $ver installed; DKMS built xt_tap $ver for $k ($path)"

[ "$(stat -c '%a %U' /etc/tap/keys)" = "700 root" ] || fail "/etc/tap/keys: $(stat -c '%a %U' /etc/tap/keys)"
id -u tap-clientd >/dev/null || fail "no user tap-clientd"
[ "$(stat -c '%a %U %G' /etc/tap/clientd)" = "750 root tap-clientd" ] ||
	fail "/etc/tap/clientd: $(stat -c '%a %U %G' /etc/tap/clientd)"
for u in tap-keys tap-clientd; do
	[ "$(systemctl is-enabled $u.service 2>&1)" = disabled ] ||
		fail "$u.service: $(systemctl is-enabled $u.service 2>&1), not installed and disabled"
done
pass "postinst: /etc/tap/keys (0700), the user tap-clientd and /etc/tap/clientd (0750, its group); the units installed, not enabled"

# Only the installed files from now on: the system PATH, no build/ anywhere,
# and a tools directory with nothing but the test sender.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/run/busybox
unset XTABLES_LIBDIR
rm -rf "$TAP_BIN" && mkdir -p "$TAP_BIN" && cp "$TAP_REPO/build/tap-send" "$TAP_BIN/" || fail "tap-send"
for tool in tap-keytool tap-nft tap-clientd; do
	[ "$(command -v $tool)" = "/usr/sbin/$tool" ] || fail "$tool is $(command -v $tool)"
	[ "$($tool --version)" = "$tool $ver" ] || fail "$tool --version: $($tool --version)"
done
[ -e "/usr/lib/x86_64-linux-gnu/xtables/libxt_tap.so" ] || fail "no system libxt_tap.so"
iptables -m tap --help 2>&1 | grep -q -- '--key-id' || fail "iptables does not find the installed tap plugin"
# iptables asked the kernel for the match's revision: the kernel loaded the
# module (alias ipt_tap) from updates/dkms
[ "$(cat /sys/module/xt_tap/version 2>/dev/null)" = "$ver" ] || fail "xt_tap $ver not loaded by iptables -m tap"
rmmod xt_tap || fail "rmmod xt_tap"
pass "the tools are /usr/sbin's (--version $ver); iptables finds the installed plugin and loads the DKMS module"

src=/tmp/tap-src
copy_tree "$src"
[ -e "$src/build" ] && fail "the copy has a build/"
for t in e2e_token e2e_scan; do
	echo "--- $t, installed files (module $path)"
	TAP_KO=$path "$src/tests/guest/$t.sh" || fail "$t against the installed packages"
	pass "$t against the installed packages"
	# each e2e test loads it afresh; a deleted netns lets go of it a little later
	for _ in $(seq 20); do rmmod xt_tap 2>/dev/null && break; sleep 0.5; done
	grep -q '^xt_tap ' /proc/modules && fail "rmmod xt_tap after $t"
done
check_dmesg_clean
pass "deb_install"
