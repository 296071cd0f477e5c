package org.xenj.hypervisor.internal.platform.pci;

import org.xenj.hypervisor.spi.IoHandler;
import org.xenj.hypervisor.spi.MmioHandler;

/**
 * Where decoded BARs go: the platform's port and MMIO spaces. Each map call throws
 * {@link IllegalStateException} on a conflict (another device, guest RAM, the APICs); the bus turns
 * that into a masked decode and a log line.
 */
public interface BarSpace {

    void mapIo(int base, int count, IoHandler handler);

    void unmapIo(int base, int count);

    void mapMmio(long base, long size, MmioHandler handler);

    void unmapMmio(long base, long size);

    /** Whether any guest RAM lies in {@code [base, base+size)} (a handler-less BAR over RAM must not decode). */
    boolean overlapsRam(long base, long size);
}
