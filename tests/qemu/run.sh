#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a Debian kernel in qemu and run one guest test script inside it.
#
#   tests/qemu/run.sh [-k KVER] [--icount] [--smp N] [--mem MB] [--systemd] [-o LOGDIR] SCRIPT [ARGS...]
#
# The guest sees the host's / read-only over virtio-9p, with a tmpfs overlay
# on top so it may write anywhere, and a second, writable 9p share (/tapwork)
# that carries the command in and the status and log out. A tiny busybox
# initramfs loads the 9p/virtio/overlay modules, builds that root and
# switch_roots into it, running tests/qemu/guest-init.sh as PID 1.
#
# A kernel that is not installed in /boot (a debug build, sid's 7.2 unpacked
# from its packages) boots with TAP_KIMAGE=its image, TAP_KMODROOT=a directory
# holding lib/modules/KVER (used for the initramfs, and bind-mounted over the
# guest's /lib/modules/KVER) and TAP_KVER=KVER; TAP_KAPPEND adds to its
# command line.
#
# --systemd (or a line "# guest-init: systemd" in SCRIPT) boots systemd as
# PID 1 instead, with the overlay's upper directory on an ext4 disk image of
# the run, so that the test may reboot the guest (tests/guest/lib_sysd.sh):
# run.sh then boots it again, on the same disk, up to $TAP_GUEST_BOOTS times.
# A test that writes a kernel release into $TAP_WORK/next-kver before asking
# for the reboot gets the next boot on that kernel (/boot/vmlinuz-KVER, its
# own initramfs; TAP_KVER follows): a kernel upgrade.
#
# Exit status: the script's own exit status, or non-zero with a "tap:" message
# if the guest died, timed out or never reported. See tests/qemu/README.md.

set -euo pipefail

repo=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
build=${TAP_BUILD:-$repo/build}/qemu
kver=${TAP_KVER:-}
timeout=${TAP_QEMU_TIMEOUT:-900}
smp=${TAP_GUEST_SMP:-2} mem=1024 icount=0 logdir='' systemd=0
max_boots=${TAP_GUEST_BOOTS:-4}

die() { echo "tap: $*" >&2; exit 125; }
usage() {
	echo "usage: $0 [-k KVER] [--icount] [--smp N] [--mem MB] [--systemd] [-o LOGDIR] SCRIPT [ARGS...]" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	-k) kver=$2; shift 2 ;;
	--icount) icount=1; shift ;;
	--smp) smp=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--systemd) systemd=1; shift ;;
	-o) logdir=$2; shift 2 ;;
	-h|--help) usage ;;
	--) shift; break ;;
	-*) usage ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || usage
script=$(readlink -f "$1"); shift
[ -f "$script" ] || die "no such script: $script"
name=$(basename "$script" .sh)
grep -qx '# guest-init: systemd' "$script" && systemd=1

# The kernel the module is built for (scripts/kver.sh: Debian's stock
# kernel), unless told otherwise.
[ -n "$kver" ] || kver=$("$repo/scripts/kver.sh")
logdir=${logdir:-$build/logs/$kver}
log=$logdir/$name.log
[ -n "$kver" ] || die "no /boot/vmlinuz-* with /lib/modules/<ver>/kernel found"
kimage=${TAP_KIMAGE:-/boot/vmlinuz-$kver}
kmodroot=${TAP_KMODROOT:-}
[ -z "$kmodroot" ] || kmodroot=$(readlink -f "$kmodroot")

# ---- initramfs: busybox + the modules needed to mount the root ----------

# /init of the initramfs; runs under busybox sh. $tap_init comes from the
# kernel command line.
read -r -d '' init_sh <<'EOF' || true
#!/bin/busybox sh
/bin/busybox mkdir -p /dev /proc /sys /lower /rw /newroot
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
/bin/busybox --install -s /bin
export PATH=/bin
die() { echo "tap-initramfs: $*"; poweroff -f; }
mount -t proc proc /proc
mount -t sysfs sysfs /sys
for m in $(cat /modules/order); do
	insmod "/modules/$m" || die "insmod $m failed"
