#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# scripts/dkms-all-kernels.sh (make install's and xt-tap-dkms's postinst's
# module install) with a stand-in dkms: it installs for every kernel that
# has headers and is not installed yet, the running one or not; skips,
# with a message, a kernel without headers; reports a failed build.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

mkdir -p "$tmp/bin" "$tmp/modules/6.1.0-1-amd64/build/include" \
	"$tmp/modules/6.12.1-amd64/build/include" "$tmp/modules/6.5.0-old-amd64/build/include" \
	"$tmp/modules/5.10.0-noheaders-amd64"
# stand-in dkms: status says 6.5.0-old is installed; install logs its
# kernel, and fails for a kernel named in $tmp/fail
cat >"$tmp/bin/dkms" <<'STUB'
#!/bin/bash
echo "$*" >>"$STUB_LOG"
case $1 in
status) [[ "$*" == *6.5.0-old-amd64* ]] && echo "xt_tap/0.1.0, 6.5.0-old-amd64, x86_64: installed"; exit 0 ;;
install) k=${!#}; grep -qx "$k" "$STUB_FAIL" 2>/dev/null && exit 10; exit 0 ;;
esac
STUB
chmod 755 "$tmp/bin/dkms"
export PATH="$tmp/bin:$PATH" TAP_MODULES_DIR="$tmp/modules" STUB_LOG="$tmp/log" STUB_FAIL="$tmp/fail"

out=$(scripts/dkms-all-kernels.sh 0.1.0) || fail "exit status $?: $out"
installed=$(sed -n 's/^install -m xt_tap -v 0.1.0 -k //p' "$tmp/log" | sort | tr '\n' ' ')
[ "$installed" = "6.1.0-1-amd64 6.12.1-amd64 " ] || fail "installed for: $installed"
grep -q '^add -m xt_tap -v 0.1.0$' "$tmp/log" || fail "no dkms add"
grep -q 'no headers for kernel 5.10.0-noheaders-amd64' <<<"$out" || fail "no message for the kernel without headers: $out"
echo "PASS: dkms install for each kernel with headers (6.1, 6.12), not the installed one, a message for the one without"

: >"$tmp/log"
echo 6.12.1-amd64 >"$tmp/fail"
out=$(scripts/dkms-all-kernels.sh 0.1.0 2>&1) && fail "a failed build exits 0"
grep -q 'the build for 6.12.1-amd64 failed' <<<"$out" || fail "no message for the failed build: $out"
grep -q -- '-k 6.1.0-1-amd64' "$tmp/log" || fail "a failed build stopped the others"
echo "PASS: a failed build is reported (exit 1) and the other kernels are still built"
