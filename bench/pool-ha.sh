#!/usr/bin/env bash
# bench/pool-ha.sh — the pool's fault runs with real parts (issue 16, item 6).
#
# Three xenj instances (Karaf assemblies unpacked from xenj-assembly/target) and a three-server
# ZooKeeper ensemble (the ZooKeeper jar of the Maven repository, run with java), one of each in
# each of three network namespaces this script creates (xjpool-h1..3, joined by a bridge in
# xjpool-net). It creates HA pool domains (guests/pv-test: our small PV kernel, which boots in
# milliseconds and then waits, blocked, for a Dom0 backend its config does not ask for) and
# does the fault runs:
#   1. placement: N x `xen:create --pool`, each timed;
#   2. kill -9 of the host owning a non-HA domain -> its HA domains run again elsewhere; the host is
#      started again and its non-HA domains must not stay 'running' in the registry;
#   2b. kill -9 of the ZooKeeper leader: every connection drops for a moment; nobody may fence;
#   2c. SIGSTOP of a ZooKeeper follower that hosts are connected to (a server that goes silent, its
#      sockets open): they must move to another server, and nobody may fence;
#   3. link cut (ip link set eth0 down in a host's namespace) while it runs domains -> it pauses
#      them (self-fencing) before another host restarts the HA ones; then the link comes back;
#   4. restart of the whole pool (every xenj and every ZooKeeper server) -> no record lost.
# Meanwhile every host's local `xen:list` and the pool's `xen:list --pool` are polled and every
# host's pool log lines are collected into one history; bench/pool-ha-check.py replays it
# (no domain on two hosts at once, none lost) and prints the figures and "N passed, M failed".
#
# Needs root (network namespaces only), java 17, ssh, python3, a built assembly (mvn install)
# and guests/pv-test/pv-test.elf (built here if missing). Takes about 10 minutes on a loaded
# 2-core machine. Everything it makes is under $XJPOOL_WORK (default /tmp/xjpool.<pid>) and is
# removed on exit with the namespaces (XJPOOL_KEEP=1 keeps the directory).
#
# Environment: XJPOOL_CREATES (placement runs, default 12), XJPOOL_SESSION_MS (10000).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CREATES="${XJPOOL_CREATES:-12}"
SESSION_MS="${XJPOOL_SESSION_MS:-10000}"
W="${XJPOOL_WORK:-/tmp/xjpool.$$}"
HIST="$W/history.log"
SECRET="xjpool-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
NET=10.77.0
HOSTS=(1 2 3)
ZKV=3.9.5
NETTY=4.1.130.Final

say() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() { say "FATAL: $*"; echo "0 passed, 1 failed"; exit 1; }
now_ms() { date +%s%3N; }
ev() { echo "$(now_ms) $*" >>"$HIST"; }

[ "$(id -u)" -eq 0 ] || die "needs root for network namespaces"
for c in ip java ssh ssh-keygen python3; do command -v "$c" >/dev/null || die "$c is missing"; done

# The Maven repository the build used: .mvn/maven.config's maven.repo.local, else ~/.m2.
REPO="$HOME/.m2/repository"
if [ -f "$ROOT/.mvn/maven.config" ]; then
    r=$(grep -o 'maven.repo.local=[^ ]*' "$ROOT/.mvn/maven.config" | head -n1 | cut -d= -f2 || true)
    [ -n "$r" ] && REPO="$r"
