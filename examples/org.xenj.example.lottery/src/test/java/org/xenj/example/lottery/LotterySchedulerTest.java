package org.xenj.example.lottery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;

import org.junit.jupiter.api.Test;
import org.xenj.sched.testkit.SchedSim;
import org.xenj.sched.testkit.SimVCpu;
import org.xenj.sched.testkit.Workload;

class LotterySchedulerTest {

    private static final long SECOND = 1_000_000_000L;

    private static SchedSim lottery(int pcpus, long seed) {
        return new SchedSim(pcpus).start(context -> new LotteryScheduler(context, seed));
    }

    @Test
    void cpuTimeFollowsTickets() {
        SchedSim sim = lottery(1, 42);
        sim.add(1, 100, Workload.cpuBound());
        sim.add(2, 300, Workload.cpuBound());
        sim.runFor(60 * SECOND);
        double ratio = (double) sim.cpuNanos(2) / sim.cpuNanos(1);
        System.out.printf("lottery tickets 100:300 on 1 pCPU -> ratio 1:%.3f%n", ratio);
        assertEquals(3.0, ratio, 3.0 * 0.1);
    }

    @Test
    void idleAndBlockedVCpusHoldNoTicketsInTheDraw() {
        SchedSim sim = lottery(2, 7);
        sim.add(1, 256, Workload.cpuBound());
        sim.add(2, 256, Workload.cpuBound());
        sim.add(3, 256, Workload.cpuBound());
        sim.add(4, 65535, Workload.idle());
        sim.runFor(20 * SECOND);
        assertEquals(0, sim.cpuNanos(4));
        assertEquals(0, sim.idleWhileRunnableNanos());
        for (int d = 1; d <= 3; d++) {
            assertEquals(2.0 / 3, sim.share(d), 0.05);
        }
    }

    @Test
    void takesOverLiveVCpusAndTheirWeights() {
        SchedSim sim = lottery(1, 1);
        SimVCpu a = sim.add(1, 256, Workload.cpuBound());
        SimVCpu b = sim.addBlocked(2, 256, Workload.dutyCycle(5_000_000, 5_000_000), 100_000_000);
        sim.setDomainParams(1, Map.of("weight", "512"));
        sim.runFor(SECOND);
        sim.swapTo(context -> new LotteryScheduler(context, 2));
        assertEquals(Map.of("weight", "512"), sim.instance().domainParams(1));
        sim.resetStats();
        sim.runFor(5 * SECOND);
        assertEquals(1.0, sim.share(1) + sim.share(2), 1e-9);
        assertEquals(true, a.cpuNanos() > 0 && b.cpuNanos() > 0);
    }

    @Test
    void badParametersAreRejected() {
        SchedSim sim = lottery(1, 3);
        assertThrows(IllegalArgumentException.class, () -> sim.instance().setPoolParams(Map.of("slice_ms", "0")));
        assertThrows(IllegalArgumentException.class, () -> sim.instance().setDomainParams(1, Map.of("weight", "many")));
        assertEquals(Map.of("slice_ms", "10"), sim.instance().poolParams());
        assertEquals("lottery", new LotterySchedulerType().name());
    }
}
