package org.xenj.hypervisor.internal.cpu.diff;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * One differential run: each case goes to the oracle this host has for it ({@link HostOracles}),
 * the emulator runs it too, and the results are kept per group and oracle. Used by
 * {@link CpuDiffTest}, {@link X87DiffTest} and {@link DiffReport}.
 */
final class DiffRun {

    /** The outcome for one group as answered by one oracle. */
    static final class GroupResult {
        final String group;
        final Oracle oracle;
        int cases;
        final List<String> mismatches = new ArrayList<>();
        /** Cases the native runner did not finish within its watchdog while the emulator did. */
        final List<String> unfinished = new ArrayList<>();

        GroupResult(String group, Oracle oracle) {
            this.group = group;
            this.oracle = oracle;
        }

        String line() {
            return oracle == Oracle.NONE
                    ? String.format("group=%s oracle=none cases=%d compared=0 (no oracle on this host)", group, cases)
                    : String.format("group=%s oracle=%s cases=%d mismatches=%d", group, oracle, cases, mismatches.size())
                            + (unfinished.isEmpty() ? "" : String.format(" unfinished-natively=%d (not compared: the runner's"
                                    + " %d s watchdog fired; hosts that throttle split locks, kernel.split_lock_mitigate=1,"
                                    + " stall a locked access across a cache line; first: %s)", unfinished.size(),
                                    WATCHDOG_SECONDS, unfinished.get(0)));
        }
    }

    /** The native runner's per-case alarm (diffrunner.c), reported as vector 255. */
    static final int WATCHDOG_SECONDS = 2;
    private static final int WATCHDOG_VECTOR = 255;

    /** Cases whose memory accesses are locked (LOCK prefix, or XCHG with memory): the split-lock suspects. */
    private static boolean locksMemory(DiffCase c) {
        return c.group.equals("lock") || c.name.startsWith("xchg");
    }

    private DiffRun() {
    }

    /** Every group of the CPU harness: integer core, segments, x87 through the CPU, FXSAVE. */
    static List<DiffCase> allCases(long seed, int perGroup) {
        List<DiffCase> cases = new ArrayList<>(IntegerCases.all(seed, perGroup));
        cases.addAll(X87Cases.handWritten());
        cases.addAll(X87Cases.random(seed ^ 0x87, perGroup));
        cases.addAll(X87Cases.fxsave(seed ^ 0xF5, Math.max(20, perGroup / 10)));
        cases.addAll(SimdCases.all(seed ^ 0x55E, perGroup));
        return cases;
    }

    static Map<String, GroupResult> runAll(long seed, int perGroup) throws Exception {
        CpuHarness emu = new CpuHarness();
        Map<String, GroupResult> r = run(allCases(seed, perGroup), c -> c.group, emu::run);
        String jit = emu.jitStatistics();
        if (jit != null) {
            System.out.println("cpu-diff translator: " + jit); // what ran compiled (with -Dxenj.jit...)
        }
        return r;
    }

    /**
     * Runs {@code cases} on their oracles and on {@code emulator}; results keyed "group oracle",
     * in first-seen order, with a {@code group=… oracle=…} line printed for each.
     */
    static Map<String, GroupResult> run(List<DiffCase> cases, Function<DiffCase, String> groupOf,
            Function<DiffCase, DiffResult> emulator) throws Exception {
        HostOracles host = HostOracles.get();
        System.out.println("cpu-diff host: " + host.describe());
        Map<Oracle, List<DiffCase>> byOracle = new EnumMap<>(Oracle.class);
        for (DiffCase c : cases) {
            byOracle.computeIfAbsent(host.oracleFor(c), o -> new ArrayList<>()).add(c);
        }
        Map<DiffCase, DiffResult> native_ = new java.util.IdentityHashMap<>();
        for (Map.Entry<Oracle, List<DiffCase>> e : byOracle.entrySet()) {
            if (e.getKey() == Oracle.NONE) {
                continue;
            }
            List<DiffResult> want = NativeRunner.run(e.getValue(), e.getKey());
            for (int i = 0; i < want.size(); i++) {
                native_.put(e.getValue().get(i), want.get(i));
            }
        }
        Map<String, GroupResult> results = new LinkedHashMap<>();
        for (DiffCase c : cases) {
            Oracle o = host.oracleFor(c);
            String g = groupOf.apply(c);
            GroupResult r = results.computeIfAbsent(g + " " + o, k -> new GroupResult(g, o));
            r.cases++;
            if (o == Oracle.NONE) {
                continue;
            }
            DiffResult want = native_.get(c), got = emulator.apply(c);
            if (want.vector == WATCHDOG_VECTOR && got.vector != WATCHDOG_VECTOR && locksMemory(c)) {
                r.unfinished.add(c.toString());
                continue;
            }
            String m = DiffComparator.compare(c, want, got, host.keepsFop(o), host.keepsFdp(o));
            if (m != null) {
                r.mismatches.add(m);
            }
        }
        results.values().forEach(r -> System.out.println(r.line()));
        return results;
    }
}
