package org.xenj.hypervisor.internal.sched;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.VCpuState;
import org.xenj.hypervisor.internal.exec.Guest;
import org.xenj.hypervisor.internal.exec.GuestBuilder;
import org.xenj.hypervisor.internal.exec.GuestContext;
import org.xenj.hypervisor.internal.exec.VCpuExecutor;
import org.xenj.hypervisor.internal.exec.VCpuWaker;
import org.xenj.hypervisor.internal.testsupport.TestCores;

/** The wake-to-run figures the benches print: buckets as documented, one record per wake-up that ended a block. */
class WakeLatencyTest {

    @Test
    void bucketsAndSummary() {
        WakeLatency w = new WakeLatency();
        assertEquals("0 wake-ups", w.summary());
        for (long ns : new long[] { 10_000, 49_999, 50_000, 300_000, 2_000_000, 5_000_000, 20_000_000 }) {
            w.record(ns);
        }
        assertEquals(7, w.count());
        assertEquals("7 wake-ups, wake to run avg 3.916 ms, max 20.000 ms (<50us 2, <200us 1, <1ms 1, <4ms 1, <16ms 1, >=16ms 1)",
                w.summary());
    }

    @Test
    void eachWakeUpOfABlockedVCpuIsCountedOnceAndLoggedWhenTheDomainGoes() throws Exception {
        AtomicLong runs = new AtomicLong();
        VCpuWaker[] waker = new VCpuWaker[1];
        VCpuExecutor blocker = new VCpuExecutor() {
            @Override
            public RunExit run(long deadlineNanos) {
                runs.incrementAndGet();
                return RunExit.BLOCKED;
            }

            @Override
            public void requestExit() {
            }

            @Override
            public boolean wakeupPending() {
                return false;
            }
        };
        try (TestCores.Fixture fx = TestCores.start(1)) {
            fx.plugins().addBuilder(new GuestBuilder() {
                @Override
                public boolean supports(DomainType type) {
                    return type == DomainType.PVH;
                }

                @Override
                public Guest build(GuestContext context) {
                    waker[0] = context.waker(0);
                    return new Guest() {
                        @Override
                        public VCpuExecutor executor(int vcpu) {
                            return blocker;
                        }

                        @Override
                        public void destroy() {
                        }
                    };
                }
            });
            Domain d = fx.core().create(DomainConfig.builder("sleeper").type(DomainType.PVH).memoryMiB(2).build());
            int wakes = 25;
            for (int i = 0; i < wakes; i++) {
                long before = runs.get();
                assertTrue(TestCores.await(() -> fx.core().vcpus(d.id()).get(0).state() == VCpuState.BLOCKED, 10_000), "never blocked");
                waker[0].wake();
                assertTrue(TestCores.await(() -> runs.get() > before, 10_000), "wake-up " + i + " did not run the vCPU");
            }
            assertTrue(TestCores.await(() -> fx.core().vcpus(d.id()).get(0).state() == VCpuState.BLOCKED, 10_000));
            fx.core().destroy(d.id());
            assertTrue(TestCores.await(() -> fx.core().dmesg().stream().anyMatch(l -> l.contains("d" + d.id() + "v0 (sleeper): ")),
                    10_000), "no wake-up line");
            String line = fx.core().dmesg().stream().filter(l -> l.contains("d" + d.id() + "v0 (sleeper): ")).findFirst().orElseThrow();
            assertTrue(line.contains(": " + wakes + " wake-ups, wake to run avg "), line);
        }
    }
}
