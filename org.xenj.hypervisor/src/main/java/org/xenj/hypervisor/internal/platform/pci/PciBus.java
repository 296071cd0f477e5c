package org.xenj.hypervisor.internal.platform.pci;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import org.xenj.hypervisor.internal.platform.IrqLine;
import org.xenj.hypervisor.spi.IoHandler;
import org.xenj.hypervisor.spi.pci.PciBar;
import org.xenj.hypervisor.spi.pci.PciDevice;
import org.xenj.hypervisor.spi.pci.PciSlot;

/**
 * A domain's PCI bus 0. Configuration mechanism #1 (CONFIG_ADDRESS at 0xCF8, dword only;
 * CONFIG_DATA at 0xCFC-0xCFF); absent functions read all ones. A BAR decodes while its enable bit is
 * set in the command register and it holds a valid address; a BAR that would land on RAM, the
 * APICs or another device stays masked, with one log line. INTx# pins reach ISA IRQs through
 * {@link PirqRouter}. One lock guards the bus; device-specific registers are read and written
 * outside it, so a device may raise its interrupt from its own locks without ordering trouble.
 */
public final class PciBus {

    public static final int CONFIG_ADDRESS = 0xcf8;
    public static final int CONFIG_DATA = 0xcfc;

    private final Object lock = new Object();
    private final PciFunctionSlot[] slots = new PciFunctionSlot[32 * 8];
    private final BarSpace space;
    private final PirqRouter router;
    private final Consumer<String> log;
    private final Runnable afterInterrupt;
    /** Headers kept while a device model hands over (bdf to header): the next function plugged there with the same identity takes its. */
    private final java.util.Map<Integer, int[]> keptHeaders = new java.util.HashMap<>();
    private int address;

    /**
     * @param irqs           ISA IRQ lines the PIRQ links drive
     * @param afterInterrupt run after an interrupt line changed outside a port access (wakes vCPUs)
     */
    public PciBus(BarSpace space, IrqLine irqs, Consumer<String> log, Runnable afterInterrupt) {
        this.space = space;
        this.router = new PirqRouter(irqs, log);
        this.log = log;
        this.afterInterrupt = afterInterrupt;
    }

    /** The three port handlers to map: 0xCF8 (1 port), 0xCFA (2 ports; 0xCF9 is reset control), 0xCFC (4 ports). */
    public IoHandler configPorts(int firstOffset) {
        return new IoHandler() {
            @Override
            public int ioRead(int offset, int size) {
                return portRead(firstOffset + offset, size);
            }

            @Override
            public void ioWrite(int offset, int size, int value) {
                portWrite(firstOffset + offset, size, value);
            }
        };
    }

    // ---- plugging ----

    public PciSlot plug(int device, int function, PciDevice pci) {
        if (function < 0 || function > 7 || device < -1 || device > 31) {
            throw new IllegalArgumentException("no PCI slot " + device + "." + function);
        }
        synchronized (lock) {
            if (device == -1) {
                for (int d = 2; d < 32 && device == -1; d++) {
                    if (slots[d << 3 | function] == null) {
                        device = d;
                    }
                }
                if (device == -1) {
                    throw new IllegalStateException("PCI bus 0 is full");
                }
            }
            if (slots[device << 3 | function] != null) {
                throw new IllegalStateException(String.format("PCI 00:%02x.%d is taken by %s", device, function,
                        slots[device << 3 | function].pci));
            }
            PciFunctionSlot s = new PciFunctionSlot(this, device, function, pci);
            s.resetHeader();
            slots[device << 3 | function] = s;
            int[] kept = keptHeaders.remove(device << 3 | function);
            if (kept != null && kept.length == s.saveHeader().length && s.restoreHeader(kept)) {
                remap(); // the handed-over function decodes where the guest put it
            }
            return s;
        }
    }

