#!/bin/bash
# bench/linux-boot.sh [--vs qemu] — the "boot real Linux + workload" benchmark in xenj.
#
# Boots the guest made by shared/bench/build-linux-guest.sh (same kernel, initramfs and @@BENCH
# markers as the peers) and prints as its last line:
#   xenj boot_s=<s> work_s=<s> md5=<ok|bad>
# boot_s = JVM start -> "@@BENCH BOOT"; work_s = BOOT -> "@@BENCH WORK-END".
# With --vs qemu it first runs shared/bench/peers.sh (PEERS=qemu RUNS=1) and then prints the
# xenj/qemu ratios before the last line.
# Env: XENJ_SHARED (default ../shared beside the repository), BENCH_GUEST (default
#      ${TMPDIR:-/tmp}/xenj-bench-guest), BENCH_TIMEOUT seconds (default 1800).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VS=""
if [ "${1:-}" = "--vs" ]; then VS=${2:?usage: $0 [--vs qemu]}; fi
SHARED=${XENJ_SHARED:-}
if [ -z "$SHARED" ]; then
  for s in "$ROOT/../shared" "$ROOT/../../shared"; do
    [ -x "$s/bench/build-linux-guest.sh" ] && { SHARED=$(cd "$s" && pwd); break; }
  done
fi
[ -n "$SHARED" ] || { echo "linux-boot: shared/bench not found (set XENJ_SHARED)" >&2; exit 2; }
GUEST=${BENCH_GUEST:-${TMPDIR:-/tmp}/xenj-bench-guest}
"$SHARED/bench/build-linux-guest.sh" "$GUEST" >&2

cd "$ROOT"
mvn -B -o -q -pl org.xenj.hypervisor,org.xenj.hvm.qemudm -am test-compile -DskipTests >&2
CP=org.xenj.hypervisor/target/classes:org.xenj.hvm.qemudm/target/classes:org.xenj.hvm.qemudm/target/test-classes

QEMU_LINE=""
if [ "$VS" = qemu ]; then
  PEER_OUT=$(PEERS=qemu RUNS=1 GUEST="$GUEST" "$SHARED/bench/peers.sh" 2>/dev/null)
  echo "$PEER_OUT"
  QEMU_LINE=$(echo "$PEER_OUT" | awk '$1 == "qemu" { print }' | tail -n1)
fi

OUT=$(java -Xss8m -cp "$CP" org.xenj.hvm.qemudm.boot.BenchMain "$GUEST" 77377273b0a4b61febdbf7bbf52b9db9 "${BENCH_TIMEOUT:-1800}")
echo "$OUT" | sed '$d'
LAST=$(echo "$OUT" | tail -n1)
if [ -n "$QEMU_LINE" ]; then
  # qemu row columns: peer ok boot_s boot_cpu md5_s md5_cpu awk_s awk_cpu work_s ...
  qboot=$(echo "$QEMU_LINE" | awk '{ print $3 }')
  qwork=$(echo "$QEMU_LINE" | awk '{ print $9 }')
  xboot=$(echo "$LAST" | sed -n 's/.*boot_s=\([^ ]*\).*/\1/p')
  xwork=$(echo "$LAST" | sed -n 's/.*work_s=\([^ ]*\).*/\1/p')
  awk -v xb="$xboot" -v xw="$xwork" -v qb="$qboot" -v qw="$qwork" 'BEGIN {
    rb = (xb == "NA" || qb + 0 == 0) ? "NA" : sprintf("%.2f", xb / qb)
    rw = (xw == "NA" || qw + 0 == 0) ? "NA" : sprintf("%.2f", xw / qw)
    printf "qemu boot_s=%s work_s=%s; xenj/qemu boot=%sx work=%sx\n", qb, qw, rb, rw }'
fi
echo "$LAST"
