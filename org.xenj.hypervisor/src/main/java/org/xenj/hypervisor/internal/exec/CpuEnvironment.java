package org.xenj.hypervisor.internal.exec;

/**
 * What the IA-32 CPU core needs from the platform around it (implemented by the HVM platform:
 * port/MMIO dispatch to the hypervisor's PIC/PIT/RTC/APIC and the device model; by the PV
 * platform for PV guests). Calls here are off the per-instruction path: port I/O, MMIO (non-RAM
 * physical addresses), interrupt checks at block boundaries, hypercalls.
 */
public interface CpuEnvironment {

    int ioRead(int port, int size);

    void ioWrite(int port, int size, int value);

    /** A guest-physical access that is not RAM. Unclaimed addresses read all ones, writes are dropped. */
    long mmioRead(long gpa, int size);

    void mmioWrite(long gpa, int size, long value);

    /**
     * The live device range covering the whole page of {@code gpa}, for the CPU to cache in its
     * TLB, or null (unclaimed, or a range smaller than a page): accesses then take
     * {@link #mmioRead(long, int)}.
     */
    default MmioRange mmioRange(long gpa) {
        return null;
    }

    /** An access through a cached range: {@code offset} is from the range's base. Same rules as {@link #mmioRead(long, int)}. */
    default long mmioRead(MmioRange range, long offset, int size) {
        return mmioRead(range.base + offset, size);
    }

    default void mmioWrite(MmioRange range, long offset, int size, long value) {
        mmioWrite(range.base + offset, size, value);
    }

    /**
     * Whether the guest-physical memory map changed under this vCPU's TLB since the last call (the
     * chipset write-protected or unprotected shadow RAM) and the CPU must drop its cached
     * translations. Asked after each port write, the only way a guest reprograms the chipset.
     */
    default boolean takeTlbFlushRequest() {
        return false;
    }

    /** Cheap check (a volatile read): is a maskable interrupt pending for this vCPU? */
    boolean interruptPending();

    /** Acknowledges the highest-priority pending maskable interrupt and returns its vector, or -1. */
    int acknowledgeInterrupt();

    /**
     * Lets platform timers whose deadline passed fire (raising their interrupts). Called at block
     * boundaries at most every few microseconds and before halting. {@code nowNanos} and the
     * returned next deadline (or {@link Long#MAX_VALUE}) are instants of the domain's
     * {@link VirtualClock} ({@link System#nanoTime()} scale with {@code HostClock}).
     */
    long serviceTimers(long nowNanos);

    /** Reads/writes MSRs the platform owns (APIC base etc.); returns false if unknown (CPU raises #GP). */
    default boolean readMsr(int msr, long[] out) {
        return false;
    }

    default boolean writeMsr(int msr, long value) {
        return false;
    }
}
