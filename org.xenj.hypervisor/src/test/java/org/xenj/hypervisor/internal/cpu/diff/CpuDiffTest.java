package org.xenj.hypervisor.internal.cpu.diff;

import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The emulator's CPU against the host CPU, per instruction group and oracle: each case runs on the
 * oracle this host has for it ({@link HostOracles}: the CPU itself in 32- or 64-bit mode, or
 * qemu-i386 as a second emulator) and on {@link org.xenj.hypervisor.internal.cpu.Cpu}; registers,
 * masked flags, data memory, x87 state and exception vectors must agree. One JUnit test per group
 * and oracle, failing on any mismatch; a group no oracle can answer is skipped with that reason,
 * never passed. {@code group=<g> oracle=<o> cases=<n> mismatches=<m>} lines give the counts.
 * {@code -Dxenj.diff.cases=N} sets the random cases per group (default 400).
 */
class CpuDiffTest {

    static int randomPerGroup() {
        return Integer.getInteger("xenj.diff.cases", 400);
    }

    @TestFactory
    Stream<DynamicTest> cpuMatchesHostCpuPerGroup() throws Exception {
        Map<String, DiffRun.GroupResult> results = DiffRun.runAll(0xC0FFEEL, randomPerGroup());
        List<String> all = new ArrayList<>();
        results.values().forEach(r -> all.addAll(r.mismatches));
        Files.write(Paths.get("target/cpu-mismatches.txt"), all);
        return results.values().stream().map(DiffTests::asTest);
    }
}
