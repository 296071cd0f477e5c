#!/usr/bin/env bash
# tests/xenj-frontdoor.sh — the ./xenj front door as scripts use it: start, xen: commands with
# their output and exit codes, stop. Runs its own instance (own directory and SSH port), so a
# developer's running xenj is left alone. Needs the built assembly (mvn verify/install first).
set -uo pipefail
cd "$(dirname "$0")/.."

export XENJ_RUN_DIR; XENJ_RUN_DIR="$(mktemp -d)"
export XENJ_SSH_PORT="${XENJ_TEST_SSH_PORT:-8111}"
work="$(mktemp -d)"
passed=0; failed=0

cleanup() {
    ./xenj stop >/dev/null 2>&1 || true
    rm -rf "$XENJ_RUN_DIR" "$work"
}
trap cleanup EXIT

check() { # check <description> <expected rc> <command...>; output in $out
    local what="$1" want="$2"; shift 2
    out="$("$@" 2>&1)"; local rc=$?
    if [ "$rc" -eq "$want" ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        printf 'FAIL: %s: exit %s, expected %s\n%s\n' "$what" "$rc" "$want" "$out"
    fi
}

contains() { # contains <description> <text>
    if grep -qF -- "$2" <<<"$out"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        printf 'FAIL: %s: output lacks "%s"\n%s\n' "$1" "$2" "$out"
    fi
}

check "status before start" 3 ./xenj status
check "list before start" 3 ./xenj list
check "start" 0 ./xenj start
contains "start reports the time to xen:list" "xen:list answered"
check "list" 0 ./xenj list --no-format
contains "list shows Domain-0" "Domain-0"
contains "no colours in a pipe" "Domain-0"
if grep -q $'\e\[' <<<"$out"; then failed=$((failed + 1)); echo "FAIL: ANSI colours in piped output"; else passed=$((passed + 1)); fi

cp examples/workload.cfg "$work/spin.cfg"
check "create with a relative path" 0 bash -c 'cd "$1" && exec "$2" create spin.cfg name=fd-spin' _ "$work" "$PWD/xenj"
contains "create names the domain" "Created domain fd-spin"
check "list one domain" 0 ./xenj list --no-format fd-spin
contains "the new domain is listed" "fd-spin"

printf 'name = "fd-bad"\nvcpus = 1\nmemory = "lots"\n' > "$work/bad.cfg"
check "bad config fails" 1 ./xenj create "$work/bad.cfg"
contains "bad config names file, line and key" "$work/bad.cfg:3: key 'memory'"
check "unknown command fails" 1 ./xenj no-such-command
check "unknown domain fails" 1 ./xenj pause fd-none

check "console without a terminal prints history" 0 ./xenj console fd-spin

# An example runs from a fresh checkout: its kernel (guests/pv-test) is built on demand.
check "create examples/pv-test.cfg" 0 ./xenj create examples/pv-test.cfg name=fd-pv on_poweroff=preserve
contains "the PV example is created" "fd-pv"
for _ in $(seq 1 60); do
    out="$(./xenj console fd-pv 2>&1)"
    grep -qF "hello from a xenj PV guest" <<<"$out" && break
    sleep 1
done
contains "the PV example guest prints on its console" "hello from a xenj PV guest"
./xenj destroy fd-pv >/dev/null 2>&1 || true

# The Multiboot example (guests/mb-test, built on demand) checks what the loader handed over and
# ends its domain through isa-debug-exit: exit code 1 = every check passed; on_poweroff=preserve keeps it.
check "create examples/multiboot.cfg" 0 ./xenj create examples/multiboot.cfg name=fd-mb
for _ in $(seq 1 60); do
    out="$(./xenj list -l fd-mb 2>&1)"
    grep -qE '"exit_code" *: *[0-9]' <<<"$out" && break
    sleep 1
done
if grep -qE '"exit_code" *: *1([^0-9]|$)' <<<"$out"; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
    printf 'FAIL: the Multiboot example ends with exit_code 1\n%s\n%s\n' "$out" "$(./xenj console fd-mb 2>&1)"
fi
check "the Multiboot kernel's console" 0 ./xenj console fd-mb
contains "the Multiboot kernel found no fault" "result failures=00000000"
check "dmesg names the exit code" 0 ./xenj dmesg
contains "dmesg names the exit code" "exits with code 1 (isa-debug-exit)"
./xenj destroy fd-mb >/dev/null 2>&1 || true
check "top in batch mode" 0 ./xenj top -b -n 1 --no-format
contains "top shows the domain" "fd-spin"
check "destroy" 0 ./xenj destroy fd-spin
check "destroyed domain is gone" 1 ./xenj list fd-spin
check "stop" 0 ./xenj stop
check "status after stop" 3 ./xenj status

echo "xenj-frontdoor: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
