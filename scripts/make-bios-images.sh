#!/usr/bin/env bash
# Makes the two images a firmware-booted (SeaBIOS) HVM domain boots, from a guest directory with
# bzImage and initramfs.cpio.gz (default ./guest, made by scripts/build-guest.sh guest):
#   OUT/disk.img  32 MiB MBR disk (CHS 65/16/63), one FAT16 partition at LBA 63 (active, type 06) with
#                 syslinux (syslinux --offset), vmlinuz, initrd.gz, syslinux.cfg; syslinux's mbr.bin.
#                 The layout of the disk ../shared/bench/peers.sh boots in QEMU as "qemu-disk".
#   OUT/cd.iso    ISO9660 with isolinux (El Torito, no emulation, boot-info-table), same kernel/initrd.
# No root, no loop mounts: mkfs.fat + mtools + syslinux write into the image file, xorriso builds the ISO.
# Usage: scripts/make-bios-images.sh [GUEST_DIR] [OUT_DIR] ["kernel command line"] ["the CD's command line"]
# (the CD's defaults to the disk's; BiosDiskBootTest gives the CD's kernel the VGA console too).
# Needs (Debian): dosfstools mtools syslinux syslinux-common isolinux xorriso (scripts/setup-debian.sh).
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
GUEST=${1:-$HERE/guest}
OUT=${2:-$HERE/guests/bios-images}
CMDLINE=${3:-console=ttyS0 cryptomgr.notests nokaslr}
CD_CMDLINE=${4:-$CMDLINE}
for f in bzImage initramfs.cpio.gz; do
    [ -s "$GUEST/$f" ] || { echo "make-bios-images: $GUEST/$f missing (scripts/build-guest.sh builds it)" >&2; exit 1; }
done
MKFS=$(command -v mkfs.fat || echo /usr/sbin/mkfs.fat)
mkdir -p "$OUT"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# ---- syslinux disk
CYL=65 HEADS=16 SPT=63 START=63
TOT=$((CYL * HEADS * SPT)); SIZE=$((TOT - START)); OFF=$((START * 512))
DISK=$WORK/disk.img
truncate -s $((TOT * 512)) "$DISK"
"$MKFS" -F 16 -n XENJBIOS -h $START --offset $START "$DISK" $((SIZE / 2)) >/dev/null
# No SERIAL line: COM1 then has one writer until the kernel, SeaBIOS's serial console mirroring the
# screen (its banner, syslinux's lines). With syslinux writing COM1 too, the mirror's flushes, timed by
# the BIOS timer, cut into syslinux's own lines at random points, on QEMU as on xenj (BiosDiskBootTest
# compares the two). The CD keeps SERIAL: its COM1 is only searched for isolinux's banner.
printf 'DEFAULT linux\nPROMPT 0\nTIMEOUT 0\nLABEL linux\n  KERNEL vmlinuz\n  INITRD initrd.gz\n  APPEND %s\n' \
    "$CMDLINE" > "$WORK/syslinux.cfg"
export MTOOLS_SKIP_CHECK=1
mcopy -o -i "$DISK@@$OFF" "$GUEST/bzImage" ::/vmlinuz
mcopy -o -i "$DISK@@$OFF" "$GUEST/initramfs.cpio.gz" ::/initrd.gz
mcopy -o -i "$DISK@@$OFF" "$WORK/syslinux.cfg" ::/syslinux.cfg
syslinux --offset $OFF --install "$DISK"
dd if=/usr/lib/syslinux/mbr/mbr.bin of="$DISK" bs=440 count=1 conv=notrunc status=none
# partition entry 1: active, CHS start 0/1/1, type 06 (FAT16), CHS end, LBA start, sectors
python3 - "$DISK" $START $SIZE $CYL $HEADS $SPT <<'PY'
import struct, sys
path, start, size, cyl, heads, spt = sys.argv[1], *map(int, sys.argv[2:])
ec = cyl - 1
entry = bytes([0x80, 1, 1, 0, 0x06, heads - 1, spt | ((ec >> 8) << 6), ec & 0xff]) + struct.pack('<II', start, size)
with open(path, 'r+b') as f:
    f.seek(446); f.write(entry)
    f.seek(510); f.write(b'\x55\xaa')
PY
mv "$DISK" "$OUT/disk.img"

# ---- isolinux CD
ISO=$WORK/iso
mkdir -p "$ISO/isolinux"
cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$ISO/isolinux/"
cp "$GUEST/bzImage" "$ISO/isolinux/vmlinuz"
cp "$GUEST/initramfs.cpio.gz" "$ISO/isolinux/initrd.gz"
printf 'DEFAULT linux\nPROMPT 0\nTIMEOUT 0\nSERIAL 0 115200\nLABEL linux\n  KERNEL vmlinuz\n  INITRD initrd.gz\n  APPEND %s\n' \
    "$CD_CMDLINE" > "$ISO/isolinux/isolinux.cfg"
xorriso -as mkisofs -quiet -o "$OUT/cd.iso" -V XENJBIOS -J -R \
    -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table "$ISO" 2>/dev/null
echo "make-bios-images: $OUT/disk.img ($(stat -c %s "$OUT/disk.img") bytes), $OUT/cd.iso ($(stat -c %s "$OUT/cd.iso") bytes)"
