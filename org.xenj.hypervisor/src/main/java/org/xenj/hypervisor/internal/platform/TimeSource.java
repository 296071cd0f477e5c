package org.xenj.hypervisor.internal.platform;

/**
 * The clock platform timers follow: in a domain, its {@link org.xenj.hypervisor.internal.exec.VirtualClock}
 * ({@code clock::nanoTime}); tests substitute a clock they step by hand. {@link #SYSTEM} is the
 * bare host clock, for devices built outside a domain.
 */
@FunctionalInterface
public interface TimeSource {

    TimeSource SYSTEM = System::nanoTime;

    long nanoTime();
}
