package org.xenj.sched.credit.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenj.sched.testkit.Workload.MS;

import java.util.Map;

import org.junit.jupiter.api.Test;
import org.xenj.sched.testkit.SchedSim;
import org.xenj.sched.testkit.SimVCpu;
import org.xenj.sched.testkit.Workload;

/** Shares of CPU time in virtual time: weights, caps, work conservation, stealing. */
class CreditFairnessTest {

    private static final long SECOND = 1000 * MS;

    static SchedSim credit(int pcpus) {
        return new SchedSim(pcpus).start(new CreditSchedulerType()::createInstance);
    }

    @Test
    void weights256And512ShareOnePcpuOneToTwo() {
        SchedSim sim = credit(1);
        sim.add(1, 256, Workload.cpuBound());
        sim.add(2, 512, Workload.cpuBound());
        sim.runFor(SECOND);
        sim.resetStats();
        sim.runFor(30 * SECOND);

        double ratio = (double) sim.cpuNanos(2) / sim.cpuNanos(1);
        System.out.printf("credit 1 pCPU, weights 256:512 -> shares %.4f : %.4f, ratio 1:%.4f%n",
                sim.share(1), sim.share(2), ratio);
        assertEquals(2.0, ratio, 2.0 * 0.05, "weight 512 gets twice the CPU of weight 256");
        assertEquals(1.0, sim.share(1) + sim.share(2), 1e-9, "the pCPU never idles");
    }

    @Test
    void weightsHoldOnABusyHostWherePcpuThreadsGetAFifthOfWallTime() {
        SchedSim sim = new SchedSim(1).hostShare(0.2).start(new CreditSchedulerType()::createInstance);
        sim.add(1, 256, Workload.cpuBound());
        sim.add(2, 512, Workload.cpuBound());
        sim.runFor(SECOND);
        sim.resetStats();
        sim.runFor(30 * SECOND);
        double ratio = (double) sim.cpuNanos(2) / sim.cpuNanos(1);
        System.out.printf("credit 1 pCPU thread getting 20%% of wall time, weights 256:512 -> ratio 1:%.4f%n", ratio);
        assertEquals(2.0, ratio, 2.0 * 0.05);
    }

    @Test
    void weightsHoldBetweenHogsNextToAnIoBoundDomain() {
        SchedSim sim = credit(1);
        sim.add(1, 256, Workload.cpuBound());
        sim.add(2, 512, Workload.cpuBound());
        sim.add(3, 256, Workload.dutyCycle(1 * MS, 9 * MS));
        sim.runFor(SECOND);
        sim.resetStats();
        sim.runFor(30 * SECOND);
        double ratio = (double) sim.cpuNanos(2) / sim.cpuNanos(1);
        System.out.printf("credit hogs 256:512 next to a 10%% I/O domain -> %.4f / %.4f / %.4f, hog ratio 1:%.4f%n",
                sim.share(1), sim.share(2), sim.share(3), ratio);
        assertEquals(2.0, ratio, 2.0 * 0.05);
        assertEquals(0.1, sim.share(3), 0.1 * 0.05);
    }

    @Test
    void aLoneHogOnTwoPcpusIsNotPushedIntoDebtAndALateComerDoesNotOvertakeIt() {
        SchedSim sim = credit(2);
        SimVCpu first = sim.add(1, 256, Workload.cpuBound());
        sim.runFor(5 * SECOND);
        sim.add(2, 256, Workload.cpuBound());
        sim.add(3, 256, Workload.cpuBound());
        sim.resetStats();
        sim.runFor(300 * MS);
        // Three equal hogs on two pCPUs from the start: the one that ran alone is not behind.
        System.out.printf("credit first 300 ms after two hogs join a lone one on 2 pCPUs -> %.4f %.4f %.4f%n",
                sim.share(1), sim.share(2), sim.share(3));
        assertTrue(first.cpuNanos() >= 0.5 * sim.elapsedNanos(), "the first hog keeps about 2/3 of a pCPU");
    }

