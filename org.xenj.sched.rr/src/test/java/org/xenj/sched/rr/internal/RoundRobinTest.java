package org.xenj.sched.rr.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenj.sched.testkit.Workload.MS;

import java.lang.annotation.Annotation;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.xenj.sched.testkit.SchedSim;
import org.xenj.sched.testkit.SimVCpu;
import org.xenj.sched.testkit.Workload;

class RoundRobinTest {

    private static final long SECOND = 1000 * MS;

    private static SchedSim rr(int pcpus) {
        return new SchedSim(pcpus).start(new RoundRobinSchedulerType()::createInstance);
    }

    @Test
    void cpuBoundVCpusTakeEqualTurnsOfOneSlice() {
        SchedSim sim = rr(1);
        SimVCpu[] v = new SimVCpu[3];
        for (int d = 0; d < 3; d++) {
            // Weights mean nothing to round robin.
            v[d] = sim.add(d + 1, 256 << d, Workload.cpuBound());
        }
        sim.runFor(SECOND);
        sim.resetStats();
        sim.runFor(9 * SECOND);
        System.out.printf("rr 3 hogs on 1 pCPU (slice 30 ms) -> %.4f %.4f %.4f%n", sim.share(1), sim.share(2), sim.share(3));
        for (int d = 0; d < 3; d++) {
            assertEquals(1.0 / 3, sim.share(d + 1), 0.01);
            assertEquals(30 * MS, v[d].cpuNanos() / v[d].runs(), MS / 10, "each turn is one slice");
        }
    }

    @Test
    void sliceIsConfigurablePerPool() {
        SchedSim sim = rr(1);
        sim.instance().setPoolParams(Map.of("slice_ms", "7"));
        SimVCpu a = sim.add(1, 256, Workload.cpuBound());
        sim.add(2, 256, Workload.cpuBound());
        sim.runFor(SECOND);
        assertEquals(7 * MS, a.cpuNanos() / a.runs(), MS / 10);
        assertEquals(Map.of("slice_ms", "7"), sim.instance().poolParams());
    }

    @Test
    void badSliceIsRejectedAndChangesNothing() {
        SchedSim sim = rr(1);
        for (String bad : new String[] {"0", "1001", "-5", "x", ""}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> sim.instance().setPoolParams(Map.of("slice_ms", bad)));
            assertTrue(e.getMessage().startsWith("rr: slice_ms must be"), e.getMessage());
        }
        assertEquals(Map.of("slice_ms", "30"), sim.instance().poolParams());
    }

    @Test
    void threeVCpusShareTwoPcpusThroughTheCommonQueue() {
        SchedSim sim = rr(2);
        for (int d = 1; d <= 3; d++) {
            sim.add(d, 256, Workload.cpuBound());
        }
        sim.runFor(SECOND);
        sim.resetStats();
        sim.runFor(9 * SECOND);
        System.out.printf("rr 3 hogs on 2 pCPUs -> %.4f %.4f %.4f%n", sim.share(1), sim.share(2), sim.share(3));
        for (int d = 1; d <= 3; d++) {
            assertEquals(2.0 / 3, sim.share(d), 0.02);
        }
        assertEquals(0, sim.idleWhileRunnableNanos());
    }

    @Test
    void blockedVCpusCostNothingAndWakersQueueAtTheBack() {
        SchedSim sim = rr(1);
        sim.add(1, 256, Workload.cpuBound());
        sim.add(2, 256, Workload.cpuBound());
        sim.add(3, 256, Workload.idle());
        SimVCpu io = sim.add(4, 256, Workload.dutyCycle(1 * MS, 20 * MS));
        sim.runFor(SECOND);
        sim.resetStats();
        sim.runFor(9 * SECOND);
        System.out.printf("rr with an I/O vCPU: wake latency max %.1f ms (no boost in rr)%n", io.maxWakeLatency() / 1e6);
        assertEquals(0, sim.cpuNanos(3));
        assertEquals(0, sim.idleWhileRunnableNanos());
        assertEquals(1.0, sim.share(1) + sim.share(2) + sim.share(4), 1e-9);
        assertTrue(io.maxWakeLatency() > 30 * MS, "a waker waits for the turns ahead of it");
        assertTrue(io.maxWakeLatency() <= 60 * MS, "but never longer than one turn of the others");
    }

    @Test
    void handOverAndMidFlightInsertKeepEveryVCpu() {
        SchedSim sim = rr(2);
        SimVCpu a = sim.add(1, 256, Workload.cpuBound());
        // Blocked across the first hand-overs, wakes into a later instance.
        SimVCpu b = sim.addBlocked(2, 256, Workload.cpuBound(), 250 * MS);
        SimVCpu c = sim.add(3, 256, Workload.cpuBound());
        sim.runFor(200 * MS);
        RoundRobinSchedulerType type = new RoundRobinSchedulerType();
        for (int i = 0; i < 10; i++) {
            sim.swapTo(type::createInstance);
            sim.runFor(13 * MS);
        }
        SimVCpu late = sim.add(4, 256, Workload.cpuBound());
        sim.resetStats();
        sim.runFor(4 * SECOND);
        System.out.printf("rr after 10 hand-overs and a late insert, 4 hogs on 2 pCPUs -> %.4f %.4f %.4f %.4f%n",
                sim.share(1), sim.share(2), sim.share(3), sim.share(4));
        for (SimVCpu v : new SimVCpu[] {a, b, c, late}) {
            assertEquals(0.5, v.cpuNanos() / (double) sim.elapsedNanos(), 0.02, v.toString());
        }
    }

    @Test
    void configuredDefaultSliceReachesLivePools() {
        RoundRobinSchedulerType type = new RoundRobinSchedulerType();
        SchedSim sim = new SchedSim(1).start(type::createInstance);
        SimVCpu a = sim.add(1, 256, Workload.cpuBound());
        sim.add(2, 256, Workload.cpuBound());
        type.configure(config(5));
        assertEquals(Map.of("slice_ms", "5"), type.defaultPoolParams());
        sim.runFor(100 * MS);
        sim.resetStats();
        sim.runFor(SECOND);
        assertEquals(5 * MS, a.cpuNanos() / a.runs(), MS / 10);
        type.configure(config(0));
        assertEquals(Map.of("slice_ms", "5"), type.defaultPoolParams(), "bad configuration ignored");
    }

    private static RrConfig config(int sliceMs) {
        return new RrConfig() {
            @Override
            public Class<? extends Annotation> annotationType() {
                return RrConfig.class;
            }

            @Override
            public int slice__ms() {
                return sliceMs;
            }
        };
    }
}
