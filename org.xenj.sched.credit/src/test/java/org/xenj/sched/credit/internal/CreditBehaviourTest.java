package org.xenj.sched.credit.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenj.sched.testkit.Workload.MS;
import static org.xenj.sched.testkit.Workload.US;

import java.util.Map;

import org.junit.jupiter.api.Test;
import org.xenj.sched.testkit.SchedSim;
import org.xenj.sched.testkit.SimVCpu;
import org.xenj.sched.testkit.Workload;

/** BOOST, ratelimit, timeslice, and hand-over of vCPUs between instances. */
class CreditBehaviourTest {

    private static final long SECOND = 1000 * MS;

    @Test
    void wakingIoBoundVCpuIsBoostedAheadOfCpuHogs() {
        SchedSim sim = CreditFairnessTest.credit(1);
        sim.add(1, 256, Workload.cpuBound());
        sim.add(2, 256, Workload.cpuBound());
        SimVCpu io = sim.add(3, 256, Workload.dutyCycle(200 * US, 10 * MS));
        sim.runFor(SECOND);
        sim.resetStats();
        sim.runFor(10 * SECOND);
        System.out.printf("credit BOOST: I/O vCPU wake latency mean %d us, max %d us (ratelimit 1000 us, tslice 30 ms)%n",
                io.meanWakeLatency() / US, io.maxWakeLatency() / US);
        // Without the boost it would queue behind two hogs with 30 ms slices.
        assertTrue(io.maxWakeLatency() <= 1000 * US, "woken vCPU waits at most the ratelimit");
        assertEquals(0.2 / 10.2, io.cpuNanos() / (double) sim.elapsedNanos(), 0.2 / 10.2 * 0.05,
                "it gets all the CPU it asks for");
    }

    @Test
    void aVCpuInDebtIsNotBoostedWhenItWakes() {
        SchedSim sim = CreditFairnessTest.credit(1);
        sim.add(1, 65535, Workload.cpuBound());
        // Deserves 1/65536 of the pCPU, so it is in debt (OVER) whenever it wakes: no boost, it
        // must wait behind the hog, which keeps (almost) all of the pCPU. Boosting it anyway
        // would hand it half the pCPU.
        SimVCpu greedy = sim.add(2, 1, Workload.dutyCycle(5 * MS, 5 * MS));
        sim.runFor(SECOND);
        sim.resetStats();
        sim.runFor(20 * SECOND);
        System.out.printf("credit weight 1 sleeper vs weight 65535 hog -> %.4f / %.4f, sleeper wake latency max %d us%n",
                sim.share(2), sim.share(1), greedy.maxWakeLatency() / US);
        assertTrue(sim.share(2) < 0.01, "the sleeper in debt is not boosted");
        assertEquals(1.0, sim.share(1) + sim.share(2), 1e-9);
    }

    private static SimVCpu ratelimitScenario(SchedSim sim) {
        sim.add(1, 256, Workload.cpuBound());
        // Blocks for 300 us right after the hog was switched in, so it wakes inside the hog's ratelimit.
        SimVCpu io = sim.add(2, 256, Workload.dutyCycle(100 * US, 300 * US));
        sim.runFor(SECOND);
        sim.resetStats();
        sim.runFor(2 * SECOND);
        return io;
    }

    @Test
    void ratelimitLetsTheSwitchedInVCpuRunItsMinimum() {
        SchedSim sim = CreditFairnessTest.credit(1);
        SimVCpu io = ratelimitScenario(sim);
        System.out.printf("credit ratelimit 1000 us: waker latency max %d us, mean %d us%n",
                io.maxWakeLatency() / US, io.meanWakeLatency() / US);
        assertEquals(700 * US, io.maxWakeLatency(), 10 * US, "waits out the rest of the hog's 1000 us");
    }

    @Test
    void ratelimitZeroPreemptsAtOnceAndLargerRatelimitDelaysLonger() {
        SchedSim off = CreditFairnessTest.credit(1);
        off.instance().setPoolParams(Map.of("ratelimit_us", "0"));
        SimVCpu io = ratelimitScenario(off);
        assertEquals(0, io.maxWakeLatency(), "no ratelimit: the boosted waker preempts at once");

        SchedSim longer = CreditFairnessTest.credit(1);
        longer.instance().setPoolParams(Map.of("ratelimit_us", "5000"));
        SimVCpu io2 = ratelimitScenario(longer);
        System.out.printf("credit ratelimit 0 / 5000 us: waker latency max %d / %d us%n",
                io.maxWakeLatency() / US, io2.maxWakeLatency() / US);
        assertTrue(io2.maxWakeLatency() > 1000 * US && io2.maxWakeLatency() <= 5000 * US);
    }

