package org.xenj.hypervisor.internal.timer;

import org.xenj.hypervisor.internal.exec.VirtualClock;

/**
 * A domain clock tests step by hand (what an instruction-counted clock would do for real): every
 * derived quantity is a pure function of {@link #now}. Also a {@code TimeSource} by method reference.
 */
public final class ManualClock implements VirtualClock {

    /** 2026-01-01T00:00:00Z, a wallclock tests can check digit by digit. */
    public static final long WALL_2026 = 1_767_225_600L * NS_PER_S;

    public long now = 5_000_000_000_000L;
    private final long epoch = now;
    private final long tscHz;
    private final long wallclockAtEpoch;

    public ManualClock() {
        this(DEFAULT_TSC_HZ, WALL_2026);
    }

    public ManualClock(long tscHz, long wallclockAtEpoch) {
        this.tscHz = tscHz;
        this.wallclockAtEpoch = wallclockAtEpoch;
    }

    public void advanceNanos(long n) {
        now += n;
    }

    @Override
    public long nanoTime() {
        return now;
    }

    @Override
    public long epochNanos() {
        return epoch;
    }

    @Override
    public long tscHz() {
        return tscHz;
    }

    @Override
    public long wallclockAtEpochNanos() {
        return wallclockAtEpoch;
    }
}
