package org.xenj.hypervisor.internal.sched;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.api.PCpuInfo;
import org.xenj.hypervisor.api.VCpuInfo;
import org.xenj.hypervisor.api.VCpuState;
import org.xenj.hypervisor.internal.domain.HypervisorCore;
import org.xenj.hypervisor.internal.testsupport.ProbeExecutor;
import org.xenj.hypervisor.internal.testsupport.ProbeGuestBuilder;
import org.xenj.hypervisor.internal.testsupport.TestCores;
import org.xenj.hypervisor.internal.workload.WorkloadGuest;
import org.xenj.hypervisor.spi.ScheduleDecision;
import org.xenj.hypervisor.spi.SchedVCpu;
import org.xenj.hypervisor.spi.SchedulerContext;
import org.xenj.hypervisor.spi.SchedulerInstance;
import org.xenj.hypervisor.spi.SchedulerType;

class SchedulingCoreTest {

    private TestCores.Fixture fx;
    private HypervisorCore hv;

    @BeforeEach
    void start() {
        fx = TestCores.start(2);
        hv = fx.core();
    }

    @AfterEach
    void stop() {
        fx.close();
        assertEquals(0, fx.checker().violations(), () -> "protocol: " + fx.checker().first());
    }

    @Test
    void aBlockedVCpuCostsNothing() throws Exception {
        Domain idle = hv.create(TestCores.workload("idle", "idle").vcpus(2).build());
        assertTrue(TestCores.await(() -> idle.state() == DomainState.BLOCKED, 2000));
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long before = pcpuThreadsCpu(mx);
        long dom = idle.cpuTimeNanos();
        Thread.sleep(300);
        long spent = pcpuThreadsCpu(mx) - before;
        assertEquals(dom, idle.cpuTimeNanos(), "a blocked vCPU is never run");
        assertTrue(spent < 20_000_000L, "idle pCPU threads used " + spent / 1000 + " us of CPU in 300 ms");
        for (VCpuInfo v : hv.vcpus(idle.id())) {
            assertEquals(VCpuState.BLOCKED, v.state());
        }
        for (PCpuInfo p : hv.pcpus()) {
            assertEquals(-1, p.runningDomid());
        }
    }

    private static long pcpuThreadsCpu(ThreadMXBean mx) {
        long sum = 0;
        for (ThreadInfo ti : mx.getThreadInfo(mx.getAllThreadIds())) {
            if (ti != null && ti.getThreadName().startsWith("xenj-pcpu-")) {
                sum += Math.max(0, mx.getThreadCpuTime(ti.getThreadId()));
            }
        }
        return sum;
    }

    @Test
    void dutyCycleBlocksAndIsWokenByTheTimer() {
        Domain duty = hv.create(TestCores.workload("duty", "duty:30").build());
        WorkloadGuest g = (WorkloadGuest) hv.guestOf(duty.id());
        // it must block between bursts (not spin) and be woken by its timer again and again; on a
        // loaded host each wake-up may wait for the OS, so count periods rather than time them
        assertTrue(TestCores.await(() -> g.workload(0).blocks() >= 8, 10_000), "blocked and was woken " + g.workload(0).blocks() + " times");
        assertTrue(duty.cpuTimeNanos() < duty.uptimeNanos(), "it does not run all the time");
        assertTrue(g.workUnits() > 0);
    }

    @Test
    void hardAffinityKeepsAVCpuOnItsPCpus() {
        Domain a = hv.create(TestCores.workload("a", "spin").cpus("1").build());
        Domain b = hv.create(TestCores.workload("b", "spin").build());
        assertArrayEquals(new int[] {1}, hv.vcpus(a.id()).get(0).hardAffinity());
        for (int i = 0; i < 300; i++) {
            int on = hv.vcpus(a.id()).get(0).pcpu();
            assertTrue(on == -1 || on == 1, "pinned to 1, ran on " + on);
            LifecycleSleepShim.micros(300);
        }
        // b steps aside: pCPU 0 goes idle, and the re-pinned vCPU must still move there (an idle pCPU
        // that may run it is woken; it once waited for another vCPU's slice to end on pCPU 0)
        hv.pause(b.id());
        hv.pinVCpu(a.id(), 0, new int[] {0});
        VCpu va = hv.schedOf(a.id()).vcpu(0);
        assertTrue(TestCores.await(() -> va.executingOn() == 0 || va.lastPcpu() == 0, 10_000), "moves to pCPU 0");
        for (int i = 0; i < 200; i++) {
            int on = hv.vcpus(a.id()).get(0).pcpu();
            assertTrue(on == -1 || on == 0, "re-pinned to 0, ran on " + on);
            LifecycleSleepShim.micros(300);
        }
        assertTrue(b.cpuTimeNanos() > 0);
        hv.unpause(b.id());
        assertThrows(HypervisorException.class, () -> hv.pinVCpu(a.id(), 0, new int[] {2}));
        assertThrows(HypervisorException.class, () -> hv.pinVCpu(a.id(), 1, new int[] {0}));
        assertThrows(HypervisorException.class, () -> hv.pinVCpu(0, 0, new int[] {0}));
        assertThrows(HypervisorException.class, () -> hv.create(TestCores.workload("c", "spin").cpus("0-5").build()));
    }

