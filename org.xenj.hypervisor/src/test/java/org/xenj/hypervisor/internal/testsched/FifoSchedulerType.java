package org.xenj.hypervisor.internal.testsched;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.Map;

import org.xenj.hypervisor.spi.SchedVCpu;
import org.xenj.hypervisor.spi.ScheduleDecision;
import org.xenj.hypervisor.spi.SchedulerContext;
import org.xenj.hypervisor.spi.SchedulerInstance;
import org.xenj.hypervisor.spi.SchedulerType;

/**
 * Test policy: one global FIFO run queue, a fixed slice ({@code slice_us}), hard affinity
 * respected. Checks the core's side of the protocol as it goes.
 */
public final class FifoSchedulerType implements SchedulerType {

    private final String name;
    private final ProtocolChecker checker;
    private final long defaultSliceUs;

    public FifoSchedulerType(String name, ProtocolChecker checker, long defaultSliceUs) {
        this.name = name;
        this.checker = checker;
        this.defaultSliceUs = defaultSliceUs;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Map<String, String> defaultPoolParams() {
        return Map.of("slice_us", Long.toString(defaultSliceUs));
    }

    @Override
    public SchedulerInstance createInstance(SchedulerContext context) {
        return new Instance(context);
    }

    private final class Instance implements SchedulerInstance {
        private final SchedulerContext context;
        private final ArrayDeque<SchedVCpu> queue = new ArrayDeque<>();
        private final Map<SchedVCpu, Boolean> known = new IdentityHashMap<>();
        private final Map<Integer, Map<String, String>> domainParams = new HashMap<>();
        private long sliceNanos = defaultSliceUs * 1000;
        private boolean disposed;

        Instance(SchedulerContext context) {
            this.context = context;
        }

        private void enqueue(SchedVCpu v, String why) {
            if (queue.contains(v)) {
                checker.violation(name + ": " + v + " queued twice (" + why + ")");
                return;
            }
            queue.addLast(v);
        }

        private void check(SchedVCpu v, String op) {
            if (disposed) {
                checker.violation(name + ": " + op + " on a disposed instance");
            }
            if (!known.containsKey(v)) {
                checker.violation(name + ": " + op + " of unknown " + v);
            }
        }

        @Override
        public void insert(SchedVCpu v, boolean runnable) {
            if (known.put(v, Boolean.TRUE) != null) {
                checker.violation(name + ": insert twice " + v);
            }
            if (runnable) {
                enqueue(v, "insert");
            }
        }

        @Override
        public void remove(SchedVCpu v) {
            check(v, "remove");
            known.remove(v);
            queue.remove(v);
        }

        @Override
        public void wake(SchedVCpu v, long nowNanos) {
            check(v, "wake");
            enqueue(v, "wake");
        }

        @Override
        public void sleep(SchedVCpu v, long nowNanos) {
            check(v, "sleep");
            if (!queue.remove(v)) {
                checker.violation(name + ": sleep of " + v + " which was not queued");
            }
        }

        @Override
        public ScheduleDecision schedule(int pcpu, long now, SchedVCpu prev, boolean prevRunnable, long prevRan) {
            if (prev != null) {
                check(prev, "schedule(prev)");
                if (prevRunnable) {
                    enqueue(prev, "prev");
                }
            }
            for (Iterator<SchedVCpu> it = queue.iterator(); it.hasNext();) {
                SchedVCpu v = it.next();
                if (v.canRunOn(pcpu)) {
                    it.remove();
                    return ScheduleDecision.run(v, sliceNanos);
                }
            }
            return ScheduleDecision.idle();
        }

        @Override
        public void setPoolParams(Map<String, String> params) {
            String s = params.get("slice_us");
            if (s != null) {
                long v = Long.parseLong(s);
                if (v < 10) {
                    throw new IllegalArgumentException("slice_us must be >= 10");
                }
                sliceNanos = v * 1000;
            }
        }

        @Override
        public Map<String, String> poolParams() {
            return Map.of("slice_us", Long.toString(sliceNanos / 1000));
        }

        @Override
        public void setDomainParams(int domid, Map<String, String> params) {
            domainParams.computeIfAbsent(domid, k -> new HashMap<>()).putAll(params);
        }

        @Override
        public Map<String, String> domainParams(int domid) {
            return domainParams.getOrDefault(domid, Map.of());
        }

        @Override
        public void dispose() {
            disposed = true;
        }
    }
}