fi
jar() { local f="$REPO/$1"; [ -f "$f" ] || die "missing $f (build offline once: mvn -B install -DskipTests)"; printf '%s' "$f"; }
ZKCP="$(jar org/apache/zookeeper/zookeeper/$ZKV/zookeeper-$ZKV.jar):$(jar org/apache/zookeeper/zookeeper-jute/$ZKV/zookeeper-jute-$ZKV.jar)"
ZKCP+=":$(jar org/slf4j/slf4j-api/2.0.17/slf4j-api-2.0.17.jar):$(jar org/slf4j/slf4j-simple/2.0.17/slf4j-simple-2.0.17.jar)"
ZKCP+=":$(jar io/dropwizard/metrics/metrics-core/4.1.12.1/metrics-core-4.1.12.1.jar):$(jar org/xerial/snappy/snappy-java/1.1.10.5/snappy-java-1.1.10.5.jar)"
ZKCP+=":$(jar org/apache/yetus/audience-annotations/0.12.0/audience-annotations-0.12.0.jar)"
for n in buffer codec common handler resolver transport transport-native-unix-common transport-classes-epoll; do
    ZKCP+=":$(jar io/netty/netty-$n/$NETTY/netty-$n-$NETTY.jar)"
done

TGZ=$(ls -t "$ROOT"/xenj-assembly/target/xenj-assembly-*.tar.gz 2>/dev/null | head -n1 || true)
[ -n "$TGZ" ] || die "no assembly: mvn -B install -DskipTests first"
KERNEL="$ROOT/guests/pv-test/pv-test.elf"
if [ ! -f "$KERNEL" ]; then
    "$ROOT/guests/pv-test/build.sh" "$KERNEL" >/dev/null || die "cannot build $KERNEL (needs gcc-multilib)"
fi