    /**
     * A device model is about to hand its functions over (bundle update): their headers — BARs the
     * guest assigned, decode and bus-master enables, interrupt line — are kept for the functions the
     * next instance plugs at the same places, so the guest's drivers keep working. Until
     * {@link #dropKeptHeaders}.
     */
    public void keepHeaders() {
        synchronized (lock) {
            keptHeaders.clear();
            for (PciFunctionSlot s : slots) {
                if (s != null && !s.removed) {
                    keptHeaders.put(s.bdf(), s.saveHeader());
                }
            }
        }
    }

    /**
     * A restore is about to plug a saved machine's functions: each takes its saved header as it
     * plugs, so that a device restarting its saved DMA at once (a NIC's pending transmit, a disk's
     * request) finds bus mastering and its BARs as the guest left them. Until {@link #dropKeptHeaders}.
     */
    public void keepHeaders(java.util.Map<Integer, int[]> saved) {
        synchronized (lock) {
            keptHeaders.clear();
            saved.forEach((bdf, h) -> keptHeaders.put(bdf, h.clone()));
        }
    }

    /**
     * Drives every routed PIRQ IRQ to the level of its links, low ones included: after a restore's
     * devices attached, so that an IRQ the controllers' record holds high and no device asserts now
     * goes low (a level input left high would interrupt for ever with nobody to answer).
     */
    public void driveInterruptLinks() {
        synchronized (lock) {
            router.driveAll();
        }
        afterInterrupt.run();
    }

    /** Every present function's header (BARs, command, interrupt line) by bdf, for a save. */
    public java.util.Map<Integer, int[]> saveHeaders() {
        synchronized (lock) {
            java.util.Map<Integer, int[]> out = new java.util.TreeMap<>();
            for (PciFunctionSlot s : slots) {
                if (s != null && !s.removed) {
                    out.put(s.bdf(), s.saveHeader());
                }
            }
            return out;
        }
    }

    /**
     * Puts saved headers back on the functions present at the same places (a restore, after every
     * device is plugged). A header whose function is absent or another device is refused.
     */
    public void restoreHeaders(java.util.Map<Integer, int[]> headers) {
        synchronized (lock) {
            for (java.util.Map.Entry<Integer, int[]> e : headers.entrySet()) {
                int bdf = e.getKey();
                PciFunctionSlot s = bdf >= 0 && bdf < slots.length ? slots[bdf] : null;
                if (s == null || s.removed || e.getValue().length != s.saveHeader().length || !s.restoreHeader(e.getValue())) {
                    throw new IllegalArgumentException(String.format("the saved PCI function 00:%02x.%d is not here (or is another device)",
                            bdf >> 3, bdf & 7));
                }
            }
            remap();
        }
    }

    /** The hand-over is over: a function plugged later starts at power-on. */
    public void dropKeptHeaders() {
        synchronized (lock) {
            keptHeaders.clear();
        }
    }

    public void unplug(PciSlot slot) {
        PciFunctionSlot s = (PciFunctionSlot) slot;
        synchronized (lock) {
            if (s.removed || slots[s.bdf()] != s) {
                return;
            }
            setIntxLocked(s, false);
            s.removed = true;
            remap();
            slots[s.bdf()] = null;
        }
        afterInterrupt.run();
        try {
            s.pci.unplugged();
        } catch (RuntimeException e) {
            log.accept(s.name() + ": unplug notification failed in device: " + e);
        }
    }

    /** Functions present now whose base class is {@code baseClass} (for Xen's emulated-device unplug). */
    public List<PciSlot> functionsOfClass(int baseClass) {
        List<PciSlot> found = new ArrayList<>();
        synchronized (lock) {
            for (PciFunctionSlot s : slots) {
                if (s != null && s.id.classCode() >>> 16 == baseClass) {
                    found.add(s);
                }
            }
        }
        return found;
    }

    public PciDevice deviceAt(PciSlot slot) {
        return ((PciFunctionSlot) slot).pci;
    }

    boolean multiFunction(int device) {
        for (int f = 1; f < 8; f++) {
            if (slots[device << 3 | f] != null) {
                return true;
            }
        }
        return false;
    }

