#!/bin/bash
# bench/migrate.sh — issue 15 §5: live migration of the Debian 686 guest (256 MiB, guest/) between
# two xenj processes on this host, over the authenticated loopback channel (xenj.migrate.*).
#
# Process a boots the guest; then six legs a->b, b->a, a->b idle (the first two run each JVM's
# migration paths cold, the third warm), then b starts a memory-dirtying loop in the guest (busybox
# dd of 8 MiB into a tmpfs, without end) and b->a, a->b, b->a while it runs. Each arrival is
# checked: the shell answers, and the loop runs on. Then a times snapshot create / revert / clone
# and save / restore of it. Prints a table: rounds, pages sent, last pages, host-side downtime (source
# paused -> the destination answers "running"), total time; then the save/restore and snapshot
# figures, and the load average at each measurement (the host is shared).
# Guest-side downtime (a 1 ms ping through a TAP) is not measured: the bench guest has no NIC.
# Env: GUEST (default guest/ of this repository), PORT_A/PORT_B (47311/47312), DOWNTIME_MS (20,
#      the idle target) and DIRTY_DOWNTIME_MS (60), BENCH_TIMEOUT seconds (900), XENJ_JAVA_OPTS, NO_BUILD.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
GUEST=${GUEST:-$ROOT/guest}
[ -f "$GUEST/bzImage" ] && [ -f "$GUEST/initramfs.cpio.gz" ] || { echo "migrate: no guest in $GUEST (scripts/build-guest.sh)" >&2; exit 2; }
cd "$ROOT"
# NO_BUILD=1: use the classes as built (e.g. while a test suite runs in the same worktree)
[ -n "${NO_BUILD:-}" ] || mvn -B -o -q -pl org.xenj.hypervisor,org.xenj.hvm.qemudm -am test-compile -DskipTests >&2
CP=org.xenj.hypervisor/target/classes:org.xenj.dom0.block/target/classes:org.xenj.dom0.vswitch/target/classes:org.xenj.dom0.vnc/target/classes
CP=$CP:org.xenj.sched.credit/target/classes:org.xenj.hvm.qemudm/target/classes:org.xenj.hvm.qemudm/target/test-classes
M2=$( { sed -n 's/.*-Dmaven.repo.local=\([^ ]*\).*/\1/p' .mvn/maven.config 2>/dev/null || true; } | head -n1)
M2=${M2:-$HOME/.m2/repository}
ASM_VERSION=$(sed -n 's:.*<asm.version>\(.*\)</asm.version>.*:\1:p' pom.xml | head -n1)
ASM_JAR=$M2/org/ow2/asm/asm/$ASM_VERSION/asm-$ASM_VERSION.jar
[ -f "$ASM_JAR" ] || { echo "migrate: $ASM_JAR not found (needed by the translator)" >&2; exit 2; }
OSGI_JAR=$(ls "$M2"/org/osgi/osgi.core/*/osgi.core-*.jar 2>/dev/null | grep -v sources | tail -n1)
CP=$CP:$ASM_JAR:$OSGI_JAR:$(ls "$M2"/net/java/dev/jna/jna/*/jna-*.jar 2>/dev/null | grep -v sources | tail -n1)

PORT_A=${PORT_A:-47311}
PORT_B=${PORT_B:-47312}
T=${BENCH_TIMEOUT:-900}
if command -v ss >/dev/null && ss -ltn | awk '{ print $4 }' | grep -qE ":($PORT_A|$PORT_B)\$"; then
  echo "migrate: port $PORT_A or $PORT_B is in use (an earlier run still going?); set PORT_A/PORT_B" >&2; exit 2
fi
XENJ_MIGRATE_SECRET=$(head -c 24 /dev/urandom | base64)
export XENJ_MIGRATE_SECRET
OUT=$(mktemp -d "${TMPDIR:-/tmp}/xenj-migbench.XXXXXX")
# the two JVMs load classes lazily for minutes: run from a copy, so that a build meanwhile cannot change them
COPY=""
for d in ${CP//:/ }; do
  if [ -d "$d" ]; then mkdir -p "$OUT/cp/$d" && cp -r "$d/." "$OUT/cp/$d/" && COPY=$COPY:$OUT/cp/$d; else COPY=$COPY:$d; fi
done
CP=${COPY#:}
JAVA=(java -Xss8m -Xmx1500m -Dxenj.migbench.downtime="${DOWNTIME_MS:-20}" -Dxenj.migbench.downtime.dirty="${DIRTY_DOWNTIME_MS:-60}"
  ${XENJ_JAVA_OPTS:-} -cp "$CP" org.xenj.hvm.qemudm.boot.MigrateBenchMain)
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg); logs in $OUT"
"${JAVA[@]}" b "$GUEST" "$PORT_B" "$PORT_A" "$T" >"$OUT/b.log" 2>&1 &
PB=$!
trap 'kill $PB 2>/dev/null || true' EXIT
sleep 2
RA=0
"${JAVA[@]}" a "$GUEST" "$PORT_A" "$PORT_B" "$T" >"$OUT/a.log" 2>&1 || RA=$?
# a failed: b would wait for the guest until its timeout, holding its port
[ "$RA" = 0 ] || kill $PB 2>/dev/null || true
RB=0
wait $PB || RB=$?
trap - EXIT
grep -h '^#\|^FAILED' "$OUT/a.log" "$OUT/b.log" | grep -v '^# rounds' || true
grep -h '^# rounds' "$OUT/a.log" "$OUT/b.log" || true
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
echo
printf '%-16s %7s %11s %10s %12s %12s %10s %s\n' leg rounds pages_sent last_pages MB downtime_ms total_ms load
for leg in 1 2 3 4 5 6; do
  L=$(grep -h "^RESULT migrate-[a-z]*-$leg " "$OUT/a.log" "$OUT/b.log" | tail -n1)
  [ -n "$L" ] || { echo "leg $leg: no result"; continue; }
  what=$(sed -n 's/^RESULT migrate-\([a-z]*\)-.*/\1/p' <<<"$L")
  [ $((leg % 2)) = 1 ] && dir="a->b" || dir="b->a"
  printf '%-16s %7s %11s %10s %12.1f %12s %10s %s\n' "$leg $what $dir" "$(field rounds "$L")" "$(field pages_sent "$L")" \
    "$(field last_pages "$L")" "$(awk -v b="$(field bytes "$L")" 'BEGIN { print b / 1e6 }')" "$(field downtime_ms "$L")" \
    "$(field total_ms "$L")" "$(field load "$L")"
done
L=$(grep -h '^RESULT save ' "$OUT/a.log" || true)
[ -z "$L" ] || echo "save: $(field save_ms "$L") ms (paused $(field paused_ms "$L") ms, $(field bytes "$L") bytes, $(field pages "$L") pages + $(field zero "$L") zero pages); restore: $(field restore_ms "$L") ms; load $(field load "$L")"
L=$(grep -h '^RESULT snapshot ' "$OUT/a.log" || true)
[ -z "$L" ] || echo "snapshot create: $(field create_ms "$L") ms, revert: $(field revert_ms "$L") ms, clone: $(field clone_ms "$L") ms; load $(field load "$L")"
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$RA" = 0 ] && [ "$RB" = 0 ] || { echo "migrate: a exited $RA, b exited $RB (logs in $OUT)" >&2; exit 1; }
