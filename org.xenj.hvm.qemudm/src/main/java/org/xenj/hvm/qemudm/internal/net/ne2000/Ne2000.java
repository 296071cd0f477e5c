package org.xenj.hvm.qemudm.internal.net.ne2000;

import java.util.List;

import org.xenj.hypervisor.spi.IoHandler;
import org.xenj.hypervisor.spi.pci.PciBar;
import org.xenj.hypervisor.spi.pci.PciDevice;
import org.xenj.hypervisor.spi.pci.PciIdentity;
import org.xenj.hvm.qemudm.internal.net.EthernetFilter;
import org.xenj.hvm.qemudm.internal.net.FrameLink;
import org.xenj.hvm.qemudm.internal.net.NicBus;

/**
 * NE2000-compatible Realtek RTL8029 (PCI 10ec:8029), as Linux's ne2k-pci drives it: a DP8390 core
 * (register pages 0-3 selected by CR.PS, 0x00-0x0f of I/O BAR0), the NE2000's data port (0x10) and
 * reset port (0x1f). The card has its own memory: the station-address PROM at 0x0000 (each byte
 * doubled, as word-wide NE2000s show it) and 32 KiB of packet RAM at 0x4000-0xbfff, which the host
 * reaches only by remote DMA through the data port, so no guest address is ever dereferenced.
 * Received frames go into the ring PSTART..PSTOP at CURR (4-byte header: status, next page, count);
 * remote reads wrap at PSTOP as the DP8390's do. ISR&IMR drive INTx#; RDC and RST never interrupt.
 *
 * <p>Registers are reached on vCPU threads and never block; transmission and reception run on the
 * NIC's executor.
 */
public final class Ne2000 implements PciDevice {

    public static final PciIdentity IDENTITY = new PciIdentity(0x10ec, 0x8029, 0x020000, 0x00, 0x10ec, 0x8029, 1);
    static final int IO_SIZE = 32;
    static final int DATA_PORT = 0x10, RESET_PORT = 0x18;
    static final int RAM_START = 0x4000, RAM_SIZE = 0x8000, RAM_END = RAM_START + RAM_SIZE;

    // CR
    static final int STP = 0x01, STA = 0x02, TXP = 0x04;
    // ISR
    static final int PRX = 0x01, PTX = 0x02, RXE = 0x04, TXE = 0x08, OVW = 0x10, CNT = 0x20, RDC = 0x40, RST = 0x80;
    // RCR
    static final int AB = 0x04, AM = 0x08, PRO = 0x10, MON = 0x20;
    // DCR
    static final int WTS = 0x01;
    // TSR / RSR
    static final int TSR_PTX = 0x01, TSR_ABT = 0x08, RSR_PRX = 0x01, RSR_MPA = 0x10, RSR_PHY = 0x20;
    static final int MAX_TX = 1536, MAX_RX = 1518;

    private final NicBus bus;
    private volatile FrameLink link = FrameLink.NONE;
    private final List<PciBar> bars;

    // guest-visible state; guarded by this
    final byte[] prom = new byte[32];
    final byte[] ram = new byte[RAM_SIZE];
    final byte[] par = new byte[6];
    final byte[] mar = new byte[8];
    final byte[] page3 = new byte[16];
    int page;
    int remoteCommand;
    boolean stopped;
    boolean transmitting;
    int isr, imr, pstart, pstop, bnry, curr, tpsr, tbcr, rsar, rbcr, rcr, tcr, dcr, rsr, tsr;
    final int[] tally = new int[3];
    private boolean intx;
    private boolean unplugged;

    public Ne2000(byte[] mac, NicBus bus) {
        if (mac.length != 6) {
            throw new IllegalArgumentException("a MAC address is 6 bytes");
        }
        this.bus = bus;
        for (int i = 0; i < 6; i++) {
            prom[2 * i] = mac[i];
            prom[2 * i + 1] = mac[i];
        }
        for (int i = 28; i < 32; i++) {
            prom[i] = 0x57; // 'W': a word-wide card
        }
        IoHandler io = new IoHandler() {
            @Override
            public int ioRead(int offset, int size) {
                return read(offset, size);
            }

            @Override
            public void ioWrite(int offset, int size, int value) {
                write(offset, size, value);
            }
        };
        this.bars = List.of(PciBar.io(IO_SIZE, io));
        reset();
    }

    public void connect(FrameLink link) {
        this.link = link == null ? FrameLink.NONE : link;
    }

    @Override
    public PciIdentity identity() {
        return IDENTITY;
    }

    @Override
    public List<PciBar> bars() {
        return bars;
    }