    @Test
    void weightsHoldAcrossFourDomainsAndTwoPcpus() {
        SchedSim sim = credit(2);
        int[] weights = {128, 256, 512, 1024};
        for (int d = 0; d < weights.length; d++) {
            sim.add(d + 1, weights[d], Workload.cpuBound());
        }
        sim.runFor(SECOND);
        sim.resetStats();
        sim.runFor(30 * SECOND);
        // 2 pCPUs, total weight 1920: 1024 would get 1.07 pCPUs, more than its one vCPU can use;
        // it gets a full pCPU and the others share the second one 128:256:512.
        System.out.printf("credit 2 pCPUs, weights 128/256/512/1024 -> %.4f %.4f %.4f %.4f%n",
                sim.share(1), sim.share(2), sim.share(3), sim.share(4));
        assertEquals(1.0, sim.share(4), 0.05);
        assertEquals(1.0 / 7, sim.share(1), 0.05 / 7);
        assertEquals(2.0 / 7, sim.share(2), 0.1 / 7);
        assertEquals(4.0 / 7, sim.share(3), 0.2 / 7);
    }

    @Test
    void capOfFiftyPercentHoldsAlone() {
        SchedSim sim = credit(1);
        sim.add(1, 256, 50, Workload.cpuBound());
        sim.runFor(SECOND);
        sim.resetStats();
        sim.runFor(30 * SECOND);
        System.out.printf("credit cap 50%% alone on 1 pCPU -> share %.4f%n", sim.share(1));
        assertEquals(0.50, sim.share(1), 0.50 * 0.05);
    }

    @Test
    void capOfFiftyPercentHoldsAgainstALighterDomainWhichGetsTheRest() {
        SchedSim sim = credit(1);
        sim.add(1, 1024, 50, Workload.cpuBound());
        sim.add(2, 256, Workload.cpuBound());
        sim.runFor(SECOND);
        sim.resetStats();
        sim.runFor(30 * SECOND);
        System.out.printf("credit cap 50%% weight 1024 vs uncapped 256 on 1 pCPU -> %.4f / %.4f%n",
                sim.share(1), sim.share(2));
        assertEquals(0.50, sim.share(1), 0.50 * 0.05);
        assertEquals(0.50, sim.share(2), 0.50 * 0.05);
    }

    @Test
    void capSetAtRunTimeTakesEffect() {
        SchedSim sim = credit(1);
        sim.add(1, 256, Workload.cpuBound());
        sim.runFor(SECOND);
        sim.setDomainParams(1, Map.of("cap", "25"));
        sim.runFor(SECOND);
        sim.resetStats();
        sim.runFor(10 * SECOND);
        System.out.printf("credit cap 25%% set at run time -> share %.4f%n", sim.share(1));
        assertEquals(0.25, sim.share(1), 0.25 * 0.05);
        assertEquals(Map.of("weight", "256", "cap", "25"), sim.instance().domainParams(1));
    }

    @Test
    void blockedDomainsShareGoesToTheOthers() {
        SchedSim sim = credit(1);
        sim.add(1, 256, Workload.cpuBound());
        sim.add(2, 256, Workload.cpuBound());
        sim.add(3, 256, Workload.idle());
        sim.runFor(SECOND);
        sim.resetStats();
        sim.runFor(10 * SECOND);
        System.out.printf("credit work conservation, idle third domain -> %.4f / %.4f / %.4f%n",
                sim.share(1), sim.share(2), sim.share(3));
        assertEquals(0.5, sim.share(1), 0.5 * 0.05);
        assertEquals(0.5, sim.share(2), 0.5 * 0.05);
        assertEquals(0, sim.cpuNanos(3));
        assertEquals(0, sim.idleWhileRunnableNanos());
    }