    @Test
    void cpuTimeIsAccountedPerVCpuAndSharedBetweenSpinners() {
        Domain a = hv.create(TestCores.workload("a", "spin").cpus("0").build());
        Domain b = hv.create(TestCores.workload("b", "spin").cpus("0").build());
        assertTrue(TestCores.await(() -> b.cpuTimeNanos() > 0, 5000));
        long a0 = a.cpuTimeNanos();
        long b0 = b.cpuTimeNanos();
        assertTrue(TestCores.await(() -> a.cpuTimeNanos() + b.cpuTimeNanos() - a0 - b0 > 400_000_000L, 10_000));
        double ra = a.cpuTimeNanos() - a0;
        double rb = b.cpuTimeNanos() - b0;
        // FIFO hands out equal slices of wall time, and what a slice delivers depends on the host's
        // load: this checks that both share the pCPU, not how evenly (fairness is credit's test)
        assertTrue(ra / (ra + rb) > 0.05 && rb / (ra + rb) > 0.05, "FIFO on one pCPU shares it: " + ra + " vs " + rb);
        hv.pause(a.id()); // off its pCPU: its figures stand still
        assertEquals(a.cpuTimeNanos(), hv.vcpus(a.id()).get(0).cpuTimeNanos());
    }

    @Test
    void aThrowingSchedulerCrashesTheDomainNotThePCpu() {
        ProbeGuestBuilder probes = new ProbeGuestBuilder(org.xenj.hypervisor.api.DomainType.PV, 0, 0, 16);
        fx.plugins().addBuilder(probes);
        fx.plugins().addScheduler(new ThrowingType());
        Domain d = hv.create(org.xenj.hypervisor.api.DomainConfig.builder("doomed").type(org.xenj.hypervisor.api.DomainType.PV)
                .memoryMiB(2).build());
        assertTrue(TestCores.await(() -> probes.executors.get(0).runs() > 0, 5000));
        hv.cpupools().setScheduler("Pool-0", "thrower");
        assertTrue(TestCores.await(() -> hv.lookup("doomed").isEmpty(), 5000), "on_crash=destroy after the policy threw");
        assertTrue(hv.dmesg().stream().anyMatch(l -> l.contains("crashed by its scheduler")), hv.dmesg().toString());
        hv.cpupools().setScheduler("Pool-0", "fifo");
        Domain after = hv.create(TestCores.workload("after", "spin").build());
        assertTrue(TestCores.await(() -> after.cpuTimeNanos() > 5_000_000L, 5000), "pCPUs still schedule");
        ProbeExecutor p = probes.executors.get(0);
        assertTrue(p.runs() > 0);
    }

    /** A policy that fails when it must decide for a vCPU it was handed. */
    static final class ThrowingType implements SchedulerType {
        @Override
        public String name() {
            return "thrower";
        }

        @Override
        public Map<String, String> defaultPoolParams() {
            return Map.of();
        }

        @Override
        public SchedulerInstance createInstance(SchedulerContext context) {
            return new SchedulerInstance() {
                SchedVCpu any;

                @Override
                public void insert(SchedVCpu vcpu, boolean runnable) {
                    any = vcpu;
                }

                @Override
                public void remove(SchedVCpu vcpu) {
                }

                @Override
                public void wake(SchedVCpu vcpu, long nowNanos) {
                    throw new IllegalStateException("thrower: wake");
                }

                @Override
                public void sleep(SchedVCpu vcpu, long nowNanos) {
                }

                @Override
                public ScheduleDecision schedule(int pcpu, long nowNanos, SchedVCpu prev, boolean prevRunnable, long prevRanNanos) {
                    if (prev != null) {
                        throw new IllegalStateException("thrower: schedule");
                    }
                    return ScheduleDecision.idleFor(1_000_000L);
                }
            };
        }
    }

    /** Test-side sleeping. */
    static final class LifecycleSleepShim {
        static void micros(long us) {
            try {
                Thread.sleep(0, (int) us * 1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
