#!/bin/bash
# Differential test of the emulated IA-32 CPU (integer core, segments, x87, FXSAVE, MMX/SSE/SSE2) against the host:
# a large seeded run. Each case goes to the oracle this host has for it (HostOracles): the host CPU
# running i386 code (native32) where it can; else the host CPU in 64-bit mode for the cases whose
# results are the same there (native64), and Debian's qemu-i386 — a second emulator, not
# hardware — for the rest (qemu-user). Prints "group=<g> oracle=<o> cases=<n> mismatches=<m>" per
# group and oracle; a group/oracle line counts as one test: passed with 0 mismatches, failed with
# any, skipped when no oracle could answer (oracle=none); cases the native runner could not finish
# (unfinished-natively=K: split-lock throttling) are listed in the line and counted as uncompared.
# Ends "cpu-diff-report: N passed, ...".
#   tests/cpu-diff-report.sh [cases-per-group] [seed]
# Needs gcc (gcc-multilib for the i386 runner) and qemu-user on hosts without i386 execution;
# ./xenj test installs both.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
mvn -B -q -o -pl org.xenj.hypervisor -am test-compile -DskipTests >/dev/null 2>&1 \
  || mvn -B -q -pl org.xenj.hypervisor -am test-compile -DskipTests || exit 1
# the translator's blocks need ASM (from the local repository Maven uses; .mvn/maven.config may move it):
# without it every compilation failed with NoClassDefFoundError and the "translated" runs were interpreted
M2=$( { sed -n 's/.*-Dmaven.repo.local=\([^ ]*\).*/\1/p' .mvn/maven.config 2>/dev/null || true; } | head -n1)
M2=${M2:-$HOME/.m2/repository}
ASM_VERSION=$(sed -n 's:.*<asm.version>\(.*\)</asm.version>.*:\1:p' pom.xml | head -n1)
ASM_JAR=$M2/org/ow2/asm/asm/$ASM_VERSION/asm-$ASM_VERSION.jar
[ -f "$ASM_JAR" ] || { echo "cpu-diff-report: $ASM_JAR not found (the translator needs it)" >&2; exit 1; }
cd org.xenj.hypervisor
cp=target/classes:target/test-classes:$ASM_JAR
out=$(mktemp)
trap 'rm -f "$out"' EXIT
java -Xss4m -cp "$cp" org.xenj.hypervisor.internal.cpu.diff.DiffReport "${1:-20000}" "${2:-0x5EED}" | tee "$out"
rc=${PIPESTATUS[0]}
read -r passed failed skipped < <(awk '
  /^group=/ { if ($0 ~ / oracle=none /) s++; else if ($0 ~ / mismatches=0( |$)/) p++; else f++ }
  END { print p+0, f+0, s+0 }' "$out")
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
    echo "cpu-diff-report: DiffReport exited $rc" >&2
    failed=1
fi
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
    echo "cpu-diff-report: nothing was compared" >&2
    failed=1
fi
echo "cpu-diff-report: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
