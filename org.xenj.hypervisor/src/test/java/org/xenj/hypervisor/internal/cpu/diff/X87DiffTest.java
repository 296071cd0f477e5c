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
 * The x87 unit alone against the host CPU: every case runs on its oracle ({@link HostOracles}) and
 * on {@link org.xenj.hypervisor.internal.cpu.fpu.X87} through {@link X87Harness}; results must agree
 * bit for bit (transcendentals within 2^-48). {@code -Dxenj.diff.cases=N} sets the random case count.
 */
class X87DiffTest {

    static int randomCount() {
        return Integer.getInteger("xenj.diff.cases", 3000);
    }

    @TestFactory
    Stream<DynamicTest> x87MatchesHostCpu() throws Exception {
        List<DiffCase> cases = new ArrayList<>(X87Cases.handWritten());
        cases.addAll(X87Cases.random(0x87_87L, randomCount()));
        Map<String, DiffRun.GroupResult> results = DiffRun.run(cases, c -> "x87-unit", X87Harness::run);
        List<String> all = new ArrayList<>();
        results.values().forEach(r -> all.addAll(r.mismatches));
        Files.write(Paths.get("target/x87-mismatches.txt"), all);
        return results.values().stream().map(DiffTests::asTest);
    }
}