    /** The station address in the PROM (what the driver reads and writes into PAR). */
    public byte[] mac() {
        byte[] m = new byte[6];
        for (int i = 0; i < 6; i++) {
            m[i] = prom[2 * i];
        }
        return m;
    }

    @Override
    public synchronized void reset() {
        java.util.Arrays.fill(ram, (byte) 0);
        java.util.Arrays.fill(par, (byte) 0);
        java.util.Arrays.fill(mar, (byte) 0);
        java.util.Arrays.fill(page3, (byte) 0);
        pstart = pstop = bnry = curr = tpsr = tbcr = rsar = rbcr = rcr = tcr = dcr = rsr = tsr = 0;
        java.util.Arrays.fill(tally, 0);
        softReset();
    }

    /** The reset port: the NIC stops, RST is set, remote DMA aborts, interrupts are masked. */
    private void softReset() {
        page = 0;
        remoteCommand = 4;
        stopped = true;
        transmitting = false;
        isr = RST;
        imr = 0;
        updateIrq();
    }

    @Override
    public void unplugged() {
        synchronized (this) {
            unplugged = true;
            transmitting = false;
            isr = 0;
            updateIrq();
        }
        bus.unplugged(); // outside the lock: the switch port is closed on the caller's thread
    }

    // ---------------------------------------------------------------- registers

    /** Reads {@code size} bytes at {@code offset}: the data port moves that many (a word at least in word mode). */
    public synchronized int read(int offset, int size) {
        offset &= IO_SIZE - 1;
        if (offset >= DATA_PORT && offset < RESET_PORT) {
            return dataRead(size);
        }
        if (offset >= RESET_PORT) {
            softReset();
            return 0;
        }
        int v = 0;
        for (int i = 0; i < size && offset + i < DATA_PORT; i++) {
            v |= registerRead(offset + i) << (8 * i);
        }
        return v;
    }

    private int registerRead(int reg) {
        if (reg == 0) {
            return commandValue();
        }
        return switch (page) {
            case 0 -> switch (reg) {
                case 3 -> bnry;
                case 4 -> tsr;
                case 7 -> isr;
                case 8 -> rsar & 0xff;
                case 9 -> rsar >> 8;
                case 0x0a -> 0x50; // RTL8029 ID: 'P'
                case 0x0b -> 0x43; // 'C'
                case 0x0c -> rsr;
                case 0x0d, 0x0e, 0x0f -> { // tally counters clear when read
                    int t = tally[reg - 0x0d];
                    tally[reg - 0x0d] = 0;
                    yield t;
                }
                default -> 0;
            };
            case 1 -> reg <= 6 ? par[reg - 1] & 0xff : reg == 7 ? curr : mar[reg - 8] & 0xff;
            case 2 -> switch (reg) {
                case 1 -> pstart;
                case 2 -> pstop;
                case 4 -> tpsr;
                case 0x0c -> rcr;
                case 0x0d -> tcr;
                case 0x0e -> dcr;
                case 0x0f -> imr;
                default -> 0;
            };
            default -> page3[reg] & 0xff;
        };
    }

    private int commandValue() {
        return (stopped ? STP : STA) | (transmitting ? TXP : 0) | remoteCommand << 3 | page << 6;
    }

    public void write(int offset, int size, int value) {
        offset &= IO_SIZE - 1;
        boolean send = false;
        synchronized (this) {
            if (unplugged) {
                return;
            }
            if (offset >= DATA_PORT && offset < RESET_PORT) {
                dataWrite(size, value);
            } else if (offset >= RESET_PORT) {
                softReset();
            } else {
                for (int i = 0; i < size && offset + i < DATA_PORT; i++) {
                    send |= registerWrite(offset + i, (value >>> (8 * i)) & 0xff);
                }
            }
            updateIrq();
        }
        if (send) {
            bus.executor().execute(this::transmit);
        }
    }

