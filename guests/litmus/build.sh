#!/bin/sh
# Builds the litmus program and a guest initramfs that carries it: build.sh <out-dir> <guest-dir>
#   <out-dir>/litmus             static i386 executable (gcc -m32; needs gcc-multilib, libc6-dev-i386)
#   <out-dir>/initramfs.cpio.gz  <guest-dir>/initramfs.cpio.gz (scripts/build-guest.sh) followed by a
#                                second gzip'd newc cpio holding /bin/litmus
# Linux unpacks concatenated initramfs archives in order, so the guest's own image stays as
# scripts/build-guest.sh made it (its stamp and every other boot test unchanged) and the litmus
# binary is simply one more file in the guest's root. The host cannot run it (no 32-bit execution);
# qemu-i386 can, for a quick look: qemu-i386 <out-dir>/litmus -n 10000.
# Nothing binary is kept in the repository.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh <out-dir> <guest-dir>}
guest=${2:?usage: build.sh <out-dir> <guest-dir>}
[ -s "$guest/initramfs.cpio.gz" ] || { echo "litmus build: no $guest/initramfs.cpio.gz (scripts/build-guest.sh $guest)" >&2; exit 1; }
mkdir -p "$out/root/bin"
out=$(cd "$out" && pwd)
gcc -m32 -static -O2 -pthread -s -Wall -Wextra -Werror -o "$out/litmus" "$here/litmus.c"
cp "$out/litmus" "$out/root/bin/litmus"
find "$out/root" -exec touch -h -d @0 {} +
(cd "$out/root" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible) |
    gzip -n -9 > "$out/overlay.cpio.gz"
cat "$guest/initramfs.cpio.gz" "$out/overlay.cpio.gz" > "$out/initramfs.cpio.gz"
echo "built $out/litmus and $out/initramfs.cpio.gz"
