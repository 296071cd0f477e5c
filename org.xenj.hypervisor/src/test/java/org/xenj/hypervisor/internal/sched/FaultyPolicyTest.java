package org.xenj.hypervisor.internal.sched;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.CpuPools;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.internal.domain.HypervisorCore;
import org.xenj.hypervisor.internal.testsupport.ProbeExecutor;
import org.xenj.hypervisor.internal.testsupport.ProbeGuestBuilder;
import org.xenj.hypervisor.internal.testsupport.TestCores;
import org.xenj.hypervisor.spi.ScheduleDecision;
import org.xenj.hypervisor.spi.SchedVCpu;
import org.xenj.hypervisor.spi.SchedulerContext;
import org.xenj.hypervisor.spi.SchedulerInstance;
import org.xenj.hypervisor.spi.SchedulerType;

/** The core keeps its promises even when a policy does not: it never runs a vCPU twice at once. */
class FaultyPolicyTest {

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
    }

    @Test
    void aPolicyThatPicksARunningVCpuIsRefused() {
        ProbeGuestBuilder probes = new ProbeGuestBuilder(DomainType.PV, 0, 0, 16);
        fx.plugins().addBuilder(probes);
        fx.plugins().addScheduler(new Greedy());
        long before = ProbeExecutor.DOUBLE_RUNS.get();
        hv.create(DomainConfig.builder("one").type(DomainType.PV).memoryMiB(2).build());
        hv.cpupools().setScheduler(CpuPools.DEFAULT_POOL, "greedy");
        ProbeExecutor p = probes.executors.get(0);
        long r = p.runs();
        assertTrue(TestCores.await(() -> p.runs() > r + 20, 5000), "the vCPU keeps running");
        assertEquals(0, ProbeExecutor.DOUBLE_RUNS.get() - before, "never on two pCPUs at once");
        assertTrue(hv.scheduling().pcpu(0).pool().policyFaults() > 0, "the refusals are counted");
    }

    /** Always answers with every vCPU it knows, runnable or not, on every pCPU. */
    static final class Greedy implements SchedulerType {
        @Override
        public String name() {
            return "greedy";
        }

        @Override
        public Map<String, String> defaultPoolParams() {
            return Map.of();
        }

        @Override
        public SchedulerInstance createInstance(SchedulerContext context) {
            return new SchedulerInstance() {
                final List<SchedVCpu> all = new ArrayList<>();

                @Override
                public void insert(SchedVCpu vcpu, boolean runnable) {
                    all.add(vcpu);
                }

                @Override
                public void remove(SchedVCpu vcpu) {
                    all.remove(vcpu);
                }

                @Override
                public void wake(SchedVCpu vcpu, long nowNanos) {
                    for (int c : context.pcpus()) {
                        context.kick(c);
                    }
                }

                @Override
                public void sleep(SchedVCpu vcpu, long nowNanos) {
                }

                @Override
                public ScheduleDecision schedule(int pcpu, long nowNanos, SchedVCpu prev, boolean prevRunnable, long prevRanNanos) {
                    return all.isEmpty() ? ScheduleDecision.idleFor(100_000) : ScheduleDecision.run(all.get(0), 200_000);
                }
            };
        }
    }
}
