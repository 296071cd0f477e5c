package org.xenj.hypervisor.internal.platform;

/**
 * The clock platform timers follow. Production uses the host's monotonic clock so that guest time
 * follows host time; tests substitute a clock they step by hand.
 */
@FunctionalInterface
public interface TimeSource {

    TimeSource SYSTEM = System::nanoTime;

    long nanoTime();
}
