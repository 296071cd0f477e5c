package org.xenj.hypervisor.internal.timer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.exec.VirtualClock;

class VirtualClockTest {

    @Test
    void guestTimeTscAndWallclockAllStartAtPowerOnAndAdvanceTogether() {
        ManualClock c = new ManualClock();
        assertEquals(0, c.guestNanos());
        assertEquals(0, c.tsc());
        assertEquals(ManualClock.WALL_2026, c.wallclockNanos());
        c.advanceNanos(60 * VirtualClock.NS_PER_S + 123);
        assertEquals(60_000_000_123L, c.guestNanos());
        assertEquals(60_000_000_123L, c.tsc(), "1 GHz: one tick per nanosecond");
        assertEquals(ManualClock.WALL_2026 + 60_000_000_123L, c.wallclockNanos());
        assertEquals(c.now, c.instantOf(c.guestNanos()));
        assertEquals(c.now, c.hostNanosOf(c.now), "host-time clock: instants are host nanoTime");
    }

    @Test
    void tscAtOtherFrequenciesScalesWithoutOverflowOverYears() {
        ManualClock c = new ManualClock(2_400_000_000L, 0);
        c.advanceNanos(1_500_000_000L);
        assertEquals(3_600_000_000L, c.tsc());
        long tenYears = 10L * 365 * 86_400 * VirtualClock.NS_PER_S;
        assertEquals(tenYears / VirtualClock.NS_PER_S * 2_400_000_000L, c.tscAt(tenYears));
        assertEquals(1_193_182L * 3, VirtualClock.scale(3 * VirtualClock.NS_PER_S, 1_193_182L, VirtualClock.NS_PER_S));
        assertEquals(1_193, VirtualClock.scale(1_000_000, 1_193_182L, VirtualClock.NS_PER_S), "rounded down");
    }

    @Test
    void hostClockFollowsTheHostMonotonicAndWallClocks() throws InterruptedException {
        long wallBefore = System.currentTimeMillis();
        HostClock c = new HostClock();
        long wallAfter = System.currentTimeMillis();
        long wallMs = c.wallclockAtEpochNanos() / 1_000_000;
        assertTrue(wallMs >= wallBefore - 1 && wallMs <= wallAfter + 1, "wallclock read at power-on");
        long g0 = c.guestNanos();
        long h0 = System.nanoTime();
        Thread.sleep(20);
        long g1 = c.guestNanos();
        long h1 = System.nanoTime();
        assertTrue(g0 >= 0 && g1 - g0 >= 20_000_000L, "guest time advanced with the host");
        assertTrue(Math.abs((g1 - g0) - (h1 - h0)) < 5_000_000L, "one to one with System.nanoTime");
        assertEquals(VirtualClock.DEFAULT_TSC_HZ, c.tscHz());
        assertThrows(IllegalArgumentException.class, () -> new HostClock(0));
        assertThrows(IllegalArgumentException.class, () -> new HostClock(4_000_000_000L));
    }
}
