#!/usr/bin/env bash
# Live scheduler hot-swap under load: swaps Pool-0's scheduler between two test policies
# >= 100 times while spin domains load every pCPU, and prints
#   swap_stall_us median=<x> max=<y> swaps=<n> lost=<l> double=<d>
# Usage: bench/sched-swap.sh [swaps=200] [pcpus=host cores] [interval_us=5000]
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
if ! mvn -B -q -o -Dstyle.color=never -pl org.xenj.hypervisor -am test-compile >"$log" 2>&1; then
  cat "$log" >&2; rm -f "$log"; exit 1
fi
rm -f "$log"
mod=org.xenj.hypervisor
cp="$mod/target/test-classes:$mod/target/classes"
exec java -cp "$cp" org.xenj.hypervisor.internal.sched.SchedSwapBench "$@"
