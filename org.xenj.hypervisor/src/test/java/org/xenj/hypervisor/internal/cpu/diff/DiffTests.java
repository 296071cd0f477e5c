package org.xenj.hypervisor.internal.cpu.diff;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;

/** Turns a group's differential outcome into a JUnit test: failed on mismatches, skipped without an oracle. */
final class DiffTests {

    private DiffTests() {
    }

    static DynamicTest asTest(DiffRun.GroupResult r) {
        return DynamicTest.dynamicTest(r.group + " [" + r.oracle + "]", () -> {
            Assumptions.assumeTrue(r.oracle != Oracle.NONE,
                    () -> r.group + ": " + r.cases + " cases have no oracle on this host (" + describeHost() + ")");
            r.mismatches.stream().limit(8).forEach(s -> System.out.println("  MISMATCH " + s));
            assertTrue(r.cases > 0, "no case ran");
            assertTrue(r.mismatches.isEmpty(), () -> r.group + ": " + r.mismatches.size() + " of " + r.cases
                    + " cases differ from " + r.oracle + "; first: " + r.mismatches.get(0));
        });
    }

    private static String describeHost() {
        try {
            return HostOracles.get().describe();
        } catch (Exception e) {
            return e.toString();
        }
    }
}
