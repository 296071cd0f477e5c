package org.xenj.hypervisor.internal.exec;

import org.xenj.hypervisor.spi.MmioHandler;

/**
 * A device's claimed guest-physical range, as the CPU caches it in a TLB entry so that an MMIO
 * access is one array check and one call into the device, with no page walk or range scan. When
 * the range is unmapped (a BAR moves, a device goes) it is retired; a TLB entry holding a retired
 * range is dropped on its next use and the address resolved again.
 */
public final class MmioRange {

    public final MmioHandler handler;
    public final long base;
    public final long size;
    private volatile boolean live = true;

    public MmioRange(MmioHandler handler, long base, long size) {
        this.handler = handler;
        this.base = base;
        this.size = size;
    }

    public boolean contains(long gpa) {
        return gpa - base >= 0 && gpa - base < size;
    }

    /** Whether the range covers the whole 4 KiB page at {@code pageBase} (only then may a TLB entry hold it). */
    public boolean coversPage(long pageBase) {
        return pageBase >= base && pageBase + 0x1000 <= base + size;
    }

    public boolean live() {
        return live;
    }

    public void retire() {
        live = false;
    }
}
