#!/bin/sh
# Differential test of the emulated IA-32 CPU (integer core and x87) against the host CPU:
# a large seeded run; prints "group=<g> cases=<n> mismatches=<m>" per group.
#   tests/cpu-diff-report.sh [cases-per-group] [seed]
# Needs gcc with -m32 support (gcc-multilib) and an x86 host; builds the module's test classes.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
mvn -B -q -o -pl org.xenj.hypervisor -am test-compile -DskipTests >/dev/null 2>&1 \
  || mvn -B -q -pl org.xenj.hypervisor -am test-compile -DskipTests
cd org.xenj.hypervisor
cp=target/classes:target/test-classes
exec java -Xss4m -cp "$cp" org.xenj.hypervisor.internal.cpu.diff.DiffReport "${1:-20000}" "${2:-0x5EED}"
