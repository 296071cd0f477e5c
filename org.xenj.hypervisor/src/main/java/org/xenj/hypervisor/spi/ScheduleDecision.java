package org.xenj.hypervisor.spi;

/**
 * What a pCPU runs next and for how long. {@code next == null} means idle until
 * {@code sliceNanos} passes or a wake-up kicks the pCPU.
 */
public record ScheduleDecision(SchedVCpu next, long sliceNanos) {

    private static final ScheduleDecision IDLE_FOREVER = new ScheduleDecision(null, Long.MAX_VALUE);

    public static ScheduleDecision idle() {
        return IDLE_FOREVER;
    }

    public static ScheduleDecision idleFor(long nanos) {
        return new ScheduleDecision(null, nanos);
    }

    public static ScheduleDecision run(SchedVCpu next, long sliceNanos) {
        return new ScheduleDecision(next, sliceNanos);
    }
}
