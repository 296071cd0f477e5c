#!/bin/bash
# tests/ide-hvm.sh — Linux's own ata_piix on qemu-dm's PIIX3 IDE, in one boot of Debian's 686-pae
# kernel as a bare HVM PC (xen_platform_pci=0, so no PV disk path).
#
# IdeBootTest makes on the host an ext4 image (mkfs.ext4) as hda, a blank raw disk as hdb and an
# ISO9660 image (genisoimage or xorriso) as hdc with devtype=cdrom. In the guest: sda, sdb and sr0
# must appear; sda is mounted, written (a text file and 1 MiB of random bytes, md5 printed), synced
# and unmounted; sr0 is mounted as iso9660 and a file's md5 must match the host's; dd writes and
# reads 64 MiB on sdb (direct I/O) and the MB/s are printed; poweroff. On the host e2fsck -fn must be
# clean and debugfs must give back the text and the md5 of what the guest wrote.
# Exits non-zero on failure; skips (counted as skipped) when e2fsprogs or an ISO maker is missing.
# Env: XENJ_PAE_GUEST_DIR (default ./guest-pae), XENJ_BOOT_TIMEOUT seconds to the prompt (default 1200),
#      XENJ_IDE_BENCH=false to leave out the 64 MiB dd figures.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib/counts.sh
GUEST=${XENJ_PAE_GUEST_DIR:-$PWD/guest-pae}
KERNEL_FLAVOUR=686-pae scripts/build-guest.sh "$GUEST"
OFFLINE=${MAVEN_OFFLINE:--o}
surefire_clear org.xenj.hvm.qemudm IdeBootTest
rc=0
mvn -B $OFFLINE -q -pl org.xenj.hvm.qemudm -am test \
  -Dtest=IdeBootTest -Dsurefire.failIfNoSpecifiedTests=false \
  -Dxenj.pvhvm.dir="$GUEST" -Dxenj.boot.timeout="${XENJ_BOOT_TIMEOUT:-1200}" \
  -Dxenj.ide.bench="${XENJ_IDE_BENCH:-true}" || rc=$?
# Counts come from the test's own surefire report: a renamed or skipped test fails here.
surefire_result ide-hvm org.xenj.hvm.qemudm IdeBootTest || exit 1
exit "$rc"
