package org.xenj.hypervisor.internal.cpu.diff;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** One differential run over every group (used by {@link CpuDiffTest} and {@link DiffReport}). */
final class DiffRun {

    private DiffRun() {
    }

    /** Runs every group once; returns the cases and mismatch descriptions by group. */
    static Map<String, List<String>> runAll(long seed, int perGroup, Map<String, Integer> counts) throws Exception {
        List<DiffCase> cases = new ArrayList<>(IntegerCases.all(seed, perGroup));
        cases.addAll(X87Cases.handWritten());
        cases.addAll(X87Cases.random(seed ^ 0x87, perGroup));
        cases.addAll(X87Cases.fxsave(seed ^ 0xF5, Math.max(20, perGroup / 10)));
        List<DiffResult> want = NativeRunner.run(cases);
        CpuHarness emu = new CpuHarness();
        Map<String, List<String>> mismatches = new LinkedHashMap<>();
        for (int i = 0; i < cases.size(); i++) {
            DiffCase c = cases.get(i);
            counts.merge(c.group, 1, Integer::sum);
            List<String> list = mismatches.computeIfAbsent(c.group, g -> new ArrayList<>());
            String m = DiffComparator.compare(c, want.get(i), emu.run(c));
            if (m != null) {
                list.add(m);
            }
        }
        for (Map.Entry<String, Integer> e : counts.entrySet()) {
            System.out.printf("group=%s cases=%d mismatches=%d%n", e.getKey(), e.getValue(), mismatches.get(e.getKey()).size());
        }
        return mismatches;
    }

}
