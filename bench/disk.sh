#!/bin/bash
# bench/disk.sh — disk I/O benchmark (issue 9, item 7): in the same Debian 686-pae guest,
# sequential write and read of 64 MiB with busybox dd (bs=1M, O_DIRECT when busybox has it, else
# conv=fsync and drop_caches) through Linux's xen-blkfront on xenj's blkback (PVHVM,
# xen_platform_pci=1), and through QEMU TCG booting the same kernel and initramfs with the same
# kind of raw image on IDE (ata_piix) and on virtio-blk (virtio modules taken from the same kernel
# package), all in one run. Prints a table of MB/s (MiB/s of host wall time | as the guest's dd reports).
# Env: XENJ_PAE_GUEST_DIR (default ./guest-pae; built with KERNEL_FLAVOUR=686-pae scripts/build-guest.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
GUEST=${XENJ_PAE_GUEST_DIR:-$PWD/guest-pae}
KERNEL_FLAVOUR=686-pae scripts/build-guest.sh "$GUEST" >&2
log=$(mktemp)
rc=0
mvn -B -o -q -pl org.xenj.dom0.blkback -am test -Dtest=DiskBenchTest -Dsurefire.failIfNoSpecifiedTests=false \
  -Dxenj.bench.disk="$GUEST" >"$log" 2>&1 || rc=$?
grep '^\[disk-bench\]' "$log" | sed 's/^\[disk-bench\] //' || true
if [ "$rc" -ne 0 ] || ! grep -q '^\[disk-bench\] xenj xen-blkfront' "$log"; then
  tail -n 60 "$log" >&2
  rm -f "$log"
  exit 1
fi
rm -f "$log"