done
p9=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o ro,$p9,cache=loose hostroot /lower || die "cannot mount hostroot"
# run.sh --systemd: a disk keeps the guest's changes across its reboots
if grep -qw tap_systemd=1 /proc/cmdline; then
	for i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/vda ] || sleep 0.5; done
	mount -t ext4 /dev/vda /rw || die "cannot mount the disk"
else
	mount -t tmpfs -o mode=0755 tmpfs /rw
fi
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot ||
	die "cannot mount overlay"
mkdir -p /newroot/tapwork
mount -t 9p -o $p9 tapwork /newroot/tapwork || die "cannot mount tapwork"
[ -x "/newroot$tap_init" ] || die "guest init $tap_init not found in host root"
mount --move /dev /newroot/dev
umount /proc /sys
exec switch_root /newroot "$tap_init"
EOF

mods=(9p 9pnet_virtio virtio_pci overlay pvpanic_pci)
# the disk of --systemd (a debug kernel built without them boots without it)
[ "$systemd" = 0 ] || mods+=(virtio_blk ext4)

build_initramfs() {
	local tmp m f
	tmp=$(mktemp -d "$build/initramfs.XXXXXX")
	mkdir -p "$tmp/bin" "$tmp/modules"
	cp /bin/busybox "$tmp/bin/busybox"
	printf '%s\n' "$init_sh" >"$tmp/init"
	chmod 755 "$tmp/init"
	: >"$tmp/modules/order"
	# modprobe prints "insmod PATH" in load order, dependencies first
	# ("builtin NAME" for what the kernel has built in).
	for m in "${mods[@]}"; do
		modprobe ${kmodroot:+-d "$kmodroot"} -S "$kver" --show-depends "$m" ||
			die "modprobe -S $kver cannot resolve $m"
	# (crc32c-intel needs SSE4.2, which TCG lacks; ext4 has crc32c_generic)
	done | awk '$1 == "insmod" && $2 !~ /crc32c-intel/ && !seen[$2]++ { print $2 }' | while read -r f; do
		m=$(basename "$f"); m=${m%.xz}; m=${m%.zst}; m=${m%.gz}
		case $f in
		*.xz) xz -dc "$f" ;;
		*.zst) zstd -qdc "$f" ;;
		*.gz) gzip -dc "$f" ;;
		*) cat "$f" ;;
		esac >"$tmp/modules/$m"
		echo "$m" >>"$tmp/modules/order"
	done
	(cd "$tmp" && find . | cpio -o -H newc -R 0:0 --quiet) >"$tmp.cpio"
	mv -f "$tmp.cpio" "$initrd"
	rm -rf "$tmp"
}

# use_kernel: checks $kver, $kimage and $kmodroot, and sets $initrd to their
# initramfs, built once per hash of what goes into it
use_kernel() {
	local hash
	[ -r "$kimage" ] || die "cannot read the kernel image $kimage"
	[ -d "$kmodroot/lib/modules/$kver" ] || die "no modules for $kver in $kmodroot/lib/modules/$kver"
	hash=$(printf '%s\n' "$init_sh" "${mods[*]}" "$kimage" "$kmodroot" | sha256sum | cut -c1-12)
	initrd=$build/initramfs-$kver-$hash.cpio
	[ -s "$initrd" ] || build_initramfs
}

mkdir -p "$build" "$logdir"
use_kernel

# ---- systemd as PID 1 (--systemd) ---------------------------------------

# systemd_disk: the overlay's upper directory goes on a fresh ext4 image in
# the run directory; guest-init.sh boots systemd (tap_systemd=1)
systemd_disk() {
	truncate -s 4G "$work/disk.img"
	mkfs.ext4 -q -F -m 0 "$work/disk.img" || die "mkfs.ext4 $work/disk.img"
	qemu+=(-drive "file=$work/disk.img,if=virtio,format=raw,cache=unsafe")
	append+=" tap_systemd=1 systemd.show_status=error"
}

