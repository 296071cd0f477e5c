#!/bin/sh
# Builds xenj's firmware_override test image (ELF32, loaded at 1 MiB): build.sh <output.elf>
# Needs gcc with -m32 support (gcc-multilib). Nothing binary is kept in the repository.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-"$here/fw-test.elf"}
mkdir -p "$(dirname "$out")"
gcc -m32 -nostdlib -nostartfiles -static -fno-pic -no-pie -Wl,-Ttext=0x100000 -Wl,-e,_start \
    -Wl,-n -Wl,--build-id=none -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments -o "$out" "$here/head.S"
echo "built $out"
