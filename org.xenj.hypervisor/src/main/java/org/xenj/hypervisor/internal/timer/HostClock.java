package org.xenj.hypervisor.internal.timer;

import java.time.Instant;

import org.xenj.hypervisor.internal.exec.VirtualClock;

/**
 * A domain's virtual clock following the host's monotonic clock one to one: guest time is host
 * time since the domain's power-on, the TSC runs at a fixed frequency (1 GHz unless told), and the
 * wallclock is the host's wall time read once at power-on, so guest wall time drifts from the
 * host's only as far as the host's own wall clock is stepped.
 */
public final class HostClock implements VirtualClock {

    private final long epochNanos;
    private final long wallclockAtEpochNanos;
    private final long tscHz;

    public HostClock() {
        this(DEFAULT_TSC_HZ);
    }

    public HostClock(long tscHz) {
        if (tscHz <= 0 || tscHz > 3 * NS_PER_S) {
            throw new IllegalArgumentException("TSC frequency out of range: " + tscHz);
        }
        this.tscHz = tscHz;
        // read the two host clocks back to back so they describe the same instant
        Instant wall = Instant.now();
        this.epochNanos = System.nanoTime();
        this.wallclockAtEpochNanos = wall.getEpochSecond() * NS_PER_S + wall.getNano();
    }

    /**
     * A clock that goes on from a saved one (restore): guest time {@code guestNanosNow} now, the
     * same TSC frequency and wallclock base, so the TSC and every platform timer continue where
     * they stood; the time the image spent on disk does not exist for the guest, as on Xen.
     */
    public HostClock(long tscHz, long guestNanosNow, long wallclockAtEpochNanos) {
        if (tscHz <= 0 || tscHz > 3 * NS_PER_S || guestNanosNow < 0) {
            throw new IllegalArgumentException("TSC frequency or guest time out of range: " + tscHz + ", " + guestNanosNow);
        }
        this.tscHz = tscHz;
        this.epochNanos = System.nanoTime() - guestNanosNow;
        this.wallclockAtEpochNanos = wallclockAtEpochNanos;
    }

    @Override
    public long nanoTime() {
        return System.nanoTime();
    }

    @Override
    public boolean isHostTime() {
        return true;
    }

    @Override
    public long epochNanos() {
        return epochNanos;
    }

    @Override
    public long tscHz() {
        return tscHz;
    }

    @Override
    public long wallclockAtEpochNanos() {
        return wallclockAtEpochNanos;
    }
}
