#!/bin/sh
# Builds the xenj PV test kernel (ELF32, Xen notes) from source: build.sh <output.elf>
# Needs gcc with -m32 support (gcc-multilib). Nothing binary is kept in the repository.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-"$here/pv-test.elf"}
mkdir -p "$(dirname "$out")"
gcc -m32 -march=i686 -ffreestanding -nostdlib -nostartfiles -fno-pic -fno-pie -no-pie \
    -fno-stack-protector -fno-asynchronous-unwind-tables -mno-sse -mno-mmx -mno-80387 \
    -O2 -Wall -Wextra -Werror \
    -Wl,-T,"$here/kernel.ld" -Wl,--build-id=none -Wl,-z,noexecstack -Wl,-z,max-page-size=4096 -Wl,--no-warn-rwx-segments \
    -o "$out" "$here/head.S" "$here/main.c" "$here/netfront.c"
echo "built $out"
