#!/bin/bash
# bench/migrate.sh — issue 15 §5: live migration of the Debian 686 guest (256 MiB, guest/) between
# two xenj processes on this host, over the authenticated channel (xenj.migrate.*): on loopback
# (MIGRATE_NET=loopback, the default) or between two network namespaces (MIGRATE_NET=netns).
#
# Process a boots the guest; then six legs a->b, b->a, a->b idle (the first two run each JVM's
# migration paths cold, the third warm), then b starts a memory-dirtying loop in the guest (busybox
# dd of 8 MiB into a tmpfs, without end) and b->a, a->b, b->a while it runs. Each arrival is
# checked: the shell answers, and the loop runs on. Then a times snapshot create / revert / clone
# and save / restore of it. Prints a table: rounds, pages sent, last pages, host-side downtime (source
# paused -> the destination answers "running"), total time, and the guest-side downtime; then the
# save/restore and snapshot figures, and the load average at each measurement (the host is shared).
#
# Guest-side downtime: the guest has an RTL8139 (Linux's 8139too) at 10.98.0.2 on each process's
# virtual switch bridge xenbr0, which joins a TAP (xmA<pid>, xmB<pid>); the script moves both TAPs
# into one Linux bridge in a network namespace of its own (xmig<pid>, 10.98.0.1) and each leg's
# source pings the guest from there at 1 ms intervals (iputils ping -i 0.001 -D) from a few seconds
# before the leg to 3 s after it: the longest gap between replies that overlaps the host-side pause
# (guest-side downtime), the longest gap of the leg, the requests lost, and the longest gap before
# the leg (the noise of a shared host). After each leg the script's log shows the Linux bridge's
# entry for the guest's MAC on the destination's TAP: the destination's qemu-dm announces it (RARP,
# as QEMU's self-announce), so the bridge need not wait for the guest's own traffic.
# MIGRATE_NET=netns: each JVM runs in its own namespace (xmiga<pid>, xmigb<pid>) with a veth into the
# bench's bridge (10.98.1.1, 10.98.1.2), and the migration channel runs over those addresses.
# Namespaces, TAPs and veths are the bench's own (names with its pid) and are removed on exit, also
# on failure. Without root, /dev/net/tun, ip or ping the guest-side figures are skipped with the
# reason (and MIGRATE_NET=netns refuses to run); the host-side ones are measured either way.
# Env: GUEST (default guest/ of this repository), PORT_A/PORT_B (47311/47312), DOWNTIME_MS (20,
#      the idle target) and DIRTY_DOWNTIME_MS (60), BENCH_TIMEOUT seconds (900), XENJ_JAVA_OPTS, XENJ_GC (-XX:+UseZGC), NO_BUILD,
#      MIGRATE_NET (loopback | netns), GUEST_PING=0 (no NIC, no ping: host-side figures only),
#      MIGRATE_TLS (true, as xenj.migrate.tls defaults; false: the stream in the clear, to compare).
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
# the migration channel's TLS certificates (Bouncy Castle, the version the pom names)
BC_VERSION=$(sed -n 's:.*<bouncycastle.version>\(.*\)</bouncycastle.version>.*:\1:p' pom.xml | head -n1)
for j in bcprov bcutil bcpkix; do
  BC_JAR=$M2/org/bouncycastle/$j-jdk18on/$BC_VERSION/$j-jdk18on-$BC_VERSION.jar
  [ -f "$BC_JAR" ] || { echo "migrate: $BC_JAR not found (mvn -B install fetches it)" >&2; exit 2; }
  CP=$CP:$BC_JAR
done

PORT_A=${PORT_A:-47311}
PORT_B=${PORT_B:-47312}
T=${BENCH_TIMEOUT:-900}
NET=${MIGRATE_NET:-loopback}
case "$NET" in loopback|netns) ;; *) echo "migrate: MIGRATE_NET=$NET: loopback or netns" >&2; exit 2 ;; esac
if [ "$NET" = loopback ] && command -v ss >/dev/null && ss -ltn | awk '{ print $4 }' | grep -qE ":($PORT_A|$PORT_B)\$"; then
  echo "migrate: port $PORT_A or $PORT_B is in use (an earlier run still going?); set PORT_A/PORT_B" >&2; exit 2
fi

