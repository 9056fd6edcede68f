#!/bin/bash
# Installs everything TAP needs to build, test and demo on Debian 12.
# Run as root. Idempotent. Adds bookworm-backports (for the 6.12 kernel the
# build is also checked against), using the mirror this machine already uses.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

src=/etc/apt/sources.list.d/debian.sources
bp=/etc/apt/sources.list.d/tap-backports.sources
if [ ! -e "$bp" ] && ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
	uris=$(awk '/^URIs:/ { print $2; exit }' "$src" 2>/dev/null || true)
	[ -n "$uris" ] || uris=$(awk '/^deb / { print $2; exit }' /etc/apt/sources.list)
	printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
		"$uris" > "$bp"
fi

pkgs=(
	# build and lint
	shellcheck
	build-essential pkg-config make gcc libc6-dev
	libxtables-dev libnftnl-dev libmnl-dev libsodium-dev libnetfilter-queue-dev libcap-ng-dev
	# kernel module build and guest kernel (Debian's stock 6.1)
	linux-image-amd64 linux-headers-amd64 kmod dkms
	# guest test bed (debootstrap: the sid root of make check-build-sid)
	qemu-system-x86 busybox-static cpio debootstrap
	# tools the tests drive inside the guest
	iptables nftables nmap iproute2 tcpdump python3 netsniff-ng
	openssh-server openssh-client curl procps
	faketime	# client_bundle: a client clock off by minutes (libfaketime)
	bash-completion	# unit-check: the completions are tested with its helpers
	jq	# key_rotate reads tap-keytool list --json
	# make bench: the flood model counts instructions with callgrind
	valgrind
	clang-14 libclang-rt-14-dev	# make fuzz: libFuzzer, ASan, UBSan runtimes
	# make bench: the paper's plots (trafgen, its SYN flood, is netsniff-ng above)
	gnuplot-nox
	# make deb: the packages, their check
	debhelper dh-dkms lintian
	# make check-debug: the debug kernel (scripts/build-debug-kernel.sh)
	linux-source-6.1 ccache flex bison bc libelf-dev libssl-dev
)

all_installed() {
	local n
	n=$(dpkg-query -W -f='${Status}\n' "${pkgs[@]}" 2>/dev/null |
		grep -c 'install ok installed')
	[ "$n" = "${#pkgs[@]}" ] &&
		ls /usr/src | grep -q '^linux-headers-6\.12\..*-amd64$'
}

# --if-missing: do nothing when everything is already there.
if [ "${1:-}" = --if-missing ] && all_installed; then
	exit 0
fi

[ "$(id -u)" = 0 ] || { echo "install-deps: run as root (sudo)" >&2; exit 1; }
apt-get update -q
apt-get install -y -q --no-install-recommends "${pkgs[@]}"

# Newest 6.12 kernel and headers from bookworm-backports (build check).
k612=$(apt-cache search --names-only '^linux-image-6\.12\..*\+deb12-amd64$' |
	awk '{ print $1 }' | sort -V | tail -n 1)
if [ -n "$k612" ]; then
	apt-get install -y -q --no-install-recommends "$k612" "${k612/image/headers}"
else
	echo "install-deps: no 6.12 kernel found in bookworm-backports" >&2
	exit 1
fi
