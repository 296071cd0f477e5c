package org.xenj.sched.credit.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenj.sched.testkit.Workload.MS;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.spi.SchedVCpu;
import org.xenj.hypervisor.spi.ScheduleDecision;
import org.xenj.hypervisor.spi.SchedulerInstance;
import org.xenj.sched.testkit.SchedSim;
import org.xenj.sched.testkit.SimVCpu;
import org.xenj.sched.testkit.Workload;

/** Odd but legal call sequences from the core: re-pinning, strangers, double inserts. */
class CreditRobustnessTest {

    private static final long SECOND = 1000 * MS;

    @Test
    void repinningARunningVCpuMovesItToItsNewPcpu() {
        SchedSim sim = CreditFairnessTest.credit(2);
        SimVCpu a = sim.add(1, 256, Workload.cpuBound());
        SimVCpu b = sim.add(2, 256, Workload.cpuBound());
        sim.runFor(100 * MS);
        // Both onto pCPU 1 while they run; the simulator rejects any later decision outside it.
        a.pin(1);
        b.pin(1);
        sim.runFor(SECOND);
        sim.resetStats();
        sim.runFor(2 * SECOND);
        assertEquals(0, sim.busyNanos(0), "nothing may run on pCPU 0 any more");
        assertEquals(0.5, sim.share(1), 0.05);
        assertEquals(0.5, sim.share(2), 0.05);
    }

    @Test
    void aVCpuThatMayRunNowhereInThePoolWaitsWithoutHarmingOthers() {
        SchedSim sim = CreditFairnessTest.credit(2);
        SimVCpu stranded = sim.add(1, 256, Workload.cpuBound()).pin(5);
        sim.add(2, 256, Workload.cpuBound());
        sim.runFor(SECOND);
        assertTrue(sim.cpuNanos(2) > 0);
        // It may have run on its first pCPU before it was pinned away, never after.
        long before = stranded.cpuNanos();
        sim.runFor(SECOND);
        assertEquals(before, stranded.cpuNanos());
    }

    @Test
    void unknownVCpusAndDoubleInsertsAreHarmless() {
        SchedSim sim = CreditFairnessTest.credit(1);
        SchedulerInstance credit = sim.instance();
        SchedVCpu stranger = new SchedVCpu() {
            public int domid() { return 9; }
            public int vcpuId() { return 0; }
            public int index() { return 3; }
            public boolean canRunOn(int pcpu) { return true; }
            public int lastPcpu() { return -1; }
            public int weight() { return 256; }
            public int cap() { return 0; }
        };
        credit.wake(stranger, sim.nowNanos());
        credit.sleep(stranger, sim.nowNanos());
        credit.remove(stranger);
        assertSame(null, credit.schedule(0, sim.nowNanos(), stranger, true, 5 * MS).next(),
                "a vCPU it never adopted is not run");

        SimVCpu a = sim.add(1, 256, Workload.cpuBound());
        credit.insert(a, true);
        sim.runFor(100 * MS);
        assertEquals(100 * MS, a.cpuNanos());
        assertEquals(1, sim.vcpus().size());
    }

    @Test
    void scheduleWithoutPrevOnABusyPcpuForgetsWhatItThoughtRanThere() {
        SchedSim sim = CreditFairnessTest.credit(1);
        SchedulerInstance credit = sim.instance();
        SimVCpu a = sim.add(1, 256, Workload.cpuBound());
        // The core reports the pCPU idle although we started a there: a is evidently off the pCPU,
        // still runnable, and must not be lost.
        ScheduleDecision d = credit.schedule(0, sim.nowNanos(), null, false, 0);
        assertSame(a, d.next());
    }
}