# the bench's network: what is missing for it says why and the guest-side figures are skipped
NOPING=""
if [ "${GUEST_PING:-1}" = 0 ]; then NOPING="GUEST_PING=0"
elif [ "$(id -u)" != 0 ]; then NOPING="not root (network namespaces and TAPs need it)"
elif [ ! -c /dev/net/tun ]; then NOPING="no /dev/net/tun"
elif ! command -v ip >/dev/null; then NOPING="no ip (iproute2)"
elif ! command -v ping >/dev/null; then NOPING="no ping (iputils-ping; scripts/setup-debian.sh installs it)"
fi
if [ "$NET" = netns ] && [ -n "$NOPING" ]; then
  echo "migrate: MIGRATE_NET=netns needs root, /dev/net/tun, ip and ping: $NOPING" >&2; exit 2
fi
NS=xmig$$ NSA=xmiga$$ NSB=xmigb$$ TAPA=xmA$$ TAPB=xmB$$ GUEST_IP=10.98.0.2
NETNS_MADE=()
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  # anything still running in the bench's own namespaces is the bench's (a ping a failed JVM left behind);
  # the namespaces take their veths, bridge and the TAPs moved into them; a TAP not moved yet goes with its JVM
  for n in "${NETNS_MADE[@]}"; do
    ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip netns del "$n" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if [ -z "$NOPING" ]; then
  if ip netns add "$NS" 2>/dev/null; then
    NETNS_MADE+=("$NS")
    ip -n "$NS" link set lo up
    ip -n "$NS" link add br0 type bridge
    ip -n "$NS" addr add 10.98.0.1/24 dev br0
    ip -n "$NS" link set br0 up
  else
    NOPING="cannot create a network namespace here"
  fi
fi
if [ "$NET" = netns ]; then
  [ -z "$NOPING" ] || { echo "migrate: MIGRATE_NET=netns: $NOPING" >&2; exit 2; }
  ip -n "$NS" addr add 10.98.1.254/24 dev br0
  for side in a b; do
    n=$NSA; addr=10.98.1.1; [ $side = b ] && { n=$NSB; addr=10.98.1.2; }
    ip netns add "$n"; NETNS_MADE+=("$n")
    ip -n "$n" link set lo up
    ip -n "$n" link add veth0 type veth peer name "v$side$$" netns "$NS"
    ip -n "$n" addr add $addr/24 dev veth0
    ip -n "$n" link set veth0 up
    ip -n "$NS" link set "v$side$$" master br0 up
  done
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
# the collector xenj runs with in Karaf (xenj-assembly bin/setenv): ZGC; XENJ_GC="" for the JVM default (G1)
JAVA=(java -Xss8m -Xmx1500m ${XENJ_GC--XX:+UseZGC} -Dxenj.migbench.downtime="${DOWNTIME_MS:-20}" -Dxenj.migbench.downtime.dirty="${DIRTY_DOWNTIME_MS:-60}" -Dxenj.migrate.tls="${MIGRATE_TLS:-true}")
if [ -z "$NOPING" ]; then
  JAVA+=(-Dxenj.migbench.ping="ip netns exec $NS ping" -Dxenj.migbench.guestIp=$GUEST_IP -Dxenj.migbench.fdb="bridge -n $NS fdb show br br0")
fi
JAVA+=(${XENJ_JAVA_OPTS:-} -cp "$CP" org.xenj.hvm.qemudm.boot.MigrateBenchMain)
# run side a or b: in its namespace (netns) or here (loopback), with its TAP and addresses
run() {
  local side=$1 port=$2 peer=$3 tap=$4 n=$5 bind=127.0.0.1 peerip=127.0.0.1 pre=()
  if [ "$NET" = netns ]; then
    pre=(ip netns exec "$n"); bind=10.98.1.1; peerip=10.98.1.2
    [ "$side" = b ] && { bind=10.98.1.2; peerip=10.98.1.1; }
  fi
  local opts=(-Dxenj.migbench.bind=$bind -Dxenj.migbench.peer=$peerip -Dxenj.migbench.logdir="$OUT")
  [ -n "$NOPING" ] || opts+=(-Dxenj.migbench.tap="$tap")
  # exec: the PID the script keeps (and kills on exit) is the JVM's
  exec "${pre[@]}" "${JAVA[0]}" "${opts[@]}" "${JAVA[@]:1}" "$side" "$GUEST" "$port" "$peer" "$T" >"$OUT/$side.log" 2>&1
}
# a JVM opens its TAP where it runs; once it is there, move it into the bench's bridge (the JVM keeps its fd)
join_tap() {
  local tap=$1 n=$2 where=()
  [ "$NET" = netns ] && where=(-n "$n")
  for _ in $(seq 1 600); do
    if ip "${where[@]}" link show "$tap" >/dev/null 2>&1; then
      ip "${where[@]}" link set "$tap" netns "$NS" && ip -n "$NS" link set "$tap" master br0 && ip -n "$NS" link set "$tap" up \
        && { echo "# $tap joined br0 in $NS"; return 0; }
      echo "# $tap: could not join br0 in $NS"; return 1
    fi
    sleep 0.2
  done
  echo "# $tap did not appear within 120 s"
}
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg); logs in $OUT; network: $NET"
if [ -n "$NOPING" ]; then
  echo "# guest-side downtime not measured: $NOPING"
