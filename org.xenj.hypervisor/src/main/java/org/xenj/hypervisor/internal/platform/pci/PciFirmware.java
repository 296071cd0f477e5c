package org.xenj.hypervisor.internal.platform.pci;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Consumer;

import org.xenj.hypervisor.spi.pci.PciBar;
import org.xenj.hypervisor.spi.pci.PciSlot;

/**
 * What the firmware does to PCI before a directly booted kernel runs (hvmloader on Xen, SeaBIOS on
 * QEMU): route PIRQA#-D# through the ISA bridge to IRQs 10, 10, 11, 11 (level-triggered in the
 * ELCR), fill each function's interrupt line, place memory BARs from 0xF0000000 and I/O BARs from
 * 0xC000 (largest first, naturally aligned) and enable decoding. Everything goes through
 * configuration cycles, as real firmware does, so the devices see the same writes.
 */
public final class PciFirmware {

    static final long MEM_START = 0xf000_0000L;
    static final long MEM_END = 0xfec0_0000L; // the IOAPIC
    static final int IO_START = 0xc000;
    static final int IO_END = 0x10000;
    static final int[] LINK_IRQS = { 10, 10, 11, 11 };
    private static final int ISA_BRIDGE_CLASS = 0x0601;

    private PciFirmware() {
    }

    /** The first address memory BARs are placed at (the ACPI host bridge's memory window starts there). */
    public static long memoryStart(long ramTop) {
        return Math.max(MEM_START, ramTop);
    }

    /**
     * @param elcr receives (irq, level-triggered) for the IRQs the links use
     * @param ramTop first guest-physical address above low RAM: memory BARs start at or above it
     */
    public static void assign(PciBus bus, long ramTop, java.util.function.IntConsumer elcr, Consumer<String> log) {
        List<PciSlot> functions = bus.functions();
        for (PciSlot s : functions) {
            if (bus.configRead(s.bdf(), 0x0a, 2) == ISA_BRIDGE_CLASS) {
                for (int link = 0; link < PirqRouter.LINKS; link++) {
                    bus.configWrite(s.bdf(), 0x60 + link, 1, LINK_IRQS[link]);
                    elcr.accept(LINK_IRQS[link]);
                }
                break;
            }
        }
        record Want(PciSlot slot, int bar, PciBar desc) {
        }
        List<Want> wants = new ArrayList<>();
        for (PciSlot s : functions) {
            int link = PciBus.linkOf(s);
            if (link >= 0 && bus.linkRoute(link) >= 0) {
                bus.configWrite(s.bdf(), 0x3c, 1, bus.linkRoute(link));
            }
            List<PciBar> bars = bus.deviceAt(s).bars();
            for (int i = 0; i < bars.size(); i++) {
                if (bars.get(i) != null) {
                    wants.add(new Want(s, i, bars.get(i)));
                }
            }
        }
        wants.sort(Comparator.comparingLong((Want w) -> w.desc.size()).reversed());
        long mem = memoryStart(ramTop);
        long io = IO_START;
        for (Want w : wants) {
            long size = w.desc.size();
            boolean isIo = w.desc.kind() == PciBar.Kind.IO;
            long at = ((isIo ? io : mem) + size - 1) & ~(size - 1);
            if (at + size > (isIo ? IO_END : MEM_END)) {
                log.accept(String.format("PCI 00:%02x.%d BAR%d: no room for 0x%x bytes of %s; left unassigned",
                        w.slot.bdf() >> 3, w.slot.bdf() & 7, w.bar, size, isIo ? "I/O" : "memory"));
                continue;
            }
            bus.configWrite(w.slot.bdf(), 0x10 + 4 * w.bar, 4, (int) at);
            if (isIo) {
                io = at + size;
            } else {
                mem = at + size;
            }
        }
        for (PciSlot s : functions) {
            int cmd = 0;
            for (PciBar b : bus.deviceAt(s).bars()) {
                if (b != null) {
                    cmd |= b.kind() == PciBar.Kind.IO ? PciFunctionSlot.CMD_IO : PciFunctionSlot.CMD_MEMORY;
                }
            }
            if (cmd != 0) {
                bus.configWrite(s.bdf(), 0x04, 2, bus.configRead(s.bdf(), 0x04, 2) | cmd | PciFunctionSlot.CMD_BUS_MASTER);
            }
        }
    }
}
