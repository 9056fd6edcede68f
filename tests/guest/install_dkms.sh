#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The module as a sysadmin installs it, inside the guest (whose root is a
# throwaway overlay): make dkms-install builds and installs xt_tap for the
# running kernel through DKMS; then
#  - an iptables -m tap rule loads the module by itself (alias ipt_tap), and
#    it is the DKMS build; tap-nft protect (inet) loads it too;
#  - tap-keys.service's own commands (modprobe, then tap-keytool sync
#    /etc/tap/keys) load the module and the keys, and a token passes.
. "$(dirname "$(readlink -f "$0")")/setup.sh"
# shellcheck source=lib_install.sh
. "$TAP_GUEST_DIR/lib_install.sh"

k=$(uname -r)
src=/tmp/tap-src
copy_tree "$src"
out=$(make -C "$src" dkms-install KVER="$k" 2>&1) || { echo "$out" | tail -n 30; fail "make dkms-install"; }
path=$(expect_dkms_module "$k") || exit 1
pass "make dkms-install: DKMS built and installed xt_tap for $k ($path)"

topo_start
S() { in_ns server "$@"; }

grep -q '^xt_tap ' /proc/modules && fail "xt_tap is loaded already"
protect server iptables raw PREROUTING 3
grep -q '^xt_tap ' /proc/modules || fail "iptables -m tap did not load the module"
[ "$(cat /sys/module/xt_tap/srcversion)" = "$(modinfo -F srcversion xt_tap)" ] ||
	fail "the loaded module is not the DKMS build"
S iptables -t raw -S PREROUTING | grep -q -- '-m tap --key-id 3 -j ACCEPT' || fail "rule"
pass "iptables -m tap loads the DKMS module by itself"
unprotect server
rmmod xt_tap || fail "rmmod"

# nft_compat cannot load it for an inet table; tap-nft does, like iptables
out=$(S tap-nft protect --dport "$HTTP_PORT" --key-id 3) || fail "tap-nft protect: $out"
grep -q '^xt_tap ' /proc/modules || fail "tap-nft protect did not load the module"
S nft list tables | grep -qx 'table inet tap' || fail "no table inet tap"
S tap-nft unprotect >/dev/null || fail "tap-nft unprotect"
pass "tap-nft protect (an inet table) loads the DKMS module first"
rmmod xt_tap || fail "rmmod"

# tap-keys.service's commands, as systemd would run them (the tools from the
# build tree instead of /usr/sbin)
unit=$TAP_REPO/keytool/tap-keys.service
install -d -m 700 /etc/tap/keys || fail "mkdir /etc/tap/keys"
tap-keytool genkey --id 3 -o /etc/tap/keys/3.key >/dev/null || fail "genkey"
pre=$(sed -n 's/^ExecStartPre=//p' "$unit") start=$(sed -n 's/^ExecStart=//p' "$unit")
[ "$pre" = "/sbin/modprobe xt_tap" ] && [ "$start" = "/usr/sbin/tap-keytool sync /etc/tap/keys" ] ||
	fail "unexpected unit commands: $pre; $start"
$pre || fail "$pre"
out=$(S ${start/\/usr\/sbin\/tap-keytool/tap-keytool}) || fail "$start: $out"
echo "    $out"
grep -q "^3 " <(S tap-keytool list | awk 'NR > 1') || fail "key 3 not loaded"
protect server iptables raw PREROUTING 3
snapshot server
auth_and_syn client /etc/tap/keys/3.key "$SERVER4" "$(rand32)" "$(rand_port)"
expect_stat server accepted "${SNAP[accepted]}" 1
pass "tap-keys.service's commands load the DKMS module and /etc/tap/keys; a token is accepted"

unprotect server
rmmod xt_tap || fail "rmmod after the test"
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$TAP_REPO/dkms.conf")
dkms remove -m xt_tap -v "$ver" --all >/dev/null || fail "dkms remove"
modinfo xt_tap >/dev/null 2>&1 && fail "dkms remove left the module"
check_dmesg_clean
pass "install_dkms"
