package org.xenj.hypervisor.internal.platform.pci;

import java.util.List;

import org.xenj.hypervisor.spi.pci.PciBar;
import org.xenj.hypervisor.spi.pci.PciDevice;
import org.xenj.hypervisor.spi.pci.PciIdentity;
import org.xenj.hypervisor.spi.pci.PciSlot;

/**
 * One plugged function's standard header (0x00-0x3f) as the platform keeps it: command and status,
 * the BAR registers with their size masks, interrupt line and pin. The bus lock guards all state;
 * the device's own registers (0x40+) are the device's.
 */
public final class PciFunctionSlot implements PciSlot {

    static final int CMD_IO = 1;
    static final int CMD_MEMORY = 2;
    static final int CMD_BUS_MASTER = 4;
    static final int CMD_INTX_DISABLE = 0x400;
    /** I/O, memory, bus master, parity, SERR#, interrupt disable. */
    private static final int CMD_WRITABLE = 0x547;
    static final int BARS = 6;
    /** Index of the expansion ROM BAR (register 0x30) in the per-BAR arrays, after the six BARs. */
    static final int ROM = 6;
    /** BARs plus the expansion ROM: what the bus maps. */
    static final int DECODERS = 7;
    private static final int ROM_ENABLE = 1;

    final PciBus bus;
    final int device;
    final int function;
    final PciDevice pci;
    final PciIdentity id;
    /** Per BAR: its description (null when unimplemented), the register value, what is decoded now. */
    final PciBar[] bars = new PciBar[DECODERS];
    final long[] barAddress = new long[DECODERS];
    final long[] mappedAt = new long[DECODERS];
    /** Where the last conflict was reported, so a repeated remap does not repeat the log line. */
    final long[] conflictLoggedAt = new long[DECODERS];
    /** The expansion ROM's enable bit (register 0x30 bit 0). */
    boolean romEnabled;
    int command;
    int cacheLine;
    int latency;
    int interruptLine;
    boolean intxLevel;
    boolean removed;

    PciFunctionSlot(PciBus bus, int device, int function, PciDevice pci) {
        this.bus = bus;
        this.device = device;
        this.function = function;
        this.pci = pci;
        this.id = pci.identity();
        List<PciBar> list = pci.bars();
        if (list.size() > BARS) {
            throw new IllegalArgumentException("a PCI function has at most six BARs");
        }
        for (int i = 0; i < list.size(); i++) {
            bars[i] = list.get(i);
        }
        PciBar rom = pci.expansionRom();
        if (rom != null && (rom.kind() != PciBar.Kind.MEMORY32 || rom.size() < 2048)) {
            throw new IllegalArgumentException("an expansion ROM is a memory BAR of at least 2 KiB");
        }
        bars[ROM] = rom;
        java.util.Arrays.fill(mappedAt, -1);
        java.util.Arrays.fill(conflictLoggedAt, -1);
    }

    @Override
    public int bdf() {
        return device << 3 | function;
    }

    @Override
    public void setIntx(boolean asserted) {
        bus.intx(this, asserted);
    }

    @Override
    public boolean busMaster() {
        return (command & CMD_BUS_MASTER) != 0;
    }

    String name() {
        return String.format("PCI 00:%02x.%d", device, function);
    }

    /** Power-on header: decoding off, BARs at 0, interrupt line unknown (0xff as firmware leaves it). */
    void resetHeader() {
        command = 0;
        cacheLine = 0;
        latency = 0;
        interruptLine = 0xff;
        java.util.Arrays.fill(barAddress, 0);
        romEnabled = false;
    }

    /**
     * What the guest set in this header (command, cache line, latency, interrupt line, BAR addresses),
     * with the identity it belongs to: kept across a device-model hand-over.
     */
    int[] saveHeader() {
        int[] h = new int[6 + BARS + (bars[ROM] != null ? 1 : 0)];
        h[0] = id.vendor() << 16 | id.device();
        h[1] = command;
        h[2] = cacheLine;
        h[3] = latency;
        h[4] = interruptLine;
        h[5] = id.revision();
        for (int i = 0; i < BARS; i++) {
            h[6 + i] = (int) barAddress[i];
        }
        if (bars[ROM] != null) { // only functions with a ROM have the longer header: older records stay readable
            h[6 + BARS] = (int) barAddress[ROM] | (romEnabled ? ROM_ENABLE : 0);
        }
        return h;
    }

    /** Takes a header {@link #saveHeader} gave if it is this function's identity; false otherwise. */
    boolean restoreHeader(int[] h) {
        if (h[0] != (id.vendor() << 16 | id.device()) || h[5] != id.revision()) {
            return false;
        }
        int before = command;
        command = h[1];
        if (((before ^ command) & CMD_INTX_DISABLE) != 0 && intxLevel) {
            bus.intxMaskChanged(this); // an asserted pin appears or vanishes on its link
        }
        cacheLine = h[2];
        latency = h[3];
        interruptLine = h[4];
        for (int i = 0; i < BARS; i++) {
            barAddress[i] = bars[i] == null ? 0 : h[6 + i] & 0xffffffffL;
        }
        if (bars[ROM] != null && h.length > 6 + BARS) {
            barAddress[ROM] = h[6 + BARS] & ~(bars[ROM].size() - 1) & 0xfffff800L;
            romEnabled = (h[6 + BARS] & ROM_ENABLE) != 0;
        }
        return true;
    }