    @Test
    void aDomainThatStopsWorkingHandsItsShareOver() {
        SchedSim sim = credit(1);
        sim.add(1, 256, Workload.cpuBound());
        SimVCpu busy = sim.add(2, 768, Workload.cpuBound());
        sim.runFor(5 * SECOND);
        sim.pause(busy);
        sim.resetStats();
        sim.runFor(5 * SECOND);
        System.out.printf("credit after the heavy domain pauses, the light one gets %.4f%n", sim.share(1));
        assertEquals(1.0, sim.share(1), 1e-9);
        sim.unpause(busy);
        sim.resetStats();
        sim.runFor(10 * SECOND);
        assertEquals(3.0, (double) sim.cpuNanos(2) / sim.cpuNanos(1), 3.0 * 0.05);
    }

    @Test
    void dutyCycleDomainGetsItsDemandAndTheRestGoesToTheHog() {
        SchedSim sim = credit(1);
        sim.add(1, 256, Workload.cpuBound());
        sim.add(2, 256, Workload.dutyCycle(2 * MS, 8 * MS));
        sim.runFor(SECOND);
        sim.resetStats();
        sim.runFor(10 * SECOND);
        System.out.printf("credit 20%% duty cycle vs hog -> %.4f / %.4f%n", sim.share(2), sim.share(1));
        assertEquals(0.2, sim.share(2), 0.2 * 0.05);
        assertEquals(0.8, sim.share(1), 0.8 * 0.05);
        assertEquals(0, sim.idleWhileRunnableNanos());
    }

    @Test
    void idlePcpusStealSoThreeVCpusShareTwoPcpusEvenly() {
        SchedSim sim = credit(2);
        for (int d = 1; d <= 3; d++) {
            sim.add(d, 256, Workload.cpuBound());
        }
        sim.runFor(SECOND);
        sim.resetStats();
        sim.runFor(30 * SECOND);
        System.out.printf("credit 3 vCPUs on 2 pCPUs -> %.4f %.4f %.4f (of one pCPU)%n",
                sim.share(1), sim.share(2), sim.share(3));
        for (int d = 1; d <= 3; d++) {
            assertEquals(2.0 / 3, sim.share(d), 2.0 / 3 * 0.05, "domain " + d);
        }
        assertEquals(0, sim.idleWhileRunnableNanos());
    }

    @Test
    void aPcpuWhoseOnlyVCpuBlocksStealsQueuedWork() {
        SchedSim sim = credit(2);
        SimVCpu sleeper = sim.add(1, 256, Workload.dutyCycle(5 * MS, 50 * MS));
        sim.add(2, 256, Workload.cpuBound());
        sim.add(3, 256, Workload.cpuBound());
        sim.add(4, 256, Workload.cpuBound());
        sim.runFor(SECOND);
        sim.resetStats();
        sim.runFor(10 * SECOND);
        System.out.printf("credit 2 pCPUs, 3 hogs + sleeper: idle-while-runnable %d ns, busy %.4f / %.4f%n",
                sim.idleWhileRunnableNanos(), (double) sim.busyNanos(0) / sim.elapsedNanos(),
                (double) sim.busyNanos(1) / sim.elapsedNanos());
        assertEquals(0, sim.idleWhileRunnableNanos());
        assertEquals(sim.elapsedNanos(), sim.busyNanos(0));
        assertEquals(sim.elapsedNanos(), sim.busyNanos(1));
        assertTrue(sleeper.cpuNanos() > 0);
    }

    @Test
    void pinnedVCpusStayOnTheirPcpus() {
        SchedSim sim = credit(2);
        sim.add(1, 256, Workload.cpuBound()).pin(1);
        sim.add(2, 256, Workload.cpuBound()).pin(1);
        sim.add(3, 256, Workload.cpuBound());
        sim.runFor(5 * SECOND);
        // The simulator rejects any decision outside the affinity; the free vCPU has pCPU 0 to itself.
        sim.resetStats();
        sim.runFor(5 * SECOND);
        assertEquals(1.0, sim.share(3), 0.01);
        assertEquals(0.5, sim.share(1), 0.05);
        assertEquals(0.5, sim.share(2), 0.05);
    }
}
