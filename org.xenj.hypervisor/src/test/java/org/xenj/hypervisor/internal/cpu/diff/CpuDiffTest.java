package org.xenj.hypervisor.internal.cpu.diff;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The emulator's CPU against the host CPU, per instruction group: each case runs natively and on
 * {@link org.xenj.hypervisor.internal.cpu.Cpu}; registers, masked flags, data memory, x87 state and
 * exception vectors must agree. One JUnit test per group, each failing on any mismatch and
 * printing the first ones; {@code group=<g> cases=<n> mismatches=<m>} lines give the counts.
 * {@code -Dxenj.diff.cases=N} sets the random cases per group (default 400).
 */
class CpuDiffTest {

    static int randomPerGroup() {
        return Integer.getInteger("xenj.diff.cases", 400);
    }

    @TestFactory
    Stream<DynamicTest> cpuMatchesHostCpuPerGroup() throws Exception {
        Map<String, Integer> counts = new LinkedHashMap<>();
        Map<String, List<String>> mismatches = DiffRun.runAll(0xC0FFEEL, randomPerGroup(), counts);
        List<String> all = new ArrayList<>();
        mismatches.values().forEach(all::addAll);
        Files.write(Paths.get("target/cpu-mismatches.txt"), all);
        return mismatches.entrySet().stream().map(e -> DynamicTest.dynamicTest(e.getKey(), () -> {
            List<String> m = e.getValue();
            m.stream().limit(8).forEach(s -> System.out.println("  MISMATCH " + s));
            assertTrue(m.isEmpty(), () -> e.getKey() + ": " + m.size() + " of " + counts.get(e.getKey())
                    + " cases differ from the host CPU (all in target/cpu-mismatches.txt); first: " + m.get(0));
        }));
    }
}
