package org.xenj.hypervisor.internal.exec;

/**
 * A domain's one virtual clock. Every guest-visible time of the domain derives from it: the TSC
 * (RDTSC, the TSC MSR), the PIT, the RTC/CMOS, the local APIC timers and Xen's time info
 * ({@code vcpu_time_info} and the shared_info wallclock), so that they agree with each other
 * whatever the guest calibrates against.
 *
 * <p>Instants ({@link #nanoTime()}) are on the scale host timers and vCPU deadlines use
 * ({@link System#nanoTime()}). Guest time is the nanoseconds since the domain's power-on
 * ({@link #epochNanos()}); it is also the domain's Xen system time. The production clock
 * ({@code timer.HostClock}) follows the host's monotonic clock one to one. An instruction-counted
 * clock (deterministic replay, like QEMU's {@code -icount}) would implement the same interface and
 * map instants to host deadlines through {@link #hostNanosOf}.
 */
public interface VirtualClock {

    long NS_PER_S = 1_000_000_000L;

    /** The virtual TSC frequency of every domain: 1 GHz, one TSC tick per guest nanosecond. */
    long DEFAULT_TSC_HZ = NS_PER_S;

    /**
     * The local APIC timer's input clock (before its divider), 1 GHz. CPUID leaf 0x15 reports it as
     * the core crystal, of which the TSC is an exact multiple.
     */
    long APIC_BUS_HZ = NS_PER_S;

    /** The current instant ({@link System#nanoTime()} scale). */
    long nanoTime();

    /** The instant of the domain's power-on: guest time 0, TSC 0. */
    long epochNanos();

    /** Fixed virtual TSC frequency in Hz. */
    long tscHz();

    /** Unix time (ns since 1970) at guest time 0: the RTC's and Xen's wallclock base. */
    long wallclockAtEpochNanos();

    /**
     * True when {@link #nanoTime()} is {@link System#nanoTime()} itself ({@code HostClock}): a caller
     * that needs both the domain's instant and the host's (the CPU executor: timers on the one,
     * its scheduler slice on the other) may then read the host clock once for both.
     */
    default boolean isHostTime() {
        return false;
    }

    /** The host {@link System#nanoTime()} at which the clock reaches {@code instant} (host time: the same). */
    default long hostNanosOf(long instant) {
        return instant;
    }

    /** Guest time now: nanoseconds since power-on (the domain's Xen system time). */
    default long guestNanos() {
        return nanoTime() - epochNanos();
    }

    /** The instant at which guest time reaches {@code guestNanos}. */
    default long instantOf(long guestNanos) {
        return epochNanos() + guestNanos;
    }

    /** The TSC (before any per-vCPU offset) at guest time {@code guestNanos}. */
    default long tscAt(long guestNanos) {
        return scale(guestNanos, tscHz(), NS_PER_S);
    }

    /** The TSC now (before any per-vCPU offset). */
    default long tsc() {
        return tscAt(guestNanos());
    }

    /** Unix time now, in ns. */
    default long wallclockNanos() {
        return wallclockAtEpochNanos() + guestNanos();
    }

    /**
     * {@code value * mul / div} rounded down, without intermediate overflow as long as mul and div
     * are at most 3 * 10^9 (frequencies up to 3 GHz) and the result fits in a long.
     */
    static long scale(long value, long mul, long div) {
        if (mul == div) {
            return value;
        }
        long q = Math.floorDiv(value, div);
        long r = Math.floorMod(value, div);
        return q * mul + r * mul / div;
    }
}
