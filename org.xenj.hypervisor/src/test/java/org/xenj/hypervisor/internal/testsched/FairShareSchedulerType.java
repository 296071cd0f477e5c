package org.xenj.hypervisor.internal.testsched;

import java.util.IdentityHashMap;
import java.util.Map;

import org.xenj.hypervisor.spi.SchedVCpu;
import org.xenj.hypervisor.spi.ScheduleDecision;
import org.xenj.hypervisor.spi.SchedulerContext;
import org.xenj.hypervisor.spi.SchedulerInstance;
import org.xenj.hypervisor.spi.SchedulerType;

/**
 * Test policy, deliberately unlike {@link FifoSchedulerType}: picks the runnable vCPU with the
 * least weighted virtual run time (a small fair-share scheduler). Checks the protocol as well.
 */
public final class FairShareSchedulerType implements SchedulerType {

    private final String name;
    private final ProtocolChecker checker;
    private final long sliceNanos;

    public FairShareSchedulerType(String name, ProtocolChecker checker, long sliceUs) {
        this.name = name;
        this.checker = checker;
        this.sliceNanos = sliceUs * 1000;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Map<String, String> defaultPoolParams() {
        return Map.of();
    }

    @Override
    public SchedulerInstance createInstance(SchedulerContext context) {
        return new Instance();
    }

    private final class Instance implements SchedulerInstance {
        /** vCPU -> {runnable 0/1, vruntime}. */
        private final Map<SchedVCpu, long[]> state = new IdentityHashMap<>();

        private long[] of(SchedVCpu v, String op) {
            long[] s = state.get(v);
            if (s == null) {
                checker.violation(name + ": " + op + " of unknown " + v);
                s = new long[2];
                state.put(v, s);
            }
            return s;
        }

        private long minVruntime() {
            long min = Long.MAX_VALUE;
            for (long[] s : state.values()) {
                if (s[0] == 1) {
                    min = Math.min(min, s[1]);
                }
            }
            return min == Long.MAX_VALUE ? 0 : min;
        }

        @Override
        public void insert(SchedVCpu v, boolean runnable) {
            if (state.containsKey(v)) {
                checker.violation(name + ": insert twice " + v);
            }
            state.put(v, new long[] {runnable ? 1 : 0, minVruntime()});
        }

        @Override
        public void remove(SchedVCpu v) {
            of(v, "remove");
            state.remove(v);
        }

        @Override
        public void wake(SchedVCpu v, long nowNanos) {
            long[] s = of(v, "wake");
            if (s[0] == 1) {
                checker.violation(name + ": wake of runnable " + v);
            }
            s[0] = 1;
            s[1] = Math.max(s[1], minVruntime());
        }

        @Override
        public void sleep(SchedVCpu v, long nowNanos) {
            long[] s = of(v, "sleep");
            if (s[0] != 1) {
                checker.violation(name + ": sleep of non-runnable " + v);
            }
            s[0] = 0;
        }

        @Override
        public ScheduleDecision schedule(int pcpu, long now, SchedVCpu prev, boolean prevRunnable, long prevRan) {
            if (prev != null) {
                long[] s = of(prev, "schedule(prev)");
                if (s[0] == 1) {
                    checker.violation(name + ": prev " + prev + " was still queued");
                }
                s[1] += prevRan * 256 / Math.max(1, prev.weight());
                s[0] = prevRunnable ? 1 : 0;
            }
            SchedVCpu best = null;
            long bestV = Long.MAX_VALUE;
            for (Map.Entry<SchedVCpu, long[]> e : state.entrySet()) {
                long[] s = e.getValue();
                if (s[0] == 1 && s[1] < bestV && e.getKey().canRunOn(pcpu)) {
                    best = e.getKey();
                    bestV = s[1];
                }
            }
            if (best == null) {
                return ScheduleDecision.idle();
            }
            state.get(best)[0] = 0; // running: not queued
            return ScheduleDecision.run(best, sliceNanos);
        }
    }
}
