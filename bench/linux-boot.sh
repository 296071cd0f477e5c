#!/bin/bash
# bench/linux-boot.sh [--vs PEER[,PEER…]] — the "boot real Linux + workload" benchmark in xenj.
#
# Boots the guest made by shared/bench/build-linux-guest.sh (same kernel, initramfs and @@BENCH
# markers as the peers) and prints as its last line:
#   xenj boot_s=<s> work_s=<s> md5=<ok|bad> boot_cpu=<s> work_cpu=<s>
# boot_s = JVM start -> "@@BENCH BOOT"; work_s = BOOT -> "@@BENCH WORK-END"; *_cpu = CPU seconds
# of the JVM in those phases (all its threads; compare with peers.sh's *_cpu on a loaded host).
# With --vs qemu (or a list: --vs qemu,bochs,v86) it first runs shared/bench/peers.sh for those
# peers (RUNS=1) in the same invocation and then prints the xenj/peer ratios before the last line.
# xenj runs once per mode of XENJ_MODES (default "interp jit": the interpreter alone, -Dxenj.jit=false,
# then with the translator, the default); each prints its own "xenj[-jit] boot_s=..." line, and the last line
# is the first mode's (the ratio lines follow each mode).
# Env: XENJ_MODES, XENJ_SHARED (default ../shared beside the repository), BENCH_GUEST (default
#      ${TMPDIR:-/tmp}/xenj-bench-guest), BENCH_TIMEOUT seconds (default 1800).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VS=""
if [ "${1:-}" = "--vs" ]; then VS=${2:?usage: $0 [--vs qemu[,bochs,v86]]}; fi
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
CP=org.xenj.hypervisor/target/classes:org.xenj.dom0.block/target/classes:org.xenj.dom0.vswitch/target/classes:org.xenj.dom0.vnc/target/classes
CP=$CP:org.xenj.hvm.qemudm/target/classes:org.xenj.hvm.qemudm/target/test-classes

PEER_OUT=""
if [ -n "$VS" ]; then
  PEER_OUT=$(PEERS="${VS//,/ }" RUNS=1 GUEST="$GUEST" "$SHARED/bench/peers.sh" 2>/dev/null | tee /dev/stderr)
fi

# the translator needs ASM, the vswitch JNA: from the local repository Maven uses (.mvn/maven.config may move it)
M2=$( { sed -n 's/.*-Dmaven.repo.local=\([^ ]*\).*/\1/p' .mvn/maven.config 2>/dev/null || true; } | head -n1)
M2=${M2:-$HOME/.m2/repository}
ASM_VERSION=$(sed -n 's:.*<asm.version>\(.*\)</asm.version>.*:\1:p' pom.xml | head -n1)
ASM_JAR=$M2/org/ow2/asm/asm/$ASM_VERSION/asm-$ASM_VERSION.jar
[ -f "$ASM_JAR" ] || ASM_JAR=""
[ -n "$ASM_JAR" ] || { echo "linux-boot: asm jar not found in the local repository (needed by the translator)" >&2; exit 2; }
# qemu-dm registers its display with the OSGi framework API (org.osgi.framework), so osgi.core too
OSGI_JAR=$(ls "$M2"/org/osgi/osgi.core/*/osgi.core-*.jar 2>/dev/null | grep -v sources | tail -n1)
CP=$CP:$ASM_JAR:$OSGI_JAR:$(ls "$M2"/net/java/dev/jna/jna/*/jna-*.jar 2>/dev/null | grep -v sources | tail -n1)

FIRST=""
for mode in ${XENJ_MODES:-interp jit}; do
  case $mode in
    interp) JOPT="-Dxenj.jit=false"; label=xenj ;;
    jit) JOPT="-Dxenj.jit=true"; label=xenj-jit ;;
    *) echo "linux-boot: unknown mode $mode (interp, jit)" >&2; exit 2 ;;
  esac
  echo "# $label: load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
  # XENJ_JAVA_OPTS: extra JVM options for xenj (e.g. -Dxenj.jit.codecache=0 for a comparison)
  OUT=$(java -Xss8m $JOPT ${XENJ_JAVA_OPTS:-} -cp "$CP" org.xenj.hvm.qemudm.boot.BenchMain "$GUEST" 77377273b0a4b61febdbf7bbf52b9db9 "${BENCH_TIMEOUT:-1800}")
  echo "$OUT" | sed '$d'
  LAST=$(echo "$OUT" | tail -n1 | sed "s/^xenj /$label /")
  xboot=$(echo "$LAST" | sed -n 's/.*boot_s=\([^ ]*\).*/\1/p')
  xwork=$(echo "$LAST" | sed -n 's/.*work_s=\([^ ]*\).*/\1/p')
  for peer in ${VS//,/ }; do
    # peers.sh summary columns: peer ok boot_s boot_cpu md5_s md5_cpu awk_s awk_cpu work_s ...
    line=$(echo "$PEER_OUT" | awk -v p="$peer" '$1 == p { print }' | tail -n1)
    [ -n "$line" ] || { echo "$peer: no result from peers.sh"; continue; }
    pboot=$(echo "$line" | awk '{ print $3 }')
    pwork=$(echo "$line" | awk '{ print $9 }')
    awk -v p="$peer" -v l="$label" -v xb="$xboot" -v xw="$xwork" -v qb="$pboot" -v qw="$pwork" 'BEGIN {
      rb = (xb == "NA" || qb + 0 == 0) ? "NA" : sprintf("%.2f", xb / qb)
      rw = (xw == "NA" || qw + 0 == 0) ? "NA" : sprintf("%.2f", xw / qw)
      printf "%s boot_s=%s work_s=%s; %s/%s boot=%sx work=%sx\n", p, qb, qw, l, p, rb, rw }'
  done
  echo "$LAST"
  [ -n "$FIRST" ] || FIRST=$LAST
done
echo "$FIRST"
