#!/bin/bash
# tests/net-pvhvm.sh — two Debian 686-pae guests (PVHVM, xen_platform_pci=1) booted at once on two
# pCPUs, each with a vif on xenbr0 served by org.xenj.dom0.netback through the virtual switch
# (org.xenj.dom0.vswitch). Linux's own xen-netfront (loaded by the guest's /init) must bring up its
# NIC; busybox ip configures 10.99.0.1/.2; `ping -c 20` must get 20 answers both ways. Where a TAP
# can be opened (/dev/net/tun, root, network namespaces), the test creates its own namespace, joins
# a TAP in it to xenbr0 and a guest fetches a 16 MiB file from python3's http.server there with
# busybox wget and the namespace fetches it back from busybox httpd in the guest; the md5s must
# match (skipped, with the reason printed, where a TAP is impossible). A vif hot-plugged into a
# running guest must appear there as a NIC and go when unplugged.
# Never touches the host's interfaces. Runs NetPvhvmBootTest; counts come from its surefire report.
# Env: XENJ_PAE_GUEST_DIR (default ./guest-pae), XENJ_BOOT_TIMEOUT seconds to the prompt (default 1500).
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib/counts.sh
GUEST=${XENJ_PAE_GUEST_DIR:-$PWD/guest-pae}
KERNEL_FLAVOUR=686-pae scripts/build-guest.sh "$GUEST"
grep -q '^CONFIG_XEN_NETDEV_FRONTEND=[ym]' "$GUEST/config" || { echo "net-pvhvm: $GUEST/config lacks xen-netfront" >&2; exit 1; }
OFFLINE=${MAVEN_OFFLINE:--o}
surefire_clear org.xenj.dom0.netback NetPvhvmBootTest
rc=0
mvn -B $OFFLINE -q -pl org.xenj.dom0.netback -am test \
  -Dtest=NetPvhvmBootTest -Dsurefire.failIfNoSpecifiedTests=false \
  -Dxenj.pvhvm.dir="$GUEST" -Dxenj.boot.timeout="${XENJ_BOOT_TIMEOUT:-1500}" || rc=$?
surefire_result net-pvhvm org.xenj.dom0.netback NetPvhvmBootTest || exit 1
exit "$rc"