    /** Platform reset: headers to power-on (decoding off), links unrouted, device registers to power-on. */
    public void reset() {
        List<PciDevice> devices = new ArrayList<>();
        synchronized (lock) {
            address = 0;
            for (PciFunctionSlot s : slots) {
                if (s != null) {
                    setIntxLocked(s, false);
                    s.resetHeader();
                    devices.add(s.pci);
                }
            }
            router.reset();
            remap();
        }
        afterInterrupt.run();
        devices.forEach(PciDevice::reset);
    }

    // ---- interrupts ----

    public void setLinkRoute(int link, int isaIrq) {
        synchronized (lock) {
            router.setRoute(link, isaIrq);
        }
        afterInterrupt.run();
    }

    public int linkRoute(int link) {
        synchronized (lock) {
            return router.route(link);
        }
    }

    /** The ISA IRQ INTx pin {@code pin} (1..4) of {@code device} reaches through its PIRQ link, or -1 if unrouted. */
    public int intxIrq(int device, int pin) {
        return linkRoute(PirqRouter.link(device, pin));
    }

    /** PIRQ link of a slot's pin, or -1 when it has none. */
    public static int linkOf(PciSlot slot) {
        PciFunctionSlot s = (PciFunctionSlot) slot;
        return s.id.interruptPin() == 0 ? -1 : PirqRouter.link(s.device, s.id.interruptPin());
    }

    void intx(PciFunctionSlot s, boolean level) {
        synchronized (lock) {
            setIntxLocked(s, level);
        }
        afterInterrupt.run();
    }

    private void setIntxLocked(PciFunctionSlot s, boolean level) {
        if (s.removed || s.intxLevel == level) {
            return;
        }
        s.intxLevel = level;
        if (s.id.interruptPin() != 0 && (s.command & PciFunctionSlot.CMD_INTX_DISABLE) == 0) {
            router.assertPin(PirqRouter.link(s.device, s.id.interruptPin()), level);
        }
    }

    /** Interrupt Disable flipped while the pin is asserted: the link sees the change. Under the lock. */
    void intxMaskChanged(PciFunctionSlot s) {
        if (s.id.interruptPin() != 0) {
            boolean nowMasked = (s.command & PciFunctionSlot.CMD_INTX_DISABLE) != 0;
            router.assertPin(PirqRouter.link(s.device, s.id.interruptPin()), !nowMasked);
        }
    }

    // ---- configuration space ----

    private int portRead(int offset, int size) {
        if (offset < 4) {
            synchronized (lock) {
                // Only dword accesses reach CONFIG_ADDRESS; narrower ones read its bytes.
                return offset == 0 && size == 4 ? address : address >>> (8 * offset);
            }
        }
        int a;
        synchronized (lock) {
            a = address;
        }
        if ((a & 0x80000000) == 0 || (a >>> 16 & 0xff) != 0) {
            return -1;
        }
        return configRead(a >>> 8 & 0xff, (a & 0xfc) + offset - 4, size);
    }

    private void portWrite(int offset, int size, int value) {
        if (offset < 4) {
            if (offset == 0 && size == 4) {
                synchronized (lock) {
                    address = value & 0x80fffffc;
                }
            }
            return; // byte writes to 0xCFB (mechanism-#2 probing) do not change the address
        }
        int a;
        synchronized (lock) {
            a = address;
        }
        if ((a & 0x80000000) != 0 && (a >>> 16 & 0xff) == 0) {
            configWrite(a >>> 8 & 0xff, (a & 0xfc) + offset - 4, size, value);
        }
    }