# ------------------------------------------------------------------ clean-up
cleanup() {
    set +e
    [ -f "$W/poll.stop" ] || touch "$W/poll.stop" 2>/dev/null
    [ -n "${POLLER:-}" ] && kill "$POLLER" 2>/dev/null
    for i in "${HOSTS[@]}"; do
        kpid=$(cat "$W/h$i/karaf.pid" 2>/dev/null)
        [ -n "$kpid" ] && kill -9 "$kpid" 2>/dev/null
        zpid=$(cat "$W/zk$i.pid" 2>/dev/null)
        [ -n "$zpid" ] && kill -9 "$zpid" 2>/dev/null
    done
    sleep 0.5
    for ns in xjpool-h1 xjpool-h2 xjpool-h3 xjpool-net; do
        ip netns del "$ns" 2>/dev/null
    done
    if [ -z "${XJPOOL_KEEP:-}" ]; then rm -rf "$W"; else say "kept $W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for ns in xjpool-h1 xjpool-h2 xjpool-h3 xjpool-net; do
    ! ip netns list | grep -qw "$ns" || die "namespace $ns exists (another run?); ip netns del $ns"
done
mkdir -p "$W"
: >"$HIST"
say "work dir $W; load: $(cut -d' ' -f1-3 /proc/loadavg)"

# ------------------------------------------------------------------ network
ip netns add xjpool-net
ip -n xjpool-net link add br0 type bridge
ip -n xjpool-net link set br0 up
for i in "${HOSTS[@]}"; do
    ip netns add "xjpool-h$i"
    ip -n xjpool-net link add "xjp$i" type veth peer name eth0 netns "xjpool-h$i"
    ip -n xjpool-net link set "xjp$i" master br0 up
    ip -n "xjpool-h$i" addr add "$NET.1$i/24" dev eth0
    ip -n "xjpool-h$i" link set eth0 up
    ip -n "xjpool-h$i" link set lo up
done
inns() { local i="$1"; shift; ip netns exec "xjpool-h$i" "$@"; }

# ------------------------------------------------------------------ ZooKeeper ensemble
ENSEMBLE="$NET.11:2181,$NET.12:2181,$NET.13:2181"
zk_start() {
    local i="$1"
    # not through inns: a function run with & is a subshell, and its pid is not the server's
    ip netns exec "xjpool-h$i" java -Xmx128m -cp "$ZKCP" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
        -Dzookeeper.admin.enableServer=false org.apache.zookeeper.server.quorum.QuorumPeerMain "$W/zk$i.cfg" \
        >>"$W/zk$i.log" 2>&1 &
    echo $! >"$W/zk$i.pid"
    disown
}
zk_clients() { # the hosts (h1 h2 ...) with a session connected to server i (not this query's own connection)
    inns "$1" timeout 3 bash -c "exec 3<>/dev/tcp/$NET.1$1/2181; echo cons >&3; cat <&3" 2>/dev/null | grep 'sid=' \
        | grep -o "/$NET\.1[0-9]:" | sed -E "s|/$NET\.1([0-9]):|h\1|" | sort -u | tr '\n' ' ' || true
}
zk_mode() { # prints leader/follower/standalone or nothing
    inns "$1" timeout 3 bash -c "exec 3<>/dev/tcp/$NET.1$1/2181; echo srvr >&3; cat <&3" 2>/dev/null | sed -n 's/^Mode: //p' || true
}
for i in "${HOSTS[@]}"; do
    mkdir -p "$W/zk$i"
    echo "$i" >"$W/zk$i/myid"
    cat >"$W/zk$i.cfg" <<EOF
tickTime=1000
initLimit=10
syncLimit=3
dataDir=$W/zk$i
clientPort=2181
clientPortAddress=$NET.1$i
4lw.commands.whitelist=srvr,ruok,cons
server.1=$NET.11:2888:3888
server.2=$NET.12:2888:3888
server.3=$NET.13:2888:3888
EOF
    zk_start "$i"
done
wait_quorum() {
    local deadline=$(( $(date +%s) + 120 )) i m ok
    while :; do
        ok=0
        for i in "${HOSTS[@]}"; do m=$(zk_mode "$i"); [ -n "$m" ] && ok=$((ok + 1)); done
        [ "$ok" -ge "${1:-3}" ] && return 0
        [ "$(date +%s)" -lt "$deadline" ] || die "ZooKeeper ensemble not up within 120 s (see $W/zk*.log)"
        sleep 1
    done
}
wait_quorum 3
for i in "${HOSTS[@]}"; do say "zk$i: $(zk_mode "$i")"; done

# ------------------------------------------------------------------ xenj instances
ssh-keygen -q -t rsa -b 2048 -m PEM -N '' -f "$W/key"
PUB=$(cut -d' ' -f2 "$W/key.pub")
SSHOPTS=(-i "$W/key" -p 8101 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=QUIET
    -o BatchMode=yes -o ConnectTimeout=5 -o ServerAliveInterval=5 -o ServerAliveCountMax=2
    -o PubkeyAcceptedAlgorithms=+ssh-rsa -o HostKeyAlgorithms=+ssh-rsa)
# One console command in host i's xenj (its namespace's loopback); output without colours.
# --no-format tables: tab-separated fields without their padding, no header.
xc() { local i="$1"; shift; inns "$i" timeout 60 ssh -q "${SSHOPTS[@]}" karaf@127.0.0.1 "$*" 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g' -e 's/ *\t */\t/g' -e '/^Connection to .* closed/d'; return "${PIPESTATUS[0]}"; }

for i in "${HOSTS[@]}"; do
    d="$W/h$i"
    mkdir -p "$d"
    tar xzf "$TGZ" -C "$d" --strip-components=1
    echo "karaf=$PUB,_g_:admingroup" >>"$d/etc/keys.properties"
    cat >"$d/etc/org.xenj.pool.cfg" <<EOF
xenj.pool.enabled = true
xenj.pool.connect = $ENSEMBLE
xenj.pool.host = h$i
xenj.pool.address = $NET.1$i
xenj.pool.secret = $SECRET
xenj.pool.session.timeout.ms = $SESSION_MS
xenj.pool.join = true
EOF
    sed -i -e 's/^xenj.memory *=.*/xenj.memory = 512M/' -e 's/^xenj.dom0.memory *=.*/xenj.dom0.memory = 64M/' \
        -e 's/^xenj.pcpus *=.*/xenj.pcpus = 1/' "$d/etc/org.xenj.hypervisor.cfg"
done
karaf_start() {
    inns "$1" env JAVA_MAX_MEM=1G JAVA_MIN_MEM=128M "$W/h$1/bin/start" >/dev/null 2>&1
}
wait_up() { # host i answers xen:pool-list as a member
    local i="$1" deadline=$(( $(date +%s) + ${2:-300} ))
    until xc "$i" "xen:pool-list --no-format" 2>/dev/null | grep -q "^h$i"; do
        [ "$(date +%s)" -lt "$deadline" ] || die "h$i not a pool member within ${2:-300} s (see $W/h$i/data/log/karaf.log)"
        sleep 2
    done
}
t0=$(now_ms)
for i in "${HOSTS[@]}"; do karaf_start "$i"; done
for i in "${HOSTS[@]}"; do wait_up "$i"; done
say "3 xenj up and members in $(( ($(now_ms) - t0) / 1000 )) s; load: $(cut -d' ' -f1-3 /proc/loadavg)"
xc 1 "xen:pool-list"

# ------------------------------------------------------------------ the observer
ALIVE="$W/alive"   # hosts the poller asks (a killed one is left out until it is back)
echo "1 2 3" >"$ALIVE"
poller() {
    local i s e out
    while [ ! -f "$W/poll.stop" ]; do
        for i in $(cat "$ALIVE"); do
            s=$(now_ms)
            if out=$(xc "$i" "xen:list --no-format" 2>/dev/null); then
                e=$(now_ms)
                echo "$s $e local h$i $(awk -F'\t' '$1!="Domain-0" {printf "%s=%s:%s ", $1, $2, $5}' <<<"$out")" >>"$HIST"
            fi
        done
        for i in $(cat "$ALIVE"); do
            s=$(now_ms)
            if out=$(xc "$i" "xen:list --pool --no-format" 2>/dev/null) && grep -q . <<<"$out"; then
                e=$(now_ms)
                echo "$s $e pool h$i $(awk -F'\t' '{printf "%s=%s:%s:%s ", $1, $2, $3, $4}' <<<"$out")" >>"$HIST"
                break
            fi
        done
    done
}
poller &
POLLER=$!
disown

# ------------------------------------------------------------------ 1. placement
cfg() { # name ha
    cat >"$W/$1.cfg" <<EOF
name = "$1"
type = "pv"
memory = 16
vcpus = 1
kernel = "$KERNEL"
cmdline = "console=hvc0"
on_host_failure = "$2"
EOF
}
say "placement: $CREATES x xen:create --pool"
for n in $(seq 1 "$CREATES"); do
    if [ $((n % 4)) -eq 0 ]; then name="n$n"; ha=none; else name="ha$n"; ha=restart; fi
    cfg "$name" "$ha"
    s=$(now_ms)
    out=$(xc $(( (n % 3) + 1 )) "xen:create --pool $W/$name.cfg") || die "xen:create --pool $name failed: $out"
    e=$(now_ms)
    inner=$(sed -nE 's/.*placed by [^,]+, ([0-9]+) ms.*/\1/p' <<<"$out" | head -n1)
    echo "$e place $name $((e - s)) ${inner:-}" >>"$HIST"
    say "  $name ($ha): $((e - s)) ms: $(tr '\n' ' ' <<<"$out" | cut -c1-100)"
done
sleep 3
xc 1 "xen:list --pool"

owner_of_most() { # host index (among $1) owning the most domains with state running
    xc "$2" "xen:list --pool --no-format" | awk -F'\t' -v allowed=" $1 " '$3=="running" {c[$2]++}
        END {best=""; for (h in c) { i=substr(h,2); if (index(allowed, " " i " ") && (best=="" || c[h]>c["h" best])) best=i }; print best}'
}
running_elsewhere() { # all HA domains that were on h$1 run on another host, per the pool and the hosts' lists
    local victim="$1" obs="$2" list
    list=$(xc "$obs" "xen:list --pool --no-format") || return 1
    ! awk -F'\t' -v v="h$victim" '$1 ~ /^ha/ && ($2==v || $3!="running") {bad=1} END {exit !bad}' <<<"$list"
}

# ------------------------------------------------------------------ 2. kill -9
# the owner of the first non-HA domain (so that the restarted host has one to account for)
V=$(xc 1 "xen:list --pool --no-format" | awk -F'\t' '$1 ~ /^n/ && $3=="running" {print substr($2, 2); exit}')
[ -n "$V" ] || V=$(owner_of_most "1 2 3" 1)
[ -n "$V" ] || die "no host runs pool domains"
O=$(( V % 3 + 1 ))
say "kill -9 of h$V (it owns: $(xc "$O" "xen:list --pool --no-format" | awk -F'\t' -v v="h$V" '$2==v {printf "%s ", $1}'))"
echo "$(echo 1 2 3 | tr ' ' '\n' | grep -vx "$V" | tr '\n' ' ')" >"$ALIVE"
kpid=$(cat "$W/h$V/karaf.pid")
ev "kill h$V"
kill -9 "$kpid"
while kill -0 "$kpid" 2>/dev/null; do sleep 0.05; done
ev "dead h$V"
deadline=$(( $(date +%s) + 120 ))
until running_elsewhere "$V" "$O"; do
    [ "$(date +%s)" -lt "$deadline" ] || { say "HA domains of h$V not running elsewhere within 120 s"; ev "failover-timeout h$V"; break; }
    sleep 0.5
done
ev "failover-done h$V"
xc "$O" "xen:list --pool"
say "starting h$V again"
karaf_start "$V"
wait_up "$V"
echo "1 2 3" >"$ALIVE"
sleep $(( SESSION_MS / 1000 + 5 ))
ev "restarted h$V"
xc "$V" "xen:list --pool"

# ------------------------------------------------------------------ 2b. ZooKeeper leader kill -9
# Every follower drops its clients until a new leader is elected: every host's connection is
# SUSPENDED at once, for moments. Nobody may fence for that (their sessions cannot expire).
L=""
for i in "${HOSTS[@]}"; do [ "$(zk_mode "$i")" = leader ] && L=$i; done
if [ -n "$L" ]; then
    say "kill -9 of the ZooKeeper leader zk$L"
    ev "zk-leader-kill zk$L"
    zpid=$(cat "$W/zk$L.pid")
    kill -9 "$zpid"
    while kill -0 "$zpid" 2>/dev/null; do sleep 0.05; done
    sleep $(( SESSION_MS / 1000 + 5 ))
    for i in "${HOSTS[@]}"; do say "zk$i: $(zk_mode "$i")"; done
    zk_start "$L"
    wait_quorum 3
    ev "zk-leader-back zk$L"
    xc 1 "xen:list --pool"
fi

# ------------------------------------------------------------------ 2c. a silent ZooKeeper server
# SIGSTOP freezes the server with its sockets open: its clients hear nothing, as when its host's
# link is cut, but every xenj keeps its own link. The follower with the most xenj connected to it.
S=""; SC=""
for i in "${HOSTS[@]}"; do
    [ "$(zk_mode "$i")" = follower ] || continue
    c=$(zk_clients "$i")
    if [ -z "$S" ] || [ "$(wc -w <<<"$c")" -gt "$(wc -w <<<"$SC")" ]; then S=$i; SC=$c; fi
done
if [ -n "$S" ] && [ -n "$SC" ]; then
    say "SIGSTOP of ZooKeeper follower zk$S (connected to it: $SC)"
    ev "zk-silent zk$S:$(tr ' ' ',' <<<"${SC% }")"
    kill -STOP "$(cat "$W/zk$S.pid")"
    sleep $(( SESSION_MS / 1000 + 5 ))
    kill -CONT "$(cat "$W/zk$S.pid")"
    wait_quorum 3
    ev "zk-resumed zk$S"
else
    say "no ZooKeeper follower has a xenj connected to it: silent-server phase skipped"
    ev "zk-silent-skipped"
fi

# ------------------------------------------------------------------ 3. link cut
C=$(owner_of_most "$(echo 1 2 3 | tr ' ' '\n' | grep -vx "$V" | tr '\n' ' ')" "$V")
[ -n "$C" ] || C=$(( V % 3 + 1 ))
O=$(( C % 3 + 1 ))
say "link cut of h$C (zk$C: $(zk_mode "$C"); it owns: $(xc "$O" "xen:list --pool --no-format" | awk -F'\t' -v v="h$C" '$2==v && $3=="running" {printf "%s ", $1}'))"
ev "cut h$C"
ip -n "xjpool-h$C" link set eth0 down
deadline=$(( $(date +%s) + 120 ))
until running_elsewhere "$C" "$O"; do
    [ "$(date +%s)" -lt "$deadline" ] || { say "HA domains of h$C not running elsewhere within 120 s"; break; }
    sleep 0.5
done
ev "failover-done h$C"
say "h$C's own view while cut:"; xc "$C" "xen:list"
xc "$O" "xen:list --pool"
ev "heal h$C"
ip -n "xjpool-h$C" link set eth0 up
sleep $(( SESSION_MS / 1000 + 10 ))
ev "healed h$C"
xc "$C" "xen:list"
xc "$O" "xen:list --pool"

# ------------------------------------------------------------------ 4. whole-pool restart
xc 1 "xen:list --pool --no-format" >"$W/records.before"
say "restart of the whole pool: every xenj and every ZooKeeper server"
echo "" >"$ALIVE"
ev "pool-stop"
for i in "${HOSTS[@]}"; do inns "$i" "$W/h$i/bin/stop" >/dev/null 2>&1 || true; done
for i in "${HOSTS[@]}"; do
    kpid=$(cat "$W/h$i/karaf.pid" 2>/dev/null || true)
    for _ in $(seq 1 120); do [ -n "$kpid" ] && kill -0 "$kpid" 2>/dev/null || break; sleep 0.5; done
    [ -n "$kpid" ] && kill -9 "$kpid" 2>/dev/null || true
done
for i in "${HOSTS[@]}"; do kill "$(cat "$W/zk$i.pid")" 2>/dev/null || true; done
for i in "${HOSTS[@]}"; do
    zpid=$(cat "$W/zk$i.pid")
    for _ in $(seq 1 60); do kill -0 "$zpid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$zpid" 2>/dev/null || true
done
sleep 1
ev "pool-down"
for i in "${HOSTS[@]}"; do zk_start "$i"; done
wait_quorum 3
for i in "${HOSTS[@]}"; do karaf_start "$i"; done
for i in "${HOSTS[@]}"; do wait_up "$i"; done
echo "1 2 3" >"$ALIVE"
ev "pool-up"
deadline=$(( $(date +%s) + 120 ))
until xc 1 "xen:list --pool --no-format" | awk -F'\t' '$1 ~ /^ha/ && $3!="running" {bad=1} END {exit bad}'; do
    [ "$(date +%s)" -lt "$deadline" ] || { say "HA domains not all running within 120 s of the restart"; break; }
    sleep 1
done
sleep 3
xc 1 "xen:list --pool --no-format" >"$W/records.after"
ev "end"
xc 1 "xen:list --pool"
touch "$W/poll.stop"
while kill -0 "$POLLER" 2>/dev/null; do sleep 0.2; done
POLLER=

for i in "${HOSTS[@]}"; do
    grep -h ' pool: ' "$W/h$i/data/log/karaf.log"* 2>/dev/null | sed "s/^/h$i | /" >"$W/pool-h$i.log" || true
done
say "load: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$ROOT/bench/pool-ha-check.py" "$W"
