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

    /** {@link #processorState} bits: an INIT, STARTUP or NMI message to act on; the vCPU waits for a STARTUP IPI. */
    int PROCESSOR_EVENT = 1, PROCESSOR_WAIT_FOR_SIPI = 2;
    /** {@link #takeProcessorEvent} results: kind in the low byte, a STARTUP's vector in bits 8-15. */
    int EVENT_NONE = 0, EVENT_INIT = 1, EVENT_SIPI = 2, EVENT_NMI = 3;

    /**
     * Cheap check (a volatile read), at every block boundary: {@link #PROCESSOR_EVENT} if an INIT,
     * STARTUP IPI or NMI waits for this vCPU, {@link #PROCESSOR_WAIT_FOR_SIPI} while it is an AP
     * that has not been started. 0 on platforms without them (PV).
     */
    default int processorState() {
        return 0;
    }

    /** Takes the INIT, STARTUP or NMI to act on now ({@link #EVENT_NONE} if none); NMIs only if {@code nmiAllowed}. */
    default int takeProcessorEvent(boolean nmiAllowed) {
        return EVENT_NONE;
    }

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