    /** Reads {@code size} bytes at {@code offset} of function {@code devfn}; all ones when absent. */
    public int configRead(int devfn, int offset, int size) {
        PciFunctionSlot s;
        int dword;
        synchronized (lock) {
            s = slots[devfn & 0xff];
            if (s == null) {
                return size >= 4 ? -1 : (1 << (8 * size)) - 1;
            }
            dword = offset < 0x40 ? s.readHeaderDword(offset & 0xfc) : 0;
        }
        if (offset >= 0x40) {
            try {
                return s.pci.configRead(offset, size);
            } catch (RuntimeException e) {
                log.accept(s.name() + ": config read 0x" + Integer.toHexString(offset) + " failed in device: " + e);
                return 0;
            }
        }
        int v = dword >>> (8 * (offset & 3));
        return size >= 4 ? v : v & ((1 << (8 * size)) - 1);
    }

    public void configWrite(int devfn, int offset, int size, int value) {
        PciFunctionSlot s;
        synchronized (lock) {
            s = slots[devfn & 0xff];
            if (s == null) {
                return;
            }
            if (offset < 0x40) {
                int shift = 8 * (offset & 3);
                int bytes = ((1 << size) - 1) << (offset & 3) & 0xf;
                if (s.writeHeaderDword(offset & 0xfc, value << shift, bytes)) {
                    remap();
                }
                return;
            }
        }
        try {
            s.pci.configWrite(offset, size, value);
        } catch (RuntimeException e) {
            log.accept(s.name() + ": config write 0x" + Integer.toHexString(offset) + " failed in device: " + e);
        }
    }

    // ---- decoding ----

    /** Brings every BAR's mapping in line with its register and enable bit. Under the lock. */
    private void remap() {
        for (PciFunctionSlot s : slots) {
            if (s == null) {
                continue;
            }
            for (int i = 0; i < PciFunctionSlot.DECODERS; i++) {
                if (s.mappedAt[i] != -1 && s.mappedAt[i] != s.decodeAddress(i)) {
                    unmapBar(s, i);
                }
            }
        }
        for (PciFunctionSlot s : slots) {
            if (s == null) {
                continue;
            }
            for (int i = 0; i < PciFunctionSlot.DECODERS; i++) {
                long want = s.decodeAddress(i);
                if (want != -1 && s.mappedAt[i] == -1) {
                    mapBar(s, i, want);
                }
            }
        }
    }

    private void unmapBar(PciFunctionSlot s, int i) {
        PciBar bar = s.bars[i];
        long at = s.mappedAt[i];
        if (bar.kind() == PciBar.Kind.IO) {
            space.unmapIo((int) at, (int) bar.size());
        } else if (bar.mmio() != null) {
            space.unmapMmio(at, bar.size());
        }
        s.mappedAt[i] = -1;
    }

    private void mapBar(PciFunctionSlot s, int i, long at) {
        PciBar bar = s.bars[i];
        try {
            if (bar.kind() == PciBar.Kind.IO) {
                space.mapIo((int) at, (int) bar.size(), bar.io());
            } else if (bar.mmio() != null) {
                space.mapMmio(at, bar.size(), bar.mmio());
            } else if (space.overlapsRam(at, bar.size())) {
                throw new IllegalStateException("it overlaps guest RAM");
            }
            s.mappedAt[i] = at;
            s.conflictLoggedAt[i] = -1;
        } catch (IllegalStateException | IllegalArgumentException e) {
            if (s.conflictLoggedAt[i] != at) {
                s.conflictLoggedAt[i] = at;
                log.accept(String.format("%s BAR%d (%s 0x%x+0x%x) not decoded: %s", s.name(), i,
                        bar.kind() == PciBar.Kind.IO ? "io" : "mem", at, bar.size(), e.getMessage()));
            }
        }
    }

    /** Where BAR {@code bar} of {@code slot} decodes now, or -1 (tests, firmware). */
    public long decodedAt(PciSlot slot, int bar) {
        synchronized (lock) {
            return ((PciFunctionSlot) slot).mappedAt[bar];
        }
    }

    /** Every plugged function, in bus order (firmware walks it). */
    public List<PciSlot> functions() {
        List<PciSlot> all = new ArrayList<>();
        synchronized (lock) {
            for (PciFunctionSlot s : slots) {
                if (s != null) {
                    all.add(s);
                }
            }
        }
        return all;
    }
}