else
  echo "# guest-side downtime: ping -i 0.001 from namespace $NS (br0 10.98.0.1) to the guest's RTL8139 at $GUEST_IP through TAPs $TAPA, $TAPB"
  join_tap "$TAPA" "$NSA" >"$OUT/tap-a.log" 2>&1 &
  PIDS+=($!)
  join_tap "$TAPB" "$NSB" >"$OUT/tap-b.log" 2>&1 &
  PIDS+=($!)
fi
run b "$PORT_B" "$PORT_A" "$TAPB" "$NSB" &
PB=$!
PIDS+=($PB)
sleep 2
RA=0
(run a "$PORT_A" "$PORT_B" "$TAPA" "$NSA") || RA=$?
# a failed: b would wait for the guest until its timeout, holding its port
[ "$RA" = 0 ] || kill $PB 2>/dev/null || true
RB=0
wait $PB || RB=$?
cat "$OUT"/tap-*.log 2>/dev/null || true
grep -h '^#\|^FAILED' "$OUT/a.log" "$OUT/b.log" | grep -v '^# rounds' || true
grep -h '^# rounds' "$OUT/a.log" "$OUT/b.log" || true
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
echo
printf '%-16s %6s %10s %10s %6s %11s %9s %12s %10s %10s %13s %7s %s\n' leg rounds pages_sent last_pages MB downtime_ms total_ms \
  guest_gap_ms max_gap_ms guest_lost ping_noise_ms ping_hz load
for leg in 1 2 3 4 5 6; do
  L=$(grep -h "^RESULT migrate-[a-z]*-$leg " "$OUT/a.log" "$OUT/b.log" | tail -n1)
  [ -n "$L" ] || { echo "leg $leg: no result"; continue; }
  what=$(sed -n 's/^RESULT migrate-\([a-z]*\)-.*/\1/p' <<<"$L")
  [ $((leg % 2)) = 1 ] && dir="a->b" || dir="b->a"
  gg=$(field guest_gap_ms "$L"); gl=$(field guest_lost "$L"); gb=$(field guest_base_gap_ms "$L")
  ge=$(field guest_max_gap_ms "$L"); gh=$(field guest_ping_hz "$L")
  printf '%-16s %6s %10s %10s %6.1f %11s %9s %12s %10s %10s %13s %7s %s\n' "$leg $what $dir" "$(field rounds "$L")" "$(field pages_sent "$L")" \
    "$(field last_pages "$L")" "$(awk -v b="$(field bytes "$L")" 'BEGIN { print b / 1e6 }')" "$(field downtime_ms "$L")" \
    "$(field total_ms "$L")" "${gg:--}" "${ge:--}" "${gl:--}" "${gb:--}" "${gh:--}" "$(field load "$L")"
done
L=$(grep -h '^RESULT save ' "$OUT/a.log" || true)
[ -z "$L" ] || echo "save: $(field save_ms "$L") ms (paused $(field paused_ms "$L") ms, $(field bytes "$L") bytes, $(field pages "$L") pages + $(field zero "$L") zero pages); restore: $(field restore_ms "$L") ms; load $(field load "$L")"
L=$(grep -h '^RESULT snapshot ' "$OUT/a.log" || true)
[ -z "$L" ] || echo "snapshot create: $(field create_ms "$L") ms, revert: $(field revert_ms "$L") ms, clone: $(field clone_ms "$L") ms; load $(field load "$L")"
[ -z "$NOPING" ] || echo "guest_gap_ms, guest_lost: not measured ($NOPING)"
[ -n "$NOPING" ] || echo "guest_gap_ms: the longest gap between ping replies that overlaps the host-side pause;" \
  "(>: no reply after the pause until the ping stopped) max_gap_ms: the longest gap from the leg's start to 3 s after it; guest_lost: requests unanswered; ping_noise_ms: the longest" \
  "gap in the 3-5 s before the leg (the same ping, no migration); ping_hz: replies per second the host let ping -i 0.001 have"
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$RA" = 0 ] && [ "$RB" = 0 ] || { echo "migrate: a exited $RA, b exited $RB (logs in $OUT)" >&2; exit 1; }