# systemd_boots: boots until the guest reports a status, as long as it asks
# for the next boot ($work/reboot, tests/guest/lib_sysd.sh) and reboots; on
# the kernel it names in $work/next-kver, if it wrote one
systemd_boots() {
	local n next
	for ((n = 1; n <= max_boots; n++)); do
		echo "$n" >"$work/boot"
		rm -f "$work/reboot" "$work/next-kver"
		echo "tap: boot $n of $name on $kver" | tee -a "$log"
		boot
		[ -s "$work/status" ] || [ "$rc" != 0 ] || [ ! -e "$work/reboot" ] && return
		[ -s "$work/next-kver" ] || continue
		next=$(<"$work/next-kver")
		case $next in
		*/* | .* | *[!A-Za-z0-9.+_~-]*) die "$name asked for the kernel '$next'" ;;
		esac
		kver=$next kimage=/boot/vmlinuz-$next kmodroot=''
		use_kernel
		write_cmd
	done
	echo "tap: $name asked for more than $max_boots boots" | tee -a "$log"
}

# ---- run ----------------------------------------------------------------

work=$(mktemp -d "$build/run.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$script" "$work/script"
argv=("$script" "$@")
# write_cmd: what the guest runs, and on which kernel
write_cmd() {
	{
		printf 'TAP_ARGV=(%s)\n' "$(printf '%q ' "${argv[@]}")"
		printf 'TAP_CWD=%q\nTAP_REPO=%q\nTAP_KVER=%q\nTAP_KMODROOT=%q\n' "$PWD" "$repo" "$kver" "$kmodroot"
	} >"$work/cmd"
}
write_cmd

if [ "$icount" = 1 ]; then
	accel=(-accel tcg -icount shift=0,sleep=off -smp 1)
else
	accel=(-accel tcg,thread=multi -smp "$smp")
fi
qemu=(qemu-system-x86_64 "${accel[@]}" -m "$mem"
	-nodefaults -nographic -no-reboot -serial stdio
	-device isa-debug-exit,iobase=0xf4,iosize=0x04
	-device pvpanic-pci -action panic=shutdown
	-fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap
	-device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
	-fsdev local,id=tapwork,path="$work",security_model=none
	-device virtio-9p-pci,fsdev=tapwork,mount_tag=tapwork)
append="console=ttyS0 quiet loglevel=4 tap_init=$repo/tests/qemu/guest-init.sh"
[ "$systemd" = 0 ] || systemd_disk

# boot: one run of qemu, its console appended to the log; sets rc
boot() {
	set +e
	timeout --foreground -k 10 "$timeout" "${qemu[@]}" -kernel "$kimage" -initrd "$initrd" -append "$append ${TAP_KAPPEND:-}" </dev/null 2>&1 |
		sed -u -e 's/\r$//' -e 's/\x1b\(c\|\[[0-9;?]*[a-zA-Z]\)//g' | tee -a "$log"
	rc=${PIPESTATUS[0]}
	set -e
}

echo "tap: $name on $kver (log: $log)"
: >"$log"
start=$SECONDS
if [ "$systemd" = 1 ]; then systemd_boots; else boot; fi
secs=$((SECONDS - start))

# isa-debug-exit makes qemu exit with (byte << 1) | 1; the status file in the
# share is exact, so prefer it. Plain exit 0 means the guest powered off or
# panicked (pvpanic) without reporting; 1 alone can also be a qemu error.
status=
[ -s "$work/status" ] && status=$(<"$work/status")
if [ -z "$status" ] && [ $((rc & 1)) = 1 ] && [ "$rc" -gt 1 ] && [ "$rc" -lt 125 ]; then
	status=$((rc >> 1))
fi
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
	echo "tap: FAIL $name: timed out after ${timeout}s" | tee -a "$log"
	exit 124
elif [ -z "$status" ] || ! [ "$status" -eq "$status" ] 2>/dev/null; then
	why="guest died without reporting a status (qemu exit $rc)"
	grep -q 'Kernel panic' "$log" && why="guest kernel panicked"
	echo "tap: FAIL $name: $why after ${secs}s" | tee -a "$log"
	exit 125
elif [ "$status" = 0 ]; then
	echo "tap: PASS $name (${secs}s)" | tee -a "$log"
else
	echo "tap: FAIL $name: exit status $status (${secs}s)" | tee -a "$log"
fi
exit "$status"
