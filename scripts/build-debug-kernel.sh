#!/bin/bash
# Builds the debug kernel of `make check-debug` from Debian's linux-source-6.1:
# x86_64_defconfig + kvm_guest.config + scripts/debug-kernel.config (KASAN,
# kmemleak, lockdep, DEBUG_ATOMIC_SLEEP, DEBUG_LIST, debug objects, UBSAN;
# what the guest harness and tests need). Everything lands in
# build/debug-kernel/, a link to a directory outside the checkout
# (TAP_DEBUG_KERNEL_DIR, default /var/cache/tap-debug-kernel/tree, shared by
# every checkout and kept over `make clean`): an external module's `make
# clean` (make modules-all) deletes every object under the module's
# directory, and find does not follow the link.
#   linux-source-6.1/  the source        obj/      the build tree (KDIR)
#   vmlinuz            the image         modroot/  lib/modules/KVER
#   kver               the release
# Installs the packages it needs (as root), once. Runs under nice -n 10;
# the compiler goes through ccache, so a rebuild takes about a minute.
set -euo pipefail

repo=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cache=/var/cache/tap-debug-kernel
[ -w /var/cache ] || cache=${XDG_CACHE_HOME:-$HOME/.cache}/tap-debug-kernel
mkdir -p "$cache/tree"
# the real path: kbuild compares command lines, which hold it
out=$(readlink -f "${TAP_DEBUG_KERNEL_DIR:-$cache/tree}")
tarball=/usr/src/linux-source-6.1.tar.xz
fragment=$repo/scripts/debug-kernel.config
pkgs=(linux-source-6.1 ccache flex bison bc libelf-dev libssl-dev cpio)

die() { echo "build-debug-kernel: $*" >&2; exit 1; }

# dpkg-query fails when one is missing: count, do not stop (pipefail)
installed=$(dpkg-query -W -f='${Status}\n' "${pkgs[@]}" 2>/dev/null | grep -c 'install ok installed' || true)
if [ "$installed" != "${#pkgs[@]}" ]; then
	[ "$(id -u)" = 0 ] || die "needs ${pkgs[*]}: run as root, or apt-get install them"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${pkgs[@]}"
fi

# One build at a time in the shared tree.
exec 9>"$cache/lock"
flock 9
[ -L "$repo/build/debug-kernel" ] || [ ! -e "$repo/build/debug-kernel" ] ||
	die "$repo/build/debug-kernel is not a link: remove it"
mkdir -p "$out" "$repo/build"
ln -sfn "$out" "$repo/build/debug-kernel"
src=$out/linux-source-6.1 obj=$out/obj
# A new linux-source package: unpack it afresh.
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
if [ "$(cat "$out/source-version" 2>/dev/null)" != "$srcver" ]; then
	echo "== unpacking linux-source-6.1 $srcver"
	rm -rf "$src" "$out/source-version"
	nice -n 10 tar -C "$out" -xaf "$tarball"
	echo "$srcver" >"$out/source-version"
fi

# With CCACHE_BASEDIR the paths ccache hashes are relative to the build tree.
export CCACHE_DIR=${CCACHE_DIR:-$cache/ccache} CCACHE_BASEDIR=$out CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
# Fixed build stamps: the same source gives the same objects, which ccache hits.
export KBUILD_BUILD_TIMESTAMP="linux-source-6.1 $srcver" KBUILD_BUILD_USER=tap KBUILD_BUILD_HOST=tap
kmake() { nice -n 10 make -C "$src" O="$obj" CC="ccache gcc" HOSTCC="ccache gcc" "$@"; }

# Configure when the fragment or the source changed.
cfghash=$(cat "$fragment" "$out/source-version" | sha256sum | cut -c1-16)
if [ ! -s "$obj/.config" ] || [ "$(cat "$out/config-hash" 2>/dev/null)" != "$cfghash" ]; then
	echo "== configuring (x86_64_defconfig + kvm_guest.config + $(basename "$fragment"))"
	mkdir -p "$obj"
	kmake -s x86_64_defconfig
	(cd "$obj" && "$src/scripts/kconfig/merge_config.sh" -m -O "$obj" \
		"$obj/.config" "$src/kernel/configs/kvm_guest.config" "$fragment" >/dev/null)
	kmake -s olddefconfig
	# merge_config only warns when Kconfig drops a symbol: refuse instead.
	bad=0
	while IFS= read -r line; do
		case $line in
		CONFIG_*=*) grep -qxF "$line" "$obj/.config" || { echo "not in .config: $line" >&2; bad=1; } ;;
		"# CONFIG_"*" is not set")
			sym=${line#\# }; sym=${sym%% *}
			! grep -q "^$sym=" "$obj/.config" || { echo "still set: $sym" >&2; bad=1; } ;;
		esac
	done <"$fragment"
	[ $bad = 0 ] || die "the config lost symbols of $(basename "$fragment") (see above)"
	echo "$cfghash" >"$out/config-hash"
fi

echo "== building in $obj ($(nproc) jobs, ccache in $CCACHE_DIR)"
start=$SECONDS
kmake -j"$(nproc)" bzImage modules
kver=$(kmake -s --no-print-directory kernelrelease)
rm -rf "$out/modroot"
kmake -s INSTALL_MOD_PATH="$out/modroot" modules_install >/dev/null
ln -sfn "$obj" "$out/modroot/lib/modules/$kver/build"
cp "$obj/arch/x86/boot/bzImage" "$out/vmlinuz"
echo "$kver" >"$out/kver"
echo "== debug kernel $kver built in $((SECONDS - start)) s: $out/vmlinuz, $out/modroot"
ccache -s 2>/dev/null | grep -E 'Hits|Misses|hit rate' || true
