#!/usr/bin/env bash
# Makes the disk of issue 14's firmware boot 3(c): the Debian guest installed on an ext4 partition
# with extlinux, booted by SeaBIOS from the PIIX3 IDE disk (LinuxBootTest's last domain boots it).
#   OUT/ext4.img  64 MiB MBR disk: extlinux's mbr.bin; partition 1 at LBA 2048 (1 MiB), active,
#                 type 83, to the end of the disk; in it an ext4 file system (label XENJEXT4; extents,
#                 journal, flex_bg, metadata_csum — all but 64bit, which extlinux 6.04 does not read)
#                 holding /boot/vmlinuz, /boot/initrd.gz (the guest's root file system is its
#                 initramfs), /boot/extlinux/extlinux.conf and extlinux's boot code
#                 (`extlinux --install /boot/extlinux`, ldlinux.sys/ldlinux.c32) and /XENJ-EXT4 (a marker).
# extlinux installs only into a mounted file system (it finds ldlinux.sys's blocks through the
# kernel), so this needs root and a loop device (`mount -o loop,offset=...`). Without them it prints
# "make-ext4-image: SKIP: <why>" and exits 77, leaving no image; any other failure exits 1.
# Usage: scripts/make-ext4-image.sh [GUEST_DIR] [OUT_DIR] ["kernel command line"]
# Needs (Debian): extlinux e2fsprogs python3 (scripts/setup-debian.sh).
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
GUEST=${1:-$HERE/guest}
OUT=${2:-$HERE/guests/bios-images}
CMDLINE=${3:-console=ttyS0 cryptomgr.notests nokaslr xenj.bootfs=extlinux-ext4}
skip() { echo "make-ext4-image: SKIP: $*" >&2; exit 77; }
for f in bzImage initramfs.cpio.gz; do
    [ -s "$GUEST/$f" ] || { echo "make-ext4-image: $GUEST/$f missing (scripts/build-guest.sh builds it)" >&2; exit 1; }
done
PATH=$PATH:/usr/sbin:/sbin
command -v extlinux >/dev/null || skip "extlinux is not installed (apt-get install extlinux)"
command -v mkfs.ext4 >/dev/null || skip "mkfs.ext4 is not installed (apt-get install e2fsprogs)"
MBR=/usr/lib/EXTLINUX/mbr.bin
[ -r "$MBR" ] || skip "$MBR missing (package extlinux)"
[ "$(id -u)" = 0 ] || skip "extlinux installs only into a mounted file system: needs root for a loop mount"
[ -e /dev/loop-control ] || [ -e /dev/loop0 ] || skip "no loop device (/dev/loop-control) in this machine"

mkdir -p "$OUT"
WORK=$(mktemp -d)
MNT=$WORK/mnt
mkdir -p "$MNT"
cleanup() {
    if mountpoint -q "$MNT" 2>/dev/null; then umount "$MNT" || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

MIB=64 START=2048
TOT=$((MIB * 2048)); SIZE=$((TOT - START)); OFF=$((START * 512))
DISK=$WORK/ext4.img
truncate -s $((TOT * 512)) "$DISK"
# 4 KiB blocks, offset: mkfs writes the partition inside the disk image file
mkfs.ext4 -q -F -L XENJEXT4 -b 4096 -O ^64bit -E offset=$OFF "$DISK" $((SIZE / 8)) >/dev/null
if ! mount -t ext4 -o loop,offset=$OFF,sizelimit=$((SIZE * 512)) "$DISK" "$MNT" 2>"$WORK/mount.err"; then
    skip "cannot loop-mount the image: $(tr '\n' ' ' < "$WORK/mount.err")"
fi
mkdir -p "$MNT/boot/extlinux"
cp "$GUEST/bzImage" "$MNT/boot/vmlinuz"
cp "$GUEST/initramfs.cpio.gz" "$MNT/boot/initrd.gz"
printf 'DEFAULT linux\nPROMPT 0\nTIMEOUT 0\nSERIAL 0 115200\nSAY xenj: extlinux on ext4\nLABEL linux\n  KERNEL /boot/vmlinuz\n  INITRD /boot/initrd.gz\n  APPEND %s\n' \
    "$CMDLINE" > "$MNT/boot/extlinux/extlinux.conf"
echo "xenj ext4 disk of $(date -u +%F)" > "$MNT/XENJ-EXT4"
extlinux --install "$MNT/boot/extlinux" >/dev/null 2>"$WORK/extlinux.err" || {
    cat "$WORK/extlinux.err" >&2; echo "make-ext4-image: extlinux --install failed" >&2; exit 1; }
umount "$MNT"
dd if="$MBR" of="$DISK" bs=440 count=1 conv=notrunc status=none
# partition entry 1: active, CHS of LBA 2048 and of the last sector (16 heads, 63 sectors), type 83, LBA start, sectors
python3 - "$DISK" $START $SIZE <<'PY'
import struct, sys
path, start, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def chs(lba, heads=16, spt=63):
    c, rest = divmod(lba, heads * spt)
    h, s = divmod(rest, spt)
    c = min(c, 1023)
    return bytes([h, (s + 1) | ((c >> 8) << 6), c & 0xff])
entry = bytes([0x80]) + chs(start) + bytes([0x83]) + chs(start + size - 1) + struct.pack('<II', start, size)
with open(path, 'r+b') as f:
    f.seek(446); f.write(entry)
    f.seek(510); f.write(b'\x55\xaa')
PY
# the file system as the guest will find it: clean, and extlinux's files on it
dd if="$DISK" of="$WORK/part.img" bs=1M skip=1 status=none
e2fsck -fn "$WORK/part.img" >"$WORK/fsck.out" 2>&1 || { cat "$WORK/fsck.out" >&2; echo "make-ext4-image: e2fsck found problems" >&2; exit 1; }
mv "$DISK" "$OUT/ext4.img"
echo "make-ext4-image: $OUT/ext4.img ($(stat -c %s "$OUT/ext4.img") bytes, ext4 at offset $OFF, kernel command line '$CMDLINE')"
