#!/bin/bash
# tests/boot-linux.sh — boots the default Debian guest in xenj and checks its shell.
#
# Builds the guest with scripts/build-guest.sh (cached in ./guest), then runs the boot test:
# the real HVM builder, qemu-dm devices and IA-32 CPU boot the kernel to the busybox prompt,
# `uname -a; cat /proc/cpuinfo; echo ok | md5sum` is typed on the serial console and checked,
# and `poweroff -f` must end the domain. Exits non-zero on failure.
# Env: XENJ_GUEST_DIR (default ./guest), XENJ_BOOT_TIMEOUT seconds to the prompt (default 1200),
#      XENJ_BOOT_ECHO=1 to show the guest console.
set -euo pipefail
cd "$(dirname "$0")/.."
GUEST=${XENJ_GUEST_DIR:-$PWD/guest}
scripts/build-guest.sh "$GUEST"
OFFLINE=${MAVEN_OFFLINE:--o}
mvn -B $OFFLINE -q -pl org.xenj.hvm.qemudm -am test \
  -Dtest=LinuxBootTest -Dsurefire.failIfNoSpecifiedTests=false \
  -Dxenj.guest.dir="$GUEST" -Dxenj.boot.timeout="${XENJ_BOOT_TIMEOUT:-1200}" \
  -Dxenj.boot.echo="${XENJ_BOOT_ECHO:+true}"
echo "boot-linux: 1 passed, 0 failed"
