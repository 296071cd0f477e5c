package org.xenj.hypervisor.internal.timer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.exec.VirtualClock;

class PvClockScaleTest {

    @Test
    void oneGigahertzIsTheIdentityGuestsHaveAlwaysSeen() {
        PvClockScale s = PvClockScale.of(1_000_000_000L);
        assertEquals(0x8000_0000, s.mul());
        assertEquals(1, s.shift());
        assertEquals(123_456_789_012L, s.toNanos(123_456_789_012L));
    }

    @Test
    void guestConversionMatchesTheClockAtManyFrequenciesOverAMinute() {
        long[] freqs = {1_193_182L, 3_579_545L, 25_000_000L, 33_333_333L, 999_999_999L, 1_000_000_000L,
                1_000_000_001L, 2_400_000_000L, 3_000_000_000L};
        for (long hz : freqs) {
            PvClockScale s = PvClockScale.of(hz);
            long m = s.mul() & 0xffff_ffffL;
            assertTrue(m >= 1L << 31, hz + ": mul keeps 32 bits of precision, got 0x" + Long.toHexString(m));
            ManualClock c = new ManualClock(hz, 0);
            for (long t : new long[] {1_000L, 4_000_000L, 1_000_000_000L, 60_000_000_000L}) {
                long ns = s.toNanos(c.tscAt(t));
                // error: one TSC tick of truncation plus 2^-32 relative from mul's rounding
                long tolerance = VirtualClock.NS_PER_S / hz + 1 + t / (1L << 30);
                assertTrue(Math.abs(ns - t) <= tolerance, hz + " Hz at " + t + " ns: guest computes " + ns);
            }
        }
    }

    @Test
    void rejectsNonPositiveFrequencies() {
        assertThrows(IllegalArgumentException.class, () -> PvClockScale.of(0));
    }
}
