#!/bin/bash
# tests/nic-hvm.sh — Linux's own 8139too and ne2k-pci drive qemu-dm's emulated RTL8139 and NE2000.
#
# Boots ONE Debian guest (the 686-pae kernel with xen_platform_pci=0, i.e. a bare PC; built with
# KERNEL_FLAVOUR=686-pae scripts/build-guest.sh, cached in ./guest-pae) with
# vif = ['model=rtl8139,mac=00:16:3e:00:00:01', 'model=ne2k_pci,mac=00:16:3e:00:00:02'] on xenbr0
# of a real virtual switch (org.xenj.dom0.vswitch), next to a Java responder answering ARP and ICMP
# echo for 10.0.0.1 and 10.0.1.1. NicBootTest checks that the drivers bound both functions with the
# MACs from the EEPROM/PROM, gives them addresses with busybox ip and wants 20 of 20 pings answered
# through each NIC; then qemu-dm hands its devices over in-process (as a bundle update does) and 10
# pings of 1428-byte frames through each NIC must all be answered (busybox ping reads the clock
# through the 32-bit vDSO's RDTSCP). Counts come from the test's surefire report.
# Exits non-zero on failure.
# Env: XENJ_PAE_GUEST_DIR (default ./guest-pae), XENJ_BOOT_TIMEOUT seconds to the prompt (default 1200).
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib/counts.sh
GUEST=${XENJ_PAE_GUEST_DIR:-$PWD/guest-pae}
KERNEL_FLAVOUR=686-pae scripts/build-guest.sh "$GUEST"
OFFLINE=${MAVEN_OFFLINE:--o}
surefire_clear org.xenj.hvm.qemudm NicBootTest
rc=0
mvn -B $OFFLINE -q -pl org.xenj.hvm.qemudm -am test \
  -Dtest=NicBootTest -Dsurefire.failIfNoSpecifiedTests=false \
  -Dxenj.nic.dir="$GUEST" -Dxenj.boot.timeout="${XENJ_BOOT_TIMEOUT:-1200}" || rc=$?
surefire_result nic-hvm org.xenj.hvm.qemudm NicBootTest || exit 1
exit "$rc"