    /** Where BAR {@code i} decodes now, or -1: decoding enabled, a valid address below the top of its space. */
    long decodeAddress(int i) {
        PciBar bar = bars[i];
        if (bar == null || removed) {
            return -1;
        }
        long base = barAddress[i];
        if (i == ROM) {
            boolean on = romEnabled && (command & CMD_MEMORY) != 0 && base != 0 && base + bar.size() < (1L << 32);
            return on ? base : -1;
        }
        if (bar.kind() == PciBar.Kind.IO) {
            boolean on = (command & CMD_IO) != 0 && base != 0 && base + bar.size() <= 0x10000;
            return on ? base : -1;
        }
        boolean on = (command & CMD_MEMORY) != 0 && base != 0 && base + bar.size() < (1L << 32);
        return on ? base : -1;
    }

    int readHeaderDword(int reg) {
        return switch (reg) {
            case 0x00 -> id.device() << 16 | id.vendor();
            case 0x04 -> status() << 16 | command;
            case 0x08 -> id.classCode() << 8 | id.revision();
            case 0x0c -> (bus.multiFunction(device) ? 0x80 : 0) << 16 | latency << 8 | cacheLine;
            case 0x10, 0x14, 0x18, 0x1c, 0x20, 0x24 -> barRegister((reg - 0x10) >> 2);
            case 0x2c -> id.subsystemId() << 16 | id.subsystemVendor();
            case 0x30 -> bars[ROM] == null ? 0 : (int) barAddress[ROM] | (romEnabled ? ROM_ENABLE : 0);
            case 0x3c -> id.interruptPin() << 8 | interruptLine;
            default -> 0; // cardbus CIS, capabilities pointer (none), reserved
        };
    }

    private int status() {
        return 0x0200 | (intxLevel ? 0x08 : 0); // medium DEVSEL timing; interrupt status
    }

    private int barRegister(int i) {
        PciBar bar = bars[i];
        if (bar == null) {
            return 0;
        }
        if (bar.kind() == PciBar.Kind.IO) {
            return (int) barAddress[i] | 1;
        }
        return (int) barAddress[i] | (bar.prefetchable() ? 8 : 0);
    }

    /**
     * Writes the header dword {@code reg} with {@code value} under byte-enable {@code bytes}
     * (bit i = byte i). Returns true when decoding may have changed (command or a BAR).
     */
    boolean writeHeaderDword(int reg, int value, int bytes) {
        int mask = 0;
        for (int b = 0; b < 4; b++) {
            if ((bytes >>> b & 1) != 0) {
                mask |= 0xff << (8 * b);
            }
        }
        switch (reg) {
            case 0x04 -> {
                int m = mask & CMD_WRITABLE; // status bits are read-only or write-1-to-clear errors we never set
                int before = command;
                command = (command & ~m) | (value & m);
                if (((before ^ command) & CMD_INTX_DISABLE) != 0 && intxLevel) {
                    bus.intxMaskChanged(this);
                }
                return ((before ^ command) & (CMD_IO | CMD_MEMORY)) != 0;
            }
            case 0x0c -> {
                cacheLine = (cacheLine & ~mask | value & mask) & 0xff;
                latency = ((latency << 8 & ~mask | value & mask) >>> 8) & 0xff;
                return false;
            }
            case 0x10, 0x14, 0x18, 0x1c, 0x20, 0x24 -> {
                int i = (reg - 0x10) >> 2;
                PciBar bar = bars[i];
                if (bar == null) {
                    return false; // unimplemented BAR: reads 0, writes ignored
                }
                long sizeMask = ~(bar.size() - 1) & 0xffffffffL;
                long old = barAddress[i];
                long merged = (old & ~(mask & 0xffffffffL)) | (value & mask & 0xffffffffL);
                barAddress[i] = merged & sizeMask & (bar.kind() == PciBar.Kind.IO ? 0xfffffffcL : 0xfffffff0L);
                return barAddress[i] != old;
            }
            case 0x30 -> {
                PciBar rom = bars[ROM];
                if (rom == null) {
                    return false; // no expansion ROM: reads 0, writes ignored
                }
                long old = barAddress[ROM];
                boolean wasEnabled = romEnabled;
                long current = old | (romEnabled ? ROM_ENABLE : 0);
                long merged = (current & ~(mask & 0xffffffffL)) | (value & mask & 0xffffffffL);
                barAddress[ROM] = merged & ~(rom.size() - 1) & 0xfffff800L;
                romEnabled = (merged & ROM_ENABLE) != 0;
                return barAddress[ROM] != old || romEnabled != wasEnabled;
            }
            case 0x3c -> {
                interruptLine = (interruptLine & ~mask | value & mask) & 0xff;
                return false;
            }
            default -> {
                return false; // IDs, class, header type, subsystem, ROM BAR (none), pin: read-only
            }
        }
    }
}
