package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.exec.CpuEnvironment;
import org.xenj.hypervisor.internal.exec.VCpuExecutor.RunExit;
import org.xenj.hypervisor.internal.timer.HostClock;
import org.xenj.hypervisor.internal.timer.ManualClock;

/**
 * The executor runs the platform's timers on the domain's clock (the one the TSC follows), and
 * only its scheduler slice on the host's: with a clock that stands still (what an
 * instruction-counted clock does between instructions), no timer fires however much host time
 * passes, and a timer fires as soon as the domain clock reaches it.
 */
class ExecutorClockTest extends CpuTestSupport {

    /** One timer raising vector 0x30 once at {@code dueAt}; records every instant it was serviced at. */
    static final class OneShotTimerEnv implements CpuEnvironment {
        final long dueAt;
        long calls;
        long firstNow = Long.MIN_VALUE;
        long lastNow = Long.MIN_VALUE;
        /** Calls whose instant was not {@code expectedNow} (when set). */
        long foreignInstants;
        long expectedNow = Long.MIN_VALUE;
        boolean raised;
        boolean pending;

        OneShotTimerEnv(long dueAt) {
            this.dueAt = dueAt;
        }

        @Override
        public long serviceTimers(long nowNanos) {
            calls++;
            if (firstNow == Long.MIN_VALUE) {
                firstNow = nowNanos;
            }
            lastNow = nowNanos;
            if (expectedNow != Long.MIN_VALUE && nowNanos != expectedNow) {
                foreignInstants++;
            }
            if (!raised && nowNanos - dueAt >= 0) {
                raised = true;
                pending = true;
            }
            return raised ? Long.MAX_VALUE : dueAt;
        }

        @Override
        public boolean interruptPending() {
            return pending;
        }

        @Override
        public int acknowledgeInterrupt() {
            if (!pending) {
                return -1;
            }
            pending = false;
            return 0x30;
        }

        @Override
        public int ioRead(int port, int size) {
            return -1;
        }

        @Override
        public void ioWrite(int port, int size, int value) {
        }

        @Override
        public long mmioRead(long gpa, int size) {
            return -1L;
        }

        @Override
        public void mmioWrite(long gpa, int size, long value) {
        }
    }

    /** sti, then spin; the 0x30 handler counts its runs at 0x5000. */
    private void spinWithInterruptsOn() {
        flat32(0x1000, """
                    lgdt [gdtr]
                    lidt [idtr]
                    mov dword [0x5000], 0
                    sti
                again: jmp again
                handler:
                    inc dword [0x5000]
                    iretd
                align 8
                idt: times 0x30 dq 0
                    dw handler, 0x10
                    db 0, 0x8e
                    dw 0
                idt_end:
                idtr: dw idt_end - idt - 1
                    dd idt
                gdt: dq 0, 0
                    dq 0x00cf9a000000ffff
                    dq 0x00cf92000000ffff
                gdtr: dw 31
                    dd gdt
                """);
    }

    @Test
    void timersFollowTheDomainClockAndTheSliceFollowsTheHost() {
        ManualClock clock = new ManualClock();
        clock.now = 1L << 62; // far from any System.nanoTime(): a host instant passed as "now" would fire the timer
        cpu.setClock(clock);
        OneShotTimerEnv timer = new OneShotTimerEnv(clock.now + 1_000_000); // due 1 ms of domain time ahead
        timer.expectedNow = clock.now;
        spinWithInterruptsOn();
        StringBuilder crash = new StringBuilder();
        CpuExecutor ex = new CpuExecutor(cpu, timer, crash::append);

        // the domain clock stands still: 20 ms of host time pass, the slice ends, the timer does not fire
        assertEquals(RunExit.PREEMPTED, ex.run(System.nanoTime() + 20_000_000L), crash::toString);
        assertTrue(timer.calls > 1, "timers serviced during the slice: " + timer.calls);
        assertEquals(0, timer.foreignInstants, "every serviceTimers got the domain clock's instant, of " + timer.calls);
        assertEquals(clock.now, timer.lastNow);
        assertEquals(0, mem.read32(0x5000), "timer fired although the domain clock did not reach it");

        // the domain clock reaches the deadline: the timer fires at the next check, once
        clock.advanceNanos(1_000_000);
        timer.expectedNow = clock.now;
        assertEquals(RunExit.PREEMPTED, ex.run(System.nanoTime() + 20_000_000L), crash::toString);
        assertEquals(0, timer.foreignInstants);
        assertEquals(1, mem.read32(0x5000), "the handler ran once when the domain clock reached the deadline");
    }

    @Test
    void withTheHostClockTimersGetHostInstants() {
        HostClock clock = new HostClock();
        assertTrue(clock.isHostTime());
        cpu.setClock(clock);
        long before = System.nanoTime();
        OneShotTimerEnv timer = new OneShotTimerEnv(before + 1_000_000);
        spinWithInterruptsOn();
        CpuExecutor ex = new CpuExecutor(cpu, timer, null);
        // the slice ends by host time; a 1 ms timer within a long enough slice fires
        while (mem.read32(0x5000) == 0 && System.nanoTime() - before < 10_000_000_000L) {
            assertEquals(RunExit.PREEMPTED, ex.run(System.nanoTime() + 5_000_000L));
        }
        long after = System.nanoTime();
        assertEquals(1, mem.read32(0x5000), "the host-time timer fired once");
        assertTrue(timer.firstNow - before >= 0 && after - timer.lastNow >= 0,
                "instants on the host's scale: " + before + " <= " + timer.firstNow + ", " + timer.lastNow + " <= " + after);
    }
}
