package org.xenj.hypervisor.internal.sched;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.CpuPools;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.internal.domain.HypervisorCore;
import org.xenj.hypervisor.internal.testsched.FairShareSchedulerType;
import org.xenj.hypervisor.internal.testsched.FifoSchedulerType;
import org.xenj.hypervisor.internal.testsupport.ProbeExecutor;
import org.xenj.hypervisor.internal.testsupport.ProbeGuestBuilder;
import org.xenj.hypervisor.internal.testsupport.TestCores;

/** The headline property: scheduler swaps under load lose no vCPU and run none twice. */
class HotSwapTest {

    private TestCores.Fixture fx;
    private HypervisorCore hv;
    private ProbeGuestBuilder probes;
    private long doubleBefore;

    @BeforeEach
    void start() {
        fx = TestCores.start(2);
        hv = fx.core();
        probes = new ProbeGuestBuilder(DomainType.PV, 3, 300_000, 200_000);
        fx.plugins().addBuilder(probes);
        doubleBefore = ProbeExecutor.DOUBLE_RUNS.get();
    }

    @AfterEach
    void stop() {
        fx.close();
        assertEquals(0, fx.checker().violations(), () -> "protocol: " + fx.checker().first());
    }

    private List<Domain> probeDomains(int n, int vcpus) {
        List<Domain> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(hv.create(DomainConfig.builder("probe" + i).type(DomainType.PV).memoryMiB(2).vcpus(vcpus).build()));
        }
        assertTrue(TestCores.await(() -> probes.executors.stream().allMatch(e -> e.runs() > 3), 10_000), "all vCPUs run");
        return out;
    }

    private String poolScheduler() {
        return hv.cpupools().list().get(0).scheduler();
    }

    @Test
    void hundredsOfSwapsUnderLoadLoseNoVCpuAndRunNoneTwice() throws Exception {
        fx.plugins().addScheduler(new FairShareSchedulerType("fair", fx.checker(), 500));
        probeDomains(3, 2);
        int swaps = 150;
        long[] swapTimes = new long[swaps];
        for (int i = 0; i < swaps; i++) {
            swapTimes[i] = System.nanoTime();
            hv.cpupools().setScheduler(CpuPools.DEFAULT_POOL, i % 2 == 0 ? "fair" : "fifo");
            Thread.sleep(0, 500_000);
        }
        long end = System.nanoTime();
        assertEquals("fifo", poolScheduler());
        long[] runs = probes.executors.stream().mapToLong(ProbeExecutor::runs).toArray();
        assertTrue(TestCores.await(() -> {
            for (int i = 0; i < runs.length; i++) {
                if (probes.executors.get(i).runs() <= runs[i]) {
                    return false;
                }
            }
            return true;
        }, 10_000), "every vCPU runs after the swaps");
        assertEquals(0, ProbeExecutor.DOUBLE_RUNS.get() - doubleBefore, "no vCPU ran on two pCPUs at once");
        // no vCPU went missing for long at any swap: each ran within 1 s after each swap
        for (ProbeExecutor e : probes.executors) {
            int k = 0;
            for (long t : swapTimes) {
                while (k < e.recorded() && e.start(k) < t) {
                    k++;
                }
                assertTrue(k < e.recorded() && e.start(k) - t < 1_000_000_000L || end - t < 1_000_000_000L,
                        "a vCPU did not run within 1 s of a swap");
            }
        }
        assertEquals(0, hv.scheduling().pcpu(0).pool().policyFaults());
        assertTrue(hv.scheduling().pcpu(0).pool().swaps() >= swaps);
    }

    @Test
    void noSchedulerPausesDomainsUntilOneAppears() {
        FifoSchedulerType original = (FifoSchedulerType) findFifo();
        List<Domain> ds = probeDomains(2, 1);
        fx.plugins().removeScheduler(original);
        assertTrue(poolScheduler().startsWith("none"), poolScheduler());
        assertTrue(TestCores.await(() -> ds.stream().allMatch(d -> hv.schedOf(d.id()).quiescent()), 2000));
        long[] frozen = ds.stream().mapToLong(Domain::cpuTimeNanos).toArray();
        LifecycleSleep.ms(40);
        for (int i = 0; i < ds.size(); i++) {
            assertEquals(frozen[i], ds.get(i).cpuTimeNanos(), "no scheduler: the domain does not run");
            assertEquals(DomainState.PAUSED, ds.get(i).state());
        }
        fx.plugins().addScheduler(new FifoSchedulerType("fifo", fx.checker(), 1000));
        assertEquals("fifo", poolScheduler());
        for (int i = 0; i < ds.size(); i++) {
            Domain d = ds.get(i);
            long f = frozen[i];
            assertTrue(TestCores.await(() -> d.cpuTimeNanos() > f, 5000), "runs again when a scheduler appears");
        }
    }

    @Test
    void anotherTypeTakesOverWhenTheActiveOneGoesAndTheWantedOneWinsBack() {
        Object fifo = findFifo();
        fx.plugins().addScheduler(new FairShareSchedulerType("fair", fx.checker(), 500));
        assertEquals("fifo", poolScheduler(), "the configured scheduler stays while present");
        List<Domain> ds = probeDomains(2, 1);
        fx.plugins().removeScheduler((FifoSchedulerType) fifo);
        assertEquals("fair", poolScheduler());
        long t = ds.get(0).cpuTimeNanos();
        assertTrue(TestCores.await(() -> ds.get(0).cpuTimeNanos() > t + 5_000_000L, 5000), "keeps running under the other type");
        fx.plugins().addScheduler(new FifoSchedulerType("fifo", fx.checker(), 1000));
        assertEquals("fifo", poolScheduler(), "the wanted type is used again when it is back");
    }

    @Test
    void updateBindsTheNewServiceBeforeUnbindingTheOld() {
        Object oldFifo = findFifo();
        List<Domain> ds = probeDomains(2, 1);
        FifoSchedulerType fresh = new FifoSchedulerType("fifo", fx.checker(), 1000);
        fx.plugins().addScheduler(fresh);
        assertTrue(hv.scheduling().pcpu(0).pool().type() == fresh, "the newest service of the name is used");
        fx.plugins().removeScheduler((FifoSchedulerType) oldFifo);
        assertTrue(hv.scheduling().pcpu(0).pool().type() == fresh, "unbinding the old one keeps the new one");
        long t = ds.get(1).cpuTimeNanos();
        assertTrue(TestCores.await(() -> ds.get(1).cpuTimeNanos() > t + 5_000_000L, 5000));
    }

    @Test
    void blockedVCpusStayBlockedAcrossSwapsAndCostNothing() throws Exception {
        fx.plugins().addScheduler(new FairShareSchedulerType("fair", fx.checker(), 500));
        Domain idle = hv.create(TestCores.workload("idle", "idle").build());
        Domain spin = hv.create(TestCores.workload("spin", "spin").build());
        assertTrue(TestCores.await(() -> idle.state() == DomainState.BLOCKED, 5000));
        long idleCpu = idle.cpuTimeNanos(); // its one run, which found nothing to do and blocked
        for (int i = 0; i < 40; i++) {
            hv.cpupools().setScheduler(CpuPools.DEFAULT_POOL, i % 2 == 0 ? "fair" : "fifo");
            Thread.sleep(1);
        }
        assertEquals(DomainState.BLOCKED, idle.state());
        assertEquals(idleCpu, idle.cpuTimeNanos(), "a blocked vCPU is not run by any of the policies");
        assertTrue(TestCores.await(() -> spin.cpuTimeNanos() > 10_000_000L, 10_000), "the spinner runs meanwhile");
    }

    private Object findFifo() {
        return hv.scheduling().pcpu(0).pool().type();
    }

    /** Test-side sleeping. */
    static final class LifecycleSleep {
        static void ms(long ms) {
            try {
                Thread.sleep(ms);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
