#!/bin/bash
# tests/blk-pvhvm.sh — Linux's own xen-blkfront on xenj's blkback: boots Debian's 686-pae kernel
# once as a PVHVM guest (xen_platform_pci=1) with xvda = a raw ext4 image made by the host's
# mkfs.ext4 and xvdb = a qcow2 overlay (qemu-img create -b base.raw -F raw) on a raw ext4 backing
# file. The guest mounts both, writes files, syncs, unmounts; xvdc is hot-plugged (must appear as
# /dev/xvdc, is written) and detached (must go away). Then on the host: e2fsck -fn clean,
# debugfs reads back exactly what the guest wrote, qemu-img check clean, backing file unchanged.
#
# Builds the guest with KERNEL_FLAVOUR=686-pae scripts/build-guest.sh (cached in ./guest-pae).
# Exits non-zero on failure; counts come from the test's surefire report.
# Env: XENJ_PAE_GUEST_DIR (default ./guest-pae), XENJ_BOOT_TIMEOUT seconds to the prompt (default 1200).
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib/counts.sh
GUEST=${XENJ_PAE_GUEST_DIR:-$PWD/guest-pae}
KERNEL_FLAVOUR=686-pae scripts/build-guest.sh "$GUEST"
OFFLINE=${MAVEN_OFFLINE:--o}
surefire_clear org.xenj.dom0.blkback BlkPvhvmBootTest
rc=0
mvn -B $OFFLINE -q -pl org.xenj.dom0.blkback -am test \
  -Dtest=BlkPvhvmBootTest -Dsurefire.failIfNoSpecifiedTests=false \
  -Dxenj.pvhvm.dir="$GUEST" -Dxenj.boot.timeout="${XENJ_BOOT_TIMEOUT:-1200}" || rc=$?
surefire_result blk-pvhvm org.xenj.dom0.blkback BlkPvhvmBootTest || exit 1
exit "$rc"
