package org.xenj.hypervisor.internal.cpu.diff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/**
 * The emulator's CPU against the host CPU, per instruction group: each case runs natively and on
 * {@link org.xenj.hypervisor.internal.cpu.Cpu}; registers, masked flags, data memory, x87 state and
 * exception vectors must agree. Prints {@code group=<g> cases=<n> mismatches=<m>} per group and
 * the first mismatches. {@code -Dxenj.diff.cases=N} scales the random cases per group.
 */
class CpuDiffTest {

    static int randomPerGroup() {
        return Integer.getInteger("xenj.diff.cases", 600);
    }

    /** Runs all groups; returns mismatches by group, printing the report lines. */
    static Map<String, List<String>> runAll(long seed, int perGroup) throws Exception {
        List<DiffCase> cases = new ArrayList<>(IntegerCases.all(seed, perGroup));
        cases.addAll(X87Cases.handWritten());
        for (DiffCase c : X87Cases.random(seed ^ 0x87, perGroup)) {
            cases.add(c);
        }
        List<DiffResult> want = NativeRunner.run(cases);
        assertEquals(cases.size(), want.size());
        CpuHarness emu = new CpuHarness();
        Map<String, Integer> counts = new LinkedHashMap<>();
        Map<String, List<String>> mismatches = new LinkedHashMap<>();
        for (int i = 0; i < cases.size(); i++) {
            DiffCase c = cases.get(i);
            counts.merge(c.group, 1, Integer::sum);
            mismatches.computeIfAbsent(c.group, g -> new ArrayList<>());
            String m = DiffComparator.compare(c, want.get(i), emu.run(c));
            if (m != null) {
                mismatches.get(c.group).add(m);
            }
        }
        for (Map.Entry<String, Integer> e : counts.entrySet()) {
            System.out.printf("group=%s cases=%d mismatches=%d%n", e.getKey(), e.getValue(), mismatches.get(e.getKey()).size());
        }
        return mismatches;
    }

    @Test
    void cpuMatchesHostCpu() throws Exception {
        Map<String, List<String>> mismatches = runAll(0xC0FFEEL, randomPerGroup());
        List<String> all = new ArrayList<>();
        mismatches.values().forEach(all::addAll);
        Files.write(Paths.get("target/cpu-mismatches.txt"), all);
        all.stream().limit(20).forEach(m -> System.out.println("  MISMATCH " + m));
        assertTrue(all.isEmpty(), all.size() + " cases differ from the host CPU (all in target/cpu-mismatches.txt); first: "
                + (all.isEmpty() ? "" : all.get(0)));
    }
}
