package org.xenj.hypervisor.internal.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.internal.exec.CpuEnvironment;
import org.xenj.hypervisor.internal.timer.ManualClock;

/**
 * The platform's timers and the TSC derive from one domain clock: what Linux measures of one
 * against another (PIT calibration of the TSC, ticks per second, RTC seconds, APIC timer period
 * from CPUID's crystal) comes out exact, with time stepped by hand as a vCPU would see it.
 */
class ClockAgreementTest {

    private static final long PIT_HZ = 1_193_182L;

    private ManualClock clock;
    private HvmPlatformImpl platform;
    private CpuEnvironment cpu;

    @BeforeEach
    void setUp() {
        clock = new ManualClock();
        platform = new HvmPlatformImpl(new FakeGuestContext(DomainConfig.builder("t").memoryMiB(8).build(), clock));
        cpu = platform.environment(0);
    }

    private void initPicLikeLinux() {
        int[][] seq = {{0x20, 0x11}, {0x21, 0x30}, {0x21, 0x04}, {0x21, 0x01}, {0xa0, 0x11}, {0xa1, 0x38}, {0xa1, 0x02},
                {0xa1, 0x01}, {0x21, 0x00}, {0xa1, 0x00}};
        for (int[] w : seq) {
            cpu.ioWrite(w[0], 1, w[1]);
        }
    }

    /** Steps the clock by {@code step} ns until {@code total} passed, servicing timers; returns the vectors taken. */
    private int[] runFor(long total, long step, java.util.function.IntConsumer onVector) {
        int[] counts = new int[256];
        for (long t = 0; t < total; t += step) {
            clock.advanceNanos(step);
            cpu.serviceTimers(clock.nanoTime());
            while (cpu.interruptPending()) {
                int v = cpu.acknowledgeInterrupt();
                if (v < 0) {
                    break;
                }
                counts[v]++;
                onVector.accept(v);
            }
        }
        return counts;
    }

    @Test
    void linuxPitCalibrationLoopMeasuresTheTscFrequencyExactly() {
        // arch/x86/kernel/tsc.c pit_calibrate_tsc(latch for 10 ms): gate ch2 on, speaker off, mode 0
        int latch = (int) (PIT_HZ / 100);
        cpu.ioWrite(0x61, 1, (cpu.ioRead(0x61, 1) & ~0x02) | 0x01);
        cpu.ioWrite(0x43, 1, 0xb0);
        cpu.ioWrite(0x42, 1, latch & 0xff);
        cpu.ioWrite(0x42, 1, latch >>> 8);
        long t1 = clock.tsc();
        long t2 = t1;
        long prev = t1;
        long min = Long.MAX_VALUE;
        long max = 0;
        int polls = 0;
        while ((cpu.ioRead(0x61, 1) & 0x20) == 0) {
            clock.advanceNanos(650 + (polls % 3) * 50); // an interpreter's poll loop, slightly uneven
            t2 = clock.tsc();
            min = Math.min(min, t2 - prev);
            max = Math.max(max, t2 - prev);
            prev = t2;
            polls++;
            assertTrue(polls < 1_000_000, "channel 2 OUT never rose");
        }
        assertTrue(polls >= 5000, "Linux's loopmin for 10 ms: " + polls);
        assertTrue(max <= 10 * min, "no SMI-like gap between polls");
        long khz = (t2 - t1) / 10; // delta / ms, as Linux computes it
        assertEquals(1_000_000, khz, 1_000, "TSC kHz measured against the PIT: " + khz);
    }

    @Test
    void quickPitCalibrationSeesTheMsbStepEvery256PitTicks() {
        // tsc.c quick_pit_calibrate: ch2 mode 0 from 0xffff, the MSB read (after the LSB) must step
        // down by one every 256 PIT ticks of TSC time
        cpu.ioWrite(0x61, 1, (cpu.ioRead(0x61, 1) & ~0x02) | 0x01);
        cpu.ioWrite(0x43, 1, 0xb0);
        cpu.ioWrite(0x42, 1, 0xff);
        cpu.ioWrite(0x42, 1, 0xff);
        long start = clock.tsc();
        int expect = 0xff;
        long firstStep = -1;
        for (int i = 0; i < 20_000 && expect > 0xf0; i++) {
            clock.advanceNanos(1_000);
            cpu.ioRead(0x42, 1); // LSB
            int msb = cpu.ioRead(0x42, 1);
            assertTrue(msb == expect || msb == expect - 1, "MSB " + msb + " while expecting " + expect);
            if (msb == expect - 1) {
                expect = msb;
                if (firstStep < 0) {
                    firstStep = clock.tsc();
                }
            }
        }
        assertEquals(0xf0, expect);
        long ticks = VirtualClockTicks.pitTicks(clock.tsc() - start);
        assertTrue(ticks >= 15 * 256 && ticks < 16 * 256 + 2, "15 MSB steps take 15*256 PIT ticks, TSC says " + ticks);
        assertEquals(256 * 1_000_000_000L / PIT_HZ, firstStep - start, 1_000, "first MSB step after 255 ticks of TSC time");
    }

