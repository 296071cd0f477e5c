package org.xenj.hypervisor.internal.sched;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.internal.exec.Guest;
import org.xenj.hypervisor.internal.exec.GuestBuilder;
import org.xenj.hypervisor.internal.exec.GuestContext;
import org.xenj.hypervisor.internal.exec.VCpuExecutor;
import org.xenj.hypervisor.internal.exec.VCpuWaker;
import org.xenj.hypervisor.internal.testsupport.TestCores;

/**
 * An event raised by another thread after the vCPU looked for events and before it blocked
 * must not be lost — even with an executor whose {@code wakeupPending()} knows nothing, so that
 * the core's own record of wake-ups while executing is what saves it.
 */
class WakeRaceTest {

    /** Handles "interrupts" counted in {@code pending}; after looking, a device raises one more. */
    static final class EventExecutor implements VCpuExecutor {
        final AtomicInteger pending = new AtomicInteger();
        final AtomicLong handled = new AtomicLong();
        final AtomicInteger raisesLeft = new AtomicInteger();
        final ExecutorService device = Executors.newSingleThreadExecutor();
        volatile VCpuWaker waker;

        @Override
        public RunExit run(long deadlineNanos) {
            handled.addAndGet(pending.getAndSet(0));
            if (raisesLeft.getAndDecrement() > 0) {
                try {
                    // a device thread raises an interrupt right in the window, and we then HLT
                    device.submit(() -> {
                        pending.incrementAndGet();
                        waker.wake();
                    }).get();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
            return RunExit.BLOCKED;
        }

        @Override
        public void requestExit() {
        }

        @Override
        public boolean wakeupPending() {
            return false;
        }
    }

    @Test
    void aWakeUpWhileTheVCpuDecidesToBlockIsNotLost() {
        EventExecutor ex = new EventExecutor();
        try (TestCores.Fixture fx = TestCores.start(2)) {
            fx.plugins().addBuilder(new GuestBuilder() {
                @Override
                public boolean supports(DomainType type) {
                    return type == DomainType.PVH;
                }

                @Override
                public Guest build(GuestContext context) {
                    ex.waker = context.waker(0);
                    return new Guest() {
                        @Override
                        public VCpuExecutor executor(int vcpu) {
                            return ex;
                        }

                        @Override
                        public void destroy() {
                        }
                    };
                }
            });
            int raises = 300;
            ex.raisesLeft.set(raises);
            fx.core().create(DomainConfig.builder("events").type(DomainType.PVH).memoryMiB(2).build());
            assertTrue(TestCores.await(() -> ex.handled.get() == raises, 20_000),
                    "handled " + ex.handled.get() + " of " + raises + " events; the vCPU slept through one");
            assertEquals(0, ex.pending.get());
        } finally {
            ex.device.shutdownNow();
        }
    }
}
