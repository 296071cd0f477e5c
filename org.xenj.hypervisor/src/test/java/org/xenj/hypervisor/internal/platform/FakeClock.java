package org.xenj.hypervisor.internal.platform;

/** A clock tests step by hand. */
public final class FakeClock implements TimeSource {
    public long now = 1_000_000_000_000L;

    @Override
    public long nanoTime() {
        return now;
    }

    public void advanceNanos(long n) {
        now += n;
    }
}
