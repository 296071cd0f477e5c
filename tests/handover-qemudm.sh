#!/bin/bash
# tests/handover-qemudm.sh — issue 8's hand-over demo, from the Karaf console as a user would do it.
#
# The default Debian guest (examples/debian.cfg) boots with xenj.counter=2, so its /init prints
# "tick 0", "tick 1", ... on ttyS0 (Linux's 8250 driver on qemu-dm's 16550) every 0.2 s. While it
# runs, `bundle:update org.xenj.hvm.qemudm` replaces the device model bundle ten times: each time
# the core pauses the domain, takes qemu-dm's state record and the new bundle's qemu-dm takes over
# from it. Checks: every tick number from the first to the last is there exactly once, ticks went on
# after the last update, the domain is not paused, and xen:dmesg shows ten hand-overs (their pause
# times are printed: median and max). Runs its own xenj (own run directory and SSH port).
# Env: XENJ_TEST_HANDOVER_PORT (default 8112), XENJ_BOOT_TIMEOUT seconds to the first tick (900).
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/build-guest.sh guest >&2 || { echo "handover-qemudm: 0 passed, 1 failed (guest build)"; exit 1; }

export XENJ_RUN_DIR; XENJ_RUN_DIR="$(mktemp -d)"
export XENJ_SSH_PORT="${XENJ_TEST_HANDOVER_PORT:-8112}"
passed=0; failed=0
cleanup() {
    ./xenj stop >/dev/null 2>&1 || true
    rm -rf "$XENJ_RUN_DIR"
}
trap cleanup EXIT
ok() { passed=$((passed + 1)); echo "ok: $*"; }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }
finish() { echo "handover-qemudm: $passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

# When the guest stops printing: is it running, spinning or blocked, and does its output move?
diagnose() {
    ./xenj console ho | tail -20
    local i
    for i in 1 2; do
        echo "--- xen:list / xen:vcpu-list (snapshot $i)"
        ./xenj list; ./xenj vcpu-list ho
        sleep 10
    done
    echo "--- console bytes: $(./xenj console ho | wc -c); xen:debug-keys dq (registers, PIC, PIT, timers):"
    ./xenj debug-keys dq
    ./xenj dmesg | tail -60
}

./xenj start >&2 || { bad "xenj start"; finish; }
./xenj create examples/debian.cfg name=ho extra=xenj.counter=2 >&2 || { bad "create the guest"; finish; }
deadline=$(( $(date +%s) + ${XENJ_BOOT_TIMEOUT:-900} ))
# six tick lines, wherever they sit: on a slow host the shell's prompt or a late kernel line may
# share a line with an early tick, so no particular tick is looked for at the start of a line
until [ "$(./xenj console ho 2>/dev/null | grep -o 'tick [0-9]*' | wc -l)" -ge 6 ]; do
    if [ "$(date +%s)" -gt "$deadline" ]; then
        bad "no ticks from the guest"; diagnose; finish
    fi
    sleep 2
done
ok "the guest ticks on ttyS0"

# by bundle id: a bare name that is also a folder here would be made an absolute path by ./xenj
qid=$(./xenj karaf bundle:list --no-format | awk -F'\t' '$NF ~ /^org\.xenj\.hvm\.qemudm$/ { print $1 }' | tr -d ' ')
[ -n "$qid" ] || qid=$(./xenj karaf bundle:list | awk -F'|' '$NF ~ /org\.xenj\.hvm\.qemudm *$/ { gsub(/ /, "", $1); print $1 }')
[ -n "$qid" ] && ok "qemu-dm is bundle $qid" || { bad "qemu-dm bundle not found"; finish; }
for i in $(seq 1 10); do
    if ./xenj karaf bundle:update "$qid" >/dev/null 2>&1; then :; else bad "bundle:update $i"; fi
    sleep 2
done
before=$(./xenj console ho | grep -o 'tick [0-9]*' | wc -l)
sleep 4
hist=$(./xenj console ho | tr -d '\r')
after=$(grep -o 'tick [0-9]*' <<<"$hist" | wc -l)
[ "$after" -gt "$before" ] && ok "ticks go on after the last update ($before -> $after lines)" \
    || bad "no ticks after the last update ($before -> $after)"

# every tick from the first to the last, exactly once and in order (a prompt may share its line)
gaps=$(grep -o 'tick [0-9]*' <<<"$hist" | awk '{ n = $2 } NR > 1 && n != prev + 1 { print "after " prev " came " n } { prev = n } END { print "range " first " .. " prev > "/dev/stderr" } NR == 1 { first = n }')
if [ -z "$gaps" ]; then ok "ticks contiguous: no line lost or repeated"; else bad "ticks not contiguous: $gaps"; fi

state=$(./xenj list --no-format ho | awk -F'\t' '{ gsub(/ /, "", $1); gsub(/ /, "", $5) } $1 == "ho" { print $5 }')
[[ -n "$state" && "$state" != *p* ]] && ok "the domain runs (state $state)" || bad "the domain is not running (state '$state')"

dm=$(./xenj dmesg | grep 'device model qemu-dm handed over')
n=$(grep -c . <<<"$dm")
[ "$n" -eq 10 ] && ok "ten hand-overs in xen:dmesg" || { bad "$n hand-overs in xen:dmesg"; ./xenj dmesg | grep -i 'device model' | tail -20; }
grep -o 'paused [0-9.]* ms' <<<"$dm" | awk '{ print $2 }' | sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "hand-over pause: median %.1f ms, max %.1f ms over %d updates\n", v[int((NR + 1) / 2)], v[NR], NR }'
./xenj destroy ho >/dev/null 2>&1 || true
finish