    /** Returns true when this write started a transmission. */
    private boolean registerWrite(int reg, int b) {
        if (reg == 0) {
            return commandWrite(b);
        }
        switch (page) {
            case 0 -> {
                switch (reg) {
                    case 1 -> pstart = b;
                    case 2 -> pstop = b;
                    case 3 -> bnry = b;
                    case 4 -> tpsr = b;
                    case 5 -> tbcr = (tbcr & 0xff00) | b;
                    case 6 -> tbcr = (tbcr & 0xff) | b << 8;
                    case 7 -> isr &= ~b; // write 1 to clear
                    case 8 -> rsar = (rsar & 0xff00) | b;
                    case 9 -> rsar = (rsar & 0xff) | b << 8;
                    case 0x0a -> rbcr = (rbcr & 0xff00) | b;
                    case 0x0b -> rbcr = (rbcr & 0xff) | b << 8;
                    case 0x0c -> rcr = b & 0x3f;
                    case 0x0d -> tcr = b & 0x1f;
                    case 0x0e -> dcr = b & 0x7f;
                    case 0x0f -> imr = b & 0x7f;
                    default -> {
                    }
                }
            }
            case 1 -> {
                if (reg <= 6) {
                    par[reg - 1] = (byte) b;
                } else if (reg == 7) {
                    curr = b;
                } else {
                    mar[reg - 8] = (byte) b;
                }
            }
            case 2 -> {
                // page 2 is for diagnostics: its writable registers (local DMA pointers) are not emulated
            }
            default -> page3[reg] = (byte) b;
        }
        return false;
    }

    private boolean commandWrite(int b) {
        page = b >> 6;
        remoteCommand = (b >> 3) & 7;
        if ((b & STP) != 0) {
            stopped = true;
            isr |= RST;
        } else if ((b & STA) != 0) {
            stopped = false;
            isr &= ~RST;
        }
        if ((remoteCommand == 1 || remoteCommand == 2) && rbcr == 0) {
            isr |= RDC; // nothing to move: complete at once
        }
        if ((b & TXP) != 0 && !stopped && !transmitting) {
            transmitting = true;
            return true;
        }
        return false;
    }

    // ---------------------------------------------------------------- remote DMA through the data port

    private int dataRead(int size) {
        int n = (dcr & WTS) != 0 ? Math.max(size, 2) : size;
        int v = 0;
        for (int i = 0; i < n; i++) {
            int b = cardRead(rsar);
            if (i < size) {
                v |= b << (8 * i);
            }
            advanceRemote();
        }
        return v;
    }

    private void dataWrite(int size, int value) {
        int n = (dcr & WTS) != 0 ? Math.max(size, 2) : size;
        for (int i = 0; i < n; i++) {
            cardWrite(rsar, i < size ? (value >>> (8 * i)) & 0xff : 0);
            advanceRemote();
        }
    }

    private void advanceRemote() {
        rsar = (rsar + 1) & 0xffff;
        if (pstop > pstart && rsar == pstop << 8) {
            rsar = pstart << 8; // remote DMA wraps inside the receive ring
        }
        if (rbcr > 0 && --rbcr == 0) {
            isr |= RDC;
        }
    }

    private int cardRead(int addr) {
        if (addr < RAM_START) {
            return prom[addr & 0x1f] & 0xff;
        }
        return addr < RAM_END ? ram[addr - RAM_START] & 0xff : 0xff;
    }

    private void cardWrite(int addr, int b) {
        if (addr >= RAM_START && addr < RAM_END) {
            ram[addr - RAM_START] = (byte) b;
        }
    }

    private void updateIrq() {
        boolean level = !unplugged && (isr & imr & 0x3f) != 0;
        if (level != intx) {
            intx = level;
            bus.setIntx(level);
        }
    }

    // ---------------------------------------------------------------- transmit (executor)

    void transmit() {
        byte[] frame;
        int length;
        boolean loopback;
        synchronized (this) {
            if (!transmitting || unplugged) {
                return;
            }
            transmitting = false;
            length = tbcr;
            int start = tpsr << 8;
            if (stopped || length == 0 || length > MAX_TX || start < RAM_START || start + length > RAM_END) {
                tsr = TSR_ABT;
                isr |= TXE;
                updateIrq();
                return;
            }
            frame = new byte[Math.max(length, EthernetFilter.MIN_FRAME)];
            System.arraycopy(ram, start - RAM_START, frame, 0, length);
            tsr = TSR_PTX;
            isr |= PTX;
            updateIrq();
            loopback = (tcr & 0x06) != 0;
        }
        length = Math.max(length, EthernetFilter.MIN_FRAME);
        if (loopback) {
            receive(frame, length);
        } else {
            link.send(frame, length);
        }
    }

    // ---------------------------------------------------------------- receive (executor)

