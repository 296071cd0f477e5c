#!/bin/bash
# tests/boot-linux.sh — boots the default Debian guest in xenj and checks its shell.
#
# Builds the guest with scripts/build-guest.sh (cached in ./guest), then runs LinuxBootTest:
# two domains at once through the hypervisor core (Hypervisor.create, credit scheduler, HVM
# builder, qemu-dm, IA-32 CPU) boot the kernel to the busybox prompt — the first directly (kernel=),
# the second from Debian's SeaBIOS and extlinux on an ext4 disk (scripts/make-ext4-image.sh; issue 14's
# firmware boot 3(c), folded in here so that it costs no boot of its own; it checks /proc/cmdline from
# extlinux.conf, mounts/writes/unmounts the ext4 disk in the guest, then e2fsck -fn and debugfs on the
# host; without root or a loop device it prints "ext4 firmware boot SKIPPED" and boots directly);
# `uname -a; cat /proc/cpuinfo; echo ok | md5sum` is typed on each console and checked, and
# `poweroff -f` must end each domain (on_poweroff=destroy). The first domain is saved and restored
# mid-boot (save -p) and in the middle of an md5sum loop (save), each image also refused once damaged.
# Then BiosDiskBootTest: Debian's SeaBIOS boots the same kernel through syslinux from an IDE disk image
# and through isolinux from an IDE CD at once (scripts/make-bios-images.sh), both to the shell
# (~1.5 min more on a quiet host); the CD's domain has a stdvga and a VNC console, on which Debian's
# vncsnapshot and tesseract must read SeaBIOS's banner and isolinux's text while isolinux loads the
# kernel, and the kernel's messages on bochs-drm's fbcon at the shell (SKIPPED, said, without them). Exits non-zero on failure, printing
# the console tail and dmesg. Takes ~4 min on a quiet 2-core host (~13 min under heavy load).
# Env: XENJ_GUEST_DIR (default ./guest), XENJ_BOOT_TIMEOUT seconds to the prompt (default 1200),
#      XENJ_BOOT_DOMAINS (default 2), MAVEN_OFFLINE (default -o; set empty to allow downloads).
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib/counts.sh
GUEST=${XENJ_GUEST_DIR:-$PWD/guest}
scripts/build-guest.sh "$GUEST"
OFFLINE=${MAVEN_OFFLINE:--o}
surefire_clear org.xenj.hvm.qemudm LinuxBootTest BiosDiskBootTest
rc=0
mvn -B $OFFLINE -q -pl org.xenj.hvm.qemudm -am test \
  -Dtest=LinuxBootTest,BiosDiskBootTest -Dsurefire.failIfNoSpecifiedTests=false \
  -Dxenj.guest.dir="$GUEST" -Dxenj.boot.timeout="${XENJ_BOOT_TIMEOUT:-1200}" \
  -Dxenj.boot.domains="${XENJ_BOOT_DOMAINS:-2}" || rc=$?
# Counts come from the test's own surefire report: a renamed or skipped test fails here.
surefire_result boot-linux org.xenj.hvm.qemudm LinuxBootTest BiosDiskBootTest || exit 1
exit "$rc"