    @Test
    void timesliceSetsHowLongAHogRuns() {
        for (int tslice : new int[] {30, 5}) {
            SchedSim sim = CreditFairnessTest.credit(1);
            sim.instance().setPoolParams(Map.of("tslice_ms", Integer.toString(tslice)));
            SimVCpu a = sim.add(1, 256, Workload.cpuBound());
            sim.add(2, 256, Workload.cpuBound());
            sim.runFor(SECOND);
            sim.resetStats();
            sim.runFor(3 * SECOND);
            long meanRun = a.cpuNanos() / a.runs();
            System.out.printf("credit tslice %d ms: mean run of a hog %.2f ms%n", tslice, meanRun / 1e6);
            assertEquals(tslice * MS, meanRun, tslice * MS * 0.1);
            assertEquals(Map.of("tslice_ms", Integer.toString(tslice), "ratelimit_us", "1000"),
                    sim.instance().poolParams());
        }
    }

    @Test
    void blockingReportedThroughSleepAsWellWorksToo() {
        SchedSim sim = new SchedSim(1).sleepOnBlock(true).start(new CreditSchedulerType()::createInstance);
        sim.add(1, 256, Workload.cpuBound());
        sim.add(2, 256, Workload.dutyCycle(3 * MS, 7 * MS));
        sim.runFor(5 * SECOND);
        assertEquals(0.3, sim.share(2), 0.3 * 0.05);
        assertEquals(0, sim.idleWhileRunnableNanos());
    }

    @Test
    void handOverToAFreshInstanceKeepsEveryVCpuAndItsWeight() {
        SchedSim sim = CreditFairnessTest.credit(2);
        SimVCpu[] hogs = new SimVCpu[3];
        hogs[0] = sim.add(1, 256, Workload.cpuBound());
        hogs[1] = sim.add(2, 256, Workload.cpuBound());
        hogs[2] = sim.add(3, 256, Workload.cpuBound());
        SimVCpu sleeper = sim.addBlocked(4, 256, Workload.dutyCycle(1 * MS, 20 * MS), 3 * SECOND);
        SimVCpu paused = sim.add(5, 256, Workload.cpuBound());
        sim.pause(paused);
        sim.setDomainParams(3, Map.of("weight", "1024"));
        sim.runFor(2 * SECOND);

        CreditSchedulerType type = new CreditSchedulerType();
        for (int swap = 0; swap < 20; swap++) {
            sim.swapTo(type::createInstance);
            sim.runFor(7 * MS);
        }
        assertEquals(Map.of("weight", "1024", "cap", "0"), sim.instance().domainParams(3));
        sim.resetStats();
        sim.runFor(10 * SECOND);

        for (SimVCpu hog : hogs) {
            assertTrue(hog.cpuNanos() > 0, hog + " kept running");
        }
        assertTrue(sleeper.cpuNanos() > 0, "the vCPU blocked during the swaps woke and ran");
        assertEquals(0, paused.cpuNanos(), "the paused vCPU stayed paused");
        sim.unpause(paused);
        sim.runFor(SECOND);
        assertTrue(paused.cpuNanos() > 0, "and runs once unpaused");
        assertEquals(0, sim.idleWhileRunnableNanos());
    }

    @Test
    void vCpusInsertedMidFlightGetTheirShare() {
        SchedSim sim = CreditFairnessTest.credit(1);
        sim.add(1, 256, Workload.cpuBound());
        sim.runFor(3 * SECOND);
        sim.add(2, 256, Workload.cpuBound());
        sim.addBlocked(3, 512, Workload.cpuBound(), 500 * MS);
        sim.runFor(SECOND);
        sim.resetStats();
        sim.runFor(20 * SECOND);
        System.out.printf("credit inserted mid-flight: %.4f / %.4f / %.4f%n", sim.share(1), sim.share(2), sim.share(3));
        assertEquals(0.25, sim.share(1), 0.25 * 0.05);
        assertEquals(0.25, sim.share(2), 0.25 * 0.05);
        assertEquals(0.50, sim.share(3), 0.50 * 0.05);
    }

    @Test
    void removingARunningVCpuLeavesTheOthersRunning() {
        SchedSim sim = CreditFairnessTest.credit(2);
        SimVCpu a = sim.add(1, 256, Workload.cpuBound());
        sim.add(2, 256, Workload.cpuBound());
        sim.add(3, 256, Workload.cpuBound());
        sim.runFor(100 * MS);
        SimVCpu running = sim.runningOn(0) != null ? sim.runningOn(0) : a;
        long before = running.cpuNanos();
        sim.remove(running);
        sim.resetStats();
        sim.runFor(SECOND);
        assertEquals(before, running.cpuNanos(), "a removed vCPU never runs again");
        assertEquals(2 * sim.elapsedNanos(), sim.busyNanos(0) + sim.busyNanos(1));
    }
}
