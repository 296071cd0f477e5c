package org.xenj.hypervisor.internal.cpu.diff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * The x87 unit against the host CPU: every case runs natively (gcc -m32 runner) and on {@link
 * org.xenj.hypervisor.internal.cpu.fpu.X87} through {@link X87Harness}; results must agree bit for
 * bit (transcendentals within 2^-48). {@code -Dxenj.diff.cases=N} sets the random case count.
 */
class X87DiffTest {

    static int randomCount() {
        return Integer.getInteger("xenj.diff.cases", 3000);
    }

    @Test
    void x87MatchesHostCpu() throws Exception {
        List<DiffCase> cases = new ArrayList<>(X87Cases.handWritten());
        cases.addAll(X87Cases.random(0x87_87L, randomCount()));
        List<DiffResult> want = NativeRunner.run(cases);
        assertEquals(cases.size(), want.size());
        List<String> mismatches = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            String m = DiffComparator.compare(cases.get(i), want.get(i), X87Harness.run(cases.get(i)));
            if (m != null) {
                mismatches.add(m);
            }
        }
        System.out.printf("group=x87-unit cases=%d mismatches=%d%n", cases.size(), mismatches.size());
        java.nio.file.Files.write(java.nio.file.Paths.get("target/x87-mismatches.txt"), mismatches);
        mismatches.stream().limit(15).forEach(m -> System.out.println("  MISMATCH " + m));
        assertTrue(mismatches.isEmpty(), () -> mismatches.size() + " of " + cases.size()
                + " x87 cases differ from the host CPU (all in target/x87-mismatches.txt); first: " + mismatches.get(0));
    }
}
