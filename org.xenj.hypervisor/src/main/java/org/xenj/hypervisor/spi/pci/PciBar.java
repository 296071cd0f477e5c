package org.xenj.hypervisor.spi.pci;

import org.xenj.hypervisor.spi.IoHandler;
import org.xenj.hypervisor.spi.MmioHandler;

/**
 * One base address register. Its size is a power of two (I/O: 4..256 bytes; memory: 16 bytes
 * ..1 GiB); the guest finds it by writing all ones and reading back the mask. While the guest
 * enables I/O or memory decoding and the BAR holds a valid address, accesses reach the handler with
 * the offset into the BAR. A memory BAR without a handler is decoded but backed by nothing of the
 * device (the Xen platform device's BAR, where the guest maps grant frames through the p2m).
 *
 * @param io       handler of an I/O BAR, else null
 * @param mmio     handler of a memory BAR, or null (see above)
 */
public record PciBar(Kind kind, long size, boolean prefetchable, IoHandler io, MmioHandler mmio) {

    public enum Kind {
        IO, MEMORY32
    }

    public PciBar {
        if (kind == null || Long.bitCount(size) != 1) {
            throw new IllegalArgumentException("a BAR size is a power of two: " + size);
        }
        if (kind == Kind.IO && (size < 4 || size > 256 || io == null || mmio != null || prefetchable)) {
            throw new IllegalArgumentException("an I/O BAR is 4..256 ports with an IoHandler");
        }
        if (kind == Kind.MEMORY32 && (size < 16 || size > (1L << 30) || io != null)) {
            throw new IllegalArgumentException("a 32-bit memory BAR is 16 bytes..1 GiB");
        }
    }

    public static PciBar io(int size, IoHandler handler) {
        return new PciBar(Kind.IO, size, false, handler, null);
    }

    public static PciBar memory(long size, boolean prefetchable, MmioHandler handler) {
        return new PciBar(Kind.MEMORY32, size, prefetchable, null, handler);
    }
}