    @Test
    void pitTickEveryFourMillisecondsForAMinuteWithoutLossOrBunching() {
        initPicLikeLinux();
        int latch = (int) ((PIT_HZ + 125) / 250); // HZ=250
        cpu.ioWrite(0x43, 1, 0x34);
        cpu.ioWrite(0x40, 1, latch & 0xff);
        cpu.ioWrite(0x40, 1, latch >>> 8);
        long[] lastTsc = {clock.tsc()};
        long[] worst = {0, Long.MAX_VALUE};
        int[] counts = runFor(60_000_000_000L, 500_000, v -> {
            long now = clock.tsc();
            long gap = now - lastTsc[0];
            worst[0] = Math.max(worst[0], gap);
            worst[1] = Math.min(worst[1], gap);
            lastTsc[0] = now;
            cpu.ioWrite(0x20, 1, 0x20); // EOI
        });
        long expected = 60 * PIT_HZ / latch;
        assertEquals(expected, counts[0x30], 1, "IRQ0 ticks in 60 s of guest time");
        assertTrue(worst[0] <= 4_500_000 && worst[1] >= 3_500_000, "ticks 4 ms apart (within a 0.5 ms step): " + worst[1]
                + ".." + worst[0]);
    }

    private int cmos(int reg) {
        cpu.ioWrite(0x70, 1, reg);
        return cpu.ioRead(0x71, 1);
    }

    @Test
    void rtcStartsAtTheClocksWallTimeAndAdvancesWithIt() {
        // ManualClock's wallclock: 2026-01-01 00:00:00 UTC at power-on, BCD
        assertEquals(0x00, cmos(0));
        assertEquals(0x00, cmos(2));
        assertEquals(0x01, cmos(7));
        assertEquals(0x26, cmos(9));
        clock.advanceNanos(61_500_000_000L);
        assertEquals(0x01, cmos(0), "seconds after 61.5 s");
        assertEquals(0x01, cmos(2), "minutes after 61.5 s");
        clock.advanceNanos(3_600_000_000_000L);
        assertEquals(0x01, cmos(4), "hour after one more hour");
    }

    @Test
    void rtcPeriodicInterruptRuns1024TimesPerGuestSecond() {
        initPicLikeLinux();
        cpu.ioWrite(0x70, 1, 0x0b);
        int b = cpu.ioRead(0x71, 1);
        cpu.ioWrite(0x70, 1, 0x0b);
        cpu.ioWrite(0x71, 1, b | 0x40); // PIE at the default 1024 Hz rate
        int[] counts = runFor(1_000_000_000L, 100_000, v -> {
            cmos(0x0c); // acknowledge in the RTC, then both PICs
            cpu.ioWrite(0xa0, 1, 0x20);
            cpu.ioWrite(0x20, 1, 0x20);
        });
        assertEquals(1024, counts[0x38], 1);
    }

    @Test
    void apicTimerPeriodFromTheCpuidCrystalIsOneJiffyOfTsc() {
        // Linux with CPUID 0x15: lapic_timer_period = crystal_khz * 1000 / HZ, programmed divided by 16
        long lapicTimerPeriod = 1_000_000L * 1000 / 250;
        cpu.mmioWrite(0xfee000f0L, 4, 0x1ff);
        cpu.mmioWrite(0xfee003e0L, 4, 0x3);
        cpu.mmioWrite(0xfee00320L, 4, 0x20000 | 0xec);
        cpu.mmioWrite(0xfee00380L, 4, lapicTimerPeriod / 16);
        long start = clock.tsc();
        long[] at = new long[3];
        int[] n = {0};
        int[] counts = runFor(1_000_000_000L, 10_000, v -> {
            if (n[0] < at.length) {
                at[n[0]] = clock.tsc() - start;
            }
            n[0]++;
            cpu.mmioWrite(0xfee000b0L, 4, 0);
        });
        assertEquals(250, counts[0xec], 1);
        assertEquals(4_000_000L, at[0], 10_000);
        assertEquals(8_000_000L, at[1], 10_000);
        assertEquals(12_000_000L, at[2], 10_000);
    }

    @Test
    void apicOneShotTimerFiresOnceAtItsDeadline() {
        cpu.mmioWrite(0xfee000f0L, 4, 0x1ff);
        cpu.mmioWrite(0xfee003e0L, 4, 0xb); // divide by 1: one count per ns
        cpu.mmioWrite(0xfee00320L, 4, 0xed);
        long start = clock.tsc();
        cpu.mmioWrite(0xfee00380L, 4, 2_500_000);
        long[] firedAt = {-1};
        int[] counts = runFor(20_000_000L, 1_000, v -> {
            firedAt[0] = clock.tsc() - start;
            cpu.mmioWrite(0xfee000b0L, 4, 0);
        });
        assertEquals(1, counts[0xed]);
        assertEquals(2_500_000L, firedAt[0], 1_000);
    }

    /** PIT ticks in a TSC interval at 1 GHz. */
    private static final class VirtualClockTicks {
        static long pitTicks(long tscDelta) {
            return tscDelta * PIT_HZ / 1_000_000_000L;
        }
    }
}
