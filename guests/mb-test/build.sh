#!/bin/sh
# Builds xenj's Multiboot test kernel twice: build.sh <out-dir>
#   mb-test.elf  an ELF32 executable loaded by its program headers
#   mb-test.bin  a flat binary placed by the Multiboot header's address fields (flag 16)
# Needs gcc with -m32 support (gcc-multilib) and objcopy. Nothing binary is kept in the repository.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-"$here"}
mkdir -p "$out"
link() {
    gcc -m32 -nostdlib -nostartfiles -static -fno-pic -no-pie -Wl,-Ttext=0x100000 -Wl,-e,_start \
        -Wl,-n -Wl,--build-id=none -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments "$@"
}
link -o "$out/mb-test.elf" "$here/head.S"
link -DAOUT -o "$out/mb-test-aout.elf" "$here/head.S"
objcopy -O binary "$out/mb-test-aout.elf" "$out/mb-test.bin"
rm -f "$out/mb-test-aout.elf"
echo "built $out/mb-test.elf $out/mb-test.bin"
