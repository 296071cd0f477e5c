#!/bin/bash
# bench/net.sh — network benchmark (issue 10, item 7), all in one run: TCP throughput of 64 MiB
# (busybox dd piped into busybox nc) and ping round trips from Debian 686-pae guests to the host
# (a receiver in a network namespace the bench creates, behind a TAP on xenbr0) and guest to
# guest, over xenj's netfront (PVHVM), RTL8139 and NE2000; then QEMU TCG booting the same kernel
# and initramfs on rtl8139 and e1000 with -netdev tap (modules 8139cp/e1000 taken from the same
# kernel package). Needs root (namespaces, TAP). Prints a table; MB/s = MiB/s of host wall time.
# Env: XENJ_PAE_GUEST_DIR (default ./guest-pae; built by KERNEL_FLAVOUR=686-pae scripts/build-guest.sh),
#      XENJ_BENCH_NET_MIB (default 64).
set -euo pipefail
cd "$(dirname "$0")/.."
GUEST=${XENJ_PAE_GUEST_DIR:-$PWD/guest-pae}
KERNEL_FLAVOUR=686-pae scripts/build-guest.sh "$GUEST" >&2
log=$(mktemp)
rc=0
mvn -B -o -q -pl org.xenj.itest.guests -am test -Dtest=NetBenchTest -Dsurefire.failIfNoSpecifiedTests=false \
  -Dxenj.bench.net="$GUEST" -Dxenj.bench.net.mib="${XENJ_BENCH_NET_MIB:-64}" >"$log" 2>&1 || rc=$?
grep '^\[net-bench\]' "$log" | sed 's/^\[net-bench\] //' || true
if [ "$rc" -ne 0 ] || ! grep -q '^\[net-bench\] xenj netfront -> host' "$log"; then
  tail -n 60 "$log" >&2
  rm -f "$log"
  exit 1
fi
rm -f "$log"
