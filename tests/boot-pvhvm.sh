#!/bin/bash
# tests/boot-pvhvm.sh — boots Debian's 686-pae kernel (CONFIG_XEN_PVHVM=y) as an HVM guest on
# xenj's Xen ABI and checks that it detected Xen and reached the shell.
#
# Builds the guest with KERNEL_FLAVOUR=686-pae scripts/build-guest.sh (cached in ./guest-pae; the
# build fails, and so does this test, if the kernel cannot be fetched), then runs PvhvmBootTest:
# the kernel log must show "Hypervisor detected: Xen HVM", "Xen version 4.17." and "Booting
# paravirtualized kernel on Xen HVM", the busybox prompt must answer, a line written to port 0xe9
# must reach the domain's log, xenbus must get events, the guest must list the Xen platform PCI
# device (5853:0001) in /sys/bus/pci/devices with its xen-platform-pci driver bound and the unplug
# handshake in its dmesg, and the hypercalls it made are printed; then the same kernel with
# xen_platform_pci=0 must boot to the shell without finding a hypervisor or the platform device.
# Exits non-zero on failure.
# Env: XENJ_PAE_GUEST_DIR (default ./guest-pae), XENJ_BOOT_TIMEOUT seconds to the prompt (default 1200).
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib/counts.sh
GUEST=${XENJ_PAE_GUEST_DIR:-$PWD/guest-pae}
KERNEL_FLAVOUR=686-pae scripts/build-guest.sh "$GUEST"
grep -q '^CONFIG_XEN_PVHVM=y' "$GUEST/config" || { echo "boot-pvhvm: $GUEST/config lacks CONFIG_XEN_PVHVM=y" >&2; exit 1; }
OFFLINE=${MAVEN_OFFLINE:--o}
surefire_clear org.xenj.hvm.qemudm PvhvmBootTest
rc=0
mvn -B $OFFLINE -q -pl org.xenj.hvm.qemudm -am test \
  -Dtest=PvhvmBootTest -Dsurefire.failIfNoSpecifiedTests=false \
  -Dxenj.pvhvm.dir="$GUEST" -Dxenj.boot.timeout="${XENJ_BOOT_TIMEOUT:-1200}" || rc=$?
# Counts come from the test's own surefire report: a renamed or skipped test fails here.
surefire_result boot-pvhvm org.xenj.hvm.qemudm PvhvmBootTest || exit 1
exit "$rc"
