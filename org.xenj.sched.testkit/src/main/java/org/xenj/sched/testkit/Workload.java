package org.xenj.sched.testkit;

/**
 * What a simulated vCPU does: it runs for {@code burstNanos} of CPU time, then blocks for
 * {@code sleepNanos} of wall time, and again. {@link Long#MAX_VALUE} bursts are CPU-bound vCPUs;
 * a {@link Long#MAX_VALUE} sleep means it never wakes by itself.
 */
public record Workload(long burstNanos, long sleepNanos) {

    public static final long MS = 1_000_000L;
    public static final long US = 1_000L;

    public Workload {
        if (burstNanos <= 0 || sleepNanos < 0) {
            throw new IllegalArgumentException("burst must be > 0 and sleep >= 0: " + burstNanos + "/" + sleepNanos);
        }
    }

    /** Always runnable. */
    public static Workload cpuBound() {
        return new Workload(Long.MAX_VALUE, 0);
    }

    /** Runs {@code burst}, sleeps {@code sleep}: an I/O-bound or periodic vCPU. */
    public static Workload dutyCycle(long burstNanos, long sleepNanos) {
        return new Workload(burstNanos, sleepNanos);
    }

    /** Blocks at the first chance and never wakes by itself (an idle domain). */
    public static Workload idle() {
        return new Workload(1, Long.MAX_VALUE);
    }

    public boolean isCpuBound() {
        return burstNanos == Long.MAX_VALUE;
    }
}