    /** A frame from the network (only read): filtered by RCR and PAR/MAR, then put into the ring at CURR. */
    public void receive(byte[] frame, int length) {
        synchronized (this) {
            if (unplugged || stopped || length < 14 || length > MAX_RX || length > frame.length) {
                return;
            }
            int status = accept(frame);
            if (status < 0) {
                return;
            }
            if ((rcr & MON) != 0) {
                return; // monitor mode: checked, counted by nobody, not buffered
            }
            int ringPages = pstop - pstart;
            if (pstart < (RAM_START >> 8) || pstop > (RAM_END >> 8) || ringPages <= 0 || curr < pstart || curr >= pstop) {
                missed();
                return;
            }
            int wire = Math.max(length, EthernetFilter.MIN_FRAME);
            int count = wire + 4;
            int pages = 1 + (count >> 8); // what Linux's 8390 driver expects the next pointer to be
            // the pages up to BNRY are the driver's: CURR may not reach it (BNRY == CURR is a full ring)
            int free = bnry >= pstart && bnry < pstop ? Math.floorMod(bnry - curr, ringPages) : ringPages - 1;
            if (pages >= free) {
                isr |= OVW;
                missed();
                updateIrq();
                return;
            }
            int next = curr + pages;
            if (next >= pstop) {
                next -= ringPages;
            }
            int at = curr << 8;
            at = ringPut(at, status);
            at = ringPut(at, next);
            at = ringPut(at, count & 0xff);
            at = ringPut(at, count >> 8);
            for (int i = 0; i < wire; i++) {
                at = ringPut(at, i < length ? frame[i] & 0xff : 0);
            }
            curr = next;
            rsr = status;
            isr |= PRX;
            updateIrq();
        }
    }

    private int ringPut(int at, int b) {
        ram[at - RAM_START] = (byte) b;
        at++;
        return at == pstop << 8 ? pstart << 8 : at;
    }

    private void missed() {
        rsr = RSR_MPA;
        tally[2] = (tally[2] + 1) & 0xff;
        if ((tally[2] & 0x80) != 0) {
            isr |= CNT;
        }
    }

    /** The RSR status a frame gets under RCR, or -1 when the NIC does not take it. */
    private int accept(byte[] f) {
        boolean all = (rcr & PRO) != 0;
        if (EthernetFilter.isBroadcast(f, 0)) {
            return (rcr & AB) != 0 || all ? RSR_PRX | RSR_PHY : -1;
        }
        if (EthernetFilter.isGroup(f, 0)) {
            return all || ((rcr & AM) != 0 && EthernetFilter.multicastMatch(mar, f, 0)) ? RSR_PRX | RSR_PHY : -1;
        }
        return all || EthernetFilter.sameAddress(f, 0, par) ? RSR_PRX : -1;
    }

    // ---------------------------------------------------------------- state record

    public synchronized Ne2000State saveState() {
        return new Ne2000State(prom, ram, par, mar, page3, page, remoteCommand, stopped, transmitting, isr, imr, pstart, pstop,
                bnry, curr, tpsr, tbcr, rsar, rbcr, rcr, tcr, dcr, rsr, tsr, tally);
    }

    public void restoreState(Ne2000State s) {
        boolean send;
        synchronized (this) {
            System.arraycopy(s.prom(), 0, prom, 0, prom.length);
            System.arraycopy(s.ram(), 0, ram, 0, RAM_SIZE);
            System.arraycopy(s.par(), 0, par, 0, 6);
            System.arraycopy(s.mar(), 0, mar, 0, 8);
            System.arraycopy(s.page3(), 0, page3, 0, 16);
            page = s.page();
            remoteCommand = s.remoteCommand();
            stopped = s.stopped();
            transmitting = s.transmitting();
            isr = s.isr();
            imr = s.imr();
            pstart = s.pstart();
            pstop = s.pstop();
            bnry = s.bnry();
            curr = s.curr();
            tpsr = s.tpsr();
            tbcr = s.tbcr();
            rsar = s.rsar();
            rbcr = s.rbcr();
            rcr = s.rcr();
            tcr = s.tcr();
            dcr = s.dcr();
            rsr = s.rsr();
            tsr = s.tsr();
            System.arraycopy(s.tally(), 0, tally, 0, 3);
            intx = false;
            bus.setIntx(false);
            updateIrq();
            send = transmitting;
        }
        if (send) {
            bus.executor().execute(this::transmit);
        }
    }

    @Override
    public String toString() {
        return "NE2000 " + org.xenj.hvm.qemudm.internal.net.Nics.format(mac());
    }

    /** Registers and line for a failure report (a NIC that stopped answering). */
    public synchronized String debugState() {
        return String.format("NE2000 ISR=%02x IMR=%02x line=%s PSTART=%02x PSTOP=%02x BNRY=%02x CURR=%02x TSR=%02x RSR=%02x%s", isr, imr,
                intx ? "high" : "low", pstart, pstop, bnry, curr, tsr, rsr, unplugged ? " unplugged" : "");
    }
}
