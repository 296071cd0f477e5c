package org.xenj.hvm.qemudm.internal.net.rtl8139;

import java.util.List;

import org.xenj.hypervisor.spi.IoHandler;
import org.xenj.hypervisor.spi.MmioHandler;
import org.xenj.hypervisor.spi.pci.PciBar;
import org.xenj.hypervisor.spi.pci.PciDevice;
import org.xenj.hypervisor.spi.pci.PciIdentity;
import org.xenj.hvm.qemudm.internal.net.EthernetFilter;
import org.xenj.hvm.qemudm.internal.net.FrameLink;
import org.xenj.hvm.qemudm.internal.net.NicBus;

/**
 * Realtek RTL8139C (PCI 10ec:8139 rev 0x10, so Linux's 8139too drives it, not 8139cp): the same 256
 * registers behind I/O BAR0 and memory BAR1. Four transmit descriptors (TSD/TSAD) whose buffers are
 * read from guest RAM by bus-master DMA; a receive ring (RBSTART, 8/16/32/64 KiB + 16) written by
 * DMA, each frame as a 4-byte header (status, length with FCS), the frame, its FCS and padding to
 * 4 bytes; CAPR is the guest's read pointer minus 16, CBR the NIC's write offset; ISR&IMR drive
 * INTx#. The 93C46 EEPROM holds the MAC; the internal PHY reports a 100 Mbit/s full-duplex link.
 *
 * <p>Registers are reached on vCPU threads and never block; transmission and reception run on the
 * NIC's executor. Guest addresses the guest gave (TSAD, RBSTART) are checked against its RAM: a
 * frame that would touch anything else is aborted (TX: TABT, ISR TER) or dropped (RX: missed
 * packet count, ISR SERR), never read or written.
 */
public final class Rtl8139 implements PciDevice {

    public static final PciIdentity IDENTITY = new PciIdentity(0x10ec, 0x8139, 0x020000, 0x10, 0x10ec, 0x8139, 1);
    static final int REGISTERS = 256;

    // registers
    static final int TSD0 = 0x10, TSAD0 = 0x20, RBSTART = 0x30, CR = 0x37, CAPR = 0x38, CBR = 0x3a, IMR = 0x3c,
            ISR = 0x3e, TCR = 0x40, RCR = 0x44, TCTR = 0x48, MPC = 0x4c, CFG9346 = 0x50, CONFIG0 = 0x51, MSR = 0x58,
            TSAD = 0x60, BMCR = 0x62, BMSR = 0x64, ANLPAR = 0x68, ANER = 0x6a;
    // CR bits
    static final int CR_RST = 0x10, CR_RE = 0x08, CR_TE = 0x04, CR_BUFE = 0x01;
    // ISR/IMR bits
    static final int ROK = 0x0001, RER = 0x0002, TOK = 0x0004, TER = 0x0008, RXOVW = 0x0010, SERR = 0x8000;
    static final int ISR_BITS = 0xe07f;
    // TSD bits
    static final int TSD_SIZE = 0x1fff, TSD_OWN = 0x2000, TSD_TUN = 0x4000, TSD_TOK = 0x8000, TSD_TABT = 0x40000000,
            TSD_WRITABLE = 0x003f3fff;
    // RCR bits
    static final int AAP = 0x01, APM = 0x02, AM = 0x04, AB = 0x08, WRAP = 0x80;
    // RX header status bits
    static final int RX_ROK = 0x0001, RX_BAR = 0x2000, RX_PAM = 0x4000, RX_MAR = 0x8000;
    /** RTL8139C in TCR's hardware version bits (30-26, 23-22). */
    static final int TCR_VERSION = 0x74000000, TCR_VERSION_MASK = 0x7cc00000;
    static final int MAX_TX = 1792;
    /** The longest frame accepted from the link: a VLAN-tagged 1500-byte payload (without FCS). */
    static final int MAX_RX = 1518;
    static final int BMSR_VALUE = 0x782d, ANLPAR_VALUE = 0x45e1, ANER_VALUE = 0x0001, BMCR_POWER_ON = 0x3100;

    private final NicBus bus;
    private volatile FrameLink link = FrameLink.NONE;
    private final List<PciBar> bars;
    final Eeprom93c46 eeprom;

    // guest-visible state; guarded by this
    final byte[] mac = new byte[6];
    final byte[] mar = new byte[8];
    final int[] tsd = new int[4];
    final int[] tsad = new int[4];
    int rbstart;
    int cr;
    int readPointer;
    int cbr;
    int imr;
    int isr;
    int tcr;
    int rcr;
    int missed;
    int cfg9346;
    int bmcr;
    /** Registers the device only stores (CONFIG1/3/4/5, TimerInt, MULINT, ANAR, CSCR, PHY parameters, wake-up patterns). */
    final byte[] latches = new byte[REGISTERS];
    /** Descriptors written with OWN clear whose frame has not gone out yet. */
    int txPending;
    /** Where the transmitter looks first: descriptors go out round-robin, as the driver fills them. */
    int txNext;
    private boolean intx;
    private boolean unplugged;
    private final byte[] rxScratch = new byte[4 + MAX_RX + 4 + 4];

    public Rtl8139(byte[] mac, NicBus bus) {
        if (mac.length != 6) {
            throw new IllegalArgumentException("a MAC address is 6 bytes");
        }
        this.bus = bus;
        this.eeprom = new Eeprom93c46(mac, IDENTITY.subsystemVendor(), IDENTITY.subsystemId());
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
        MmioHandler mmio = new MmioHandler() {
            @Override
            public long mmioRead(long offset, int size) {
                return size == 8 ? (read((int) offset, 4) & 0xffffffffL) | (long) read((int) offset + 4, 4) << 32
                        : read((int) offset, size) & 0xffffffffL;
            }

            @Override
            public void mmioWrite(long offset, int size, long value) {
                if (size == 8) {
                    write((int) offset, 4, (int) value);
                    write((int) offset + 4, 4, (int) (value >>> 32));
                } else {
                    write((int) offset, size, (int) value);
                }
            }
        };
        this.bars = List.of(PciBar.io(REGISTERS, io), PciBar.memory(REGISTERS, false, mmio));
        powerOn();
    }

    /** Connects the NIC to its network (a switch port); frames sent before go nowhere. */
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

    /** The MAC the guest programmed (IDR0-5), as a switch would learn it. */
    public synchronized byte[] mac() {
        return mac.clone();
    }

    private void powerOn() {
        synchronized (this) {
            System.arraycopy(eeprom.mac(), 0, mac, 0, 6);
            java.util.Arrays.fill(mar, (byte) 0);
            java.util.Arrays.fill(tsad, 0);
            rbstart = 0;
            java.util.Arrays.fill(latches, (byte) 0);
            latches[0x66] = (byte) 0xe1; // ANAR: 10/100, half/full duplex, 802.3
            latches[0x67] = 0x01;
            cfg9346 = 0;
            eeprom.drive(false, false, false);
            bmcr = BMCR_POWER_ON;
            tcr = 0;
            softReset();
        }
    }

    /** CR.RST: the receiver and transmitter stop and the buffers empty; IDR, MAR and the ring address stay. */
    private void softReset() {
        cr = 0;
        imr = 0;
        isr = 0;
        rcr = 0;
        readPointer = 0;
        cbr = 0;
        missed = 0;
        txPending = 0;
        txNext = 0;
        java.util.Arrays.fill(tsd, TSD_OWN);
        updateIrq();
    }

    @Override
    public void reset() {
        powerOn();
    }

    /** Xen's emulated-device unplug or the domain going: the NIC receives and sends nothing more. */
    @Override
    public void unplugged() {
        synchronized (this) {
            unplugged = true;
            txPending = 0;
            isr = 0;
            updateIrq();
        }
        bus.unplugged(); // outside the lock: the switch port is closed on the caller's thread
    }

    // ---------------------------------------------------------------- registers

    /** Reads {@code size} bytes at {@code offset} (little-endian); nothing here has a read side effect. */
    public synchronized int read(int offset, int size) {
        int v = 0;
        for (int i = 0; i < size; i++) {
            v |= readByte((offset + i) & 0xff) << (8 * i);
        }
        return v;
    }

    private int readByte(int off) {
        if (off < 6) {
            return mac[off] & 0xff;
        }
        if (off >= 8 && off < 16) {
            return mar[off - 8] & 0xff;
        }
        if (off >= TSD0 && off < TSD0 + 16) {
            return byteOf(tsd[(off - TSD0) >> 2], off);
        }
        if (off >= TSAD0 && off < TSAD0 + 16) {
            return byteOf(tsad[(off - TSAD0) >> 2], off);
        }
        return switch (off) {
            case RBSTART, RBSTART + 1, RBSTART + 2, RBSTART + 3 -> byteOf(rbstart, off);
            case CR -> cr | (bufferEmpty() ? CR_BUFE : 0);
            case CAPR, CAPR + 1 -> byteOf16(readPointer - 16, off);
            case CBR, CBR + 1 -> byteOf16(cbr, off);
            case IMR, IMR + 1 -> byteOf16(imr, off);
            case ISR, ISR + 1 -> byteOf16(isr, off);
            case TCR, TCR + 1, TCR + 2, TCR + 3 -> byteOf((tcr & ~TCR_VERSION_MASK) | TCR_VERSION, off);
            case RCR, RCR + 1, RCR + 2, RCR + 3 -> byteOf(rcr, off);
            case MPC, MPC + 1, MPC + 2 -> byteOf(missed, off);
            case CFG9346 -> cfg9346Read();
            case MSR -> 0x00; // link up (LINKB clear), 100 Mbit/s (SPEED_10 clear)
            case TSAD, TSAD + 1 -> byteOf16(transmitSummary(), off);
            case BMCR, BMCR + 1 -> byteOf16(bmcr, off);
            case BMSR, BMSR + 1 -> byteOf16(BMSR_VALUE, off);
            case ANLPAR, ANLPAR + 1 -> byteOf16(ANLPAR_VALUE, off);
            case ANER, ANER + 1 -> byteOf16(ANER_VALUE, off);
            default -> latches[off] & 0xff;
        };
    }

    private static int byteOf(int value, int off) {
        return (value >>> (8 * (off & 3))) & 0xff;
    }

    private static int byteOf16(int value, int off) {
        return (value >>> (8 * (off & 1))) & 0xff;
    }

    private int cfg9346Read() {
        int mode = cfg9346 & 0xc0;
        if (mode == 0x80) {
            return (cfg9346 & 0xce) | (eeprom.dataOut ? 1 : 0);
        }
        return cfg9346 & 0xc0;
    }

    private int transmitSummary() {
        int v = 0;
        for (int i = 0; i < 4; i++) {
            int s = tsd[i];
            v |= ((s & TSD_TOK) != 0 ? 0x1000 : 0) << i;
            v |= ((s & TSD_TUN) != 0 ? 0x100 : 0) << i;
            v |= ((s & TSD_TABT) != 0 ? 0x10 : 0) << i;
            v |= ((s & TSD_OWN) != 0 ? 0x1 : 0) << i;
        }
        return v;
    }

    private boolean bufferEmpty() {
        int len = ringLength();
        return Math.floorMod(readPointer, len) == cbr;
    }

    private int ringLength() {
        return 8192 << ((rcr >> 11) & 3);
    }

    /** Writes {@code size} bytes at {@code offset}; registers with side effects act once per access. */
    public void write(int offset, int size, int value) {
        offset &= 0xff;
        int toSchedule;
        synchronized (this) {
            if (unplugged) {
                return;
            }
            toSchedule = writeLocked(offset, size, value);
            updateIrq();
        }
        if (toSchedule != 0) {
            bus.executor().execute(this::transmitPending);
        }
    }

    /** Returns the descriptors whose transmission this write started. */
    private int writeLocked(int offset, int size, int value) {
        int started = 0;
        for (int i = 0; i < size; i++) {
            int off = (offset + i) & 0xff;
            int b = (value >>> (8 * i)) & 0xff;
            if (off >= TSD0 && off < TSD0 + 16) {
                int d = (off - TSD0) >> 2;
                int shift = 8 * (off & 3);
                int mask = (0xff << shift) & TSD_WRITABLE;
                tsd[d] = (tsd[d] & ~mask) | ((b << shift) & mask);
                if ((off & 3) == 1 && (b & (TSD_OWN >> 8)) == 0) { // OWN written 0: the descriptor is the NIC's
                    tsd[d] &= ~(TSD_TOK | TSD_TUN | TSD_TABT | TSD_OWN | 0xbf000000);
                    txPending |= 1 << d;
                    started |= 1 << d;
                }
                continue;
            }
            writeByte(off, b);
        }
        // CAPR and ISR act per access, not per byte: handled in writeByte on their low byte with the whole value
        return started;
    }

    private void writeByte(int off, int b) {
        if (off < 6) {
            mac[off] = (byte) b;
            return;
        }
        if (off >= 8 && off < 16) {
            mar[off - 8] = (byte) b;
            return;
        }
        if (off >= TSAD0 && off < TSAD0 + 16) {
            int d = (off - TSAD0) >> 2;
            int shift = 8 * (off & 3);
            tsad[d] = (tsad[d] & ~(0xff << shift)) | (b << shift);
            return;
        }
        switch (off) {
            case RBSTART, RBSTART + 1, RBSTART + 2, RBSTART + 3 -> {
                int shift = 8 * (off & 3);
                rbstart = (rbstart & ~(0xff << shift)) | (b << shift);
            }
            case CR -> {
                if ((b & CR_RST) != 0) {
                    softReset(); // completes at once: RST reads back 0
                } else {
                    cr = b & (CR_RE | CR_TE);
                }
            }
            case CAPR, CAPR + 1 -> {
                int shift = 8 * (off & 1);
                int capr = ((readPointer - 16) & ~(0xff << shift) | (b << shift)) & 0xffff;
                readPointer = (capr + 16) & 0xffff;
            }
            case IMR, IMR + 1 -> {
                int shift = 8 * (off & 1);
                imr = ((imr & ~(0xff << shift)) | (b << shift)) & ISR_BITS;
            }
            case ISR, ISR + 1 -> isr &= ~((b << (8 * (off & 1))) & 0xffff); // write 1 to clear
            case TCR, TCR + 1, TCR + 2, TCR + 3 -> {
                int shift = 8 * (off & 3);
                tcr = ((tcr & ~(0xff << shift)) | (b << shift)) & ~TCR_VERSION_MASK & ~1; // CLRABT reads 0
            }
            case RCR, RCR + 1, RCR + 2, RCR + 3 -> {
                int shift = 8 * (off & 3);
                rcr = ((rcr & ~(0xff << shift)) | (b << shift)) & 0x0f03ffbf;
                cbr = Math.floorMod(cbr, ringLength());
            }
            case MPC, MPC + 1, MPC + 2, MPC + 3 -> missed = 0;
            case CFG9346 -> cfg9346Write(b);
            case BMCR, BMCR + 1 -> {
                int shift = 8 * (off & 1);
                bmcr = ((bmcr & ~(0xff << shift)) | (b << shift)) & 0x7fff; // reset (bit 15) completes at once
            }
            case CBR, CBR + 1, CONFIG0, MSR, TSAD, TSAD + 1, BMSR, BMSR + 1, ANLPAR, ANLPAR + 1, ANER, ANER + 1, TCTR,
                    TCTR + 1, TCTR + 2, TCTR + 3, 6, 7, 0x34, 0x35, 0x36, 0x5e -> {
                // read-only (the timer counter is not emulated: Linux's 8139too does not use it)
            }
            default -> latches[off] = (byte) b;
        }
    }

    private void cfg9346Write(int b) {
        int mode = b & 0xc0;
        cfg9346 = b & 0xce;
        if (mode == 0x80) {
            eeprom.drive((b & 0x08) != 0, (b & 0x04) != 0, (b & 0x02) != 0);
        } else {
            eeprom.drive(false, false, false);
            if (mode == 0x40) { // auto-load: IDR from the EEPROM, then back to normal mode
                System.arraycopy(eeprom.mac(), 0, mac, 0, 6);
                cfg9346 = 0;
            }
        }
    }

    private void updateIrq() {
        boolean level = !unplugged && (isr & imr) != 0;
        if (level != intx) {
            intx = level;
            bus.setIntx(level);
        }
    }

    // ---------------------------------------------------------------- transmit (executor)

    /** Sends every descriptor handed to the NIC, round-robin from {@link #txNext}: runs on the NIC's executor. */
    void transmitPending() {
        for (;;) {
            int d = -1;
            synchronized (this) {
                for (int k = 0; k < 4 && d < 0; k++) {
                    int c = (txNext + k) & 3;
                    if ((txPending & (1 << c)) != 0) {
                        d = c;
                    }
                }
                if (d < 0) {
                    return;
                }
                txNext = (d + 1) & 3;
            }
            transmit(d);
        }
    }

    /** Sends descriptor {@code d}'s frame. */
    private void transmit(int d) {
        byte[] frame;
        int length;
        boolean loopback;
        synchronized (this) {
            if ((txPending & (1 << d)) == 0 || unplugged) {
                return;
            }
            txPending &= ~(1 << d);
            length = tsd[d] & TSD_SIZE;
            long addr = tsad[d] & 0xffffffffL;
            frame = (cr & CR_TE) == 0 || length == 0 || length > MAX_TX || !bus.busMaster() ? null
                    : dmaRead(addr, length);
            if (frame == null) {
                tsd[d] |= TSD_OWN | TSD_TABT;
                isr |= TER;
                updateIrq();
                return;
            }
            tsd[d] |= TSD_OWN | TSD_TOK;
            isr |= TOK;
            updateIrq();
            loopback = ((tcr >> 17) & 3) == 3;
        }
        if (length < EthernetFilter.MIN_FRAME) {
            length = EthernetFilter.MIN_FRAME; // the MAC pads short frames on the wire (dmaRead left zeros)
        }
        if (loopback) {
            receive(frame, length);
        } else {
            link.send(frame, length);
        }
    }

    /** The guest's bytes, or null if any of them is outside its RAM. */
    private byte[] dmaRead(long addr, int length) {
        try {
            if (!bus.memory().isRam(addr, length)) {
                return null;
            }
            byte[] frame = new byte[Math.max(length, EthernetFilter.MIN_FRAME)];
            bus.memory().read(addr, frame, 0, length);
            return frame;
        } catch (RuntimeException e) {
            return null;
        }
    }

    // ---------------------------------------------------------------- receive (executor)

    /**
     * A frame from the network (the first {@code length} bytes of {@code frame}, no FCS; only read):
     * filtered by RCR, then written into the guest's ring with its header and FCS. Runs on the NIC's
     * executor.
     */
    public void receive(byte[] frame, int length) {
        synchronized (this) {
            if (unplugged || (cr & CR_RE) == 0 || length < 14 || length > MAX_RX || length > frame.length) {
                return;
            }
            int status = accept(frame);
            if (status == 0) {
                return;
            }
            int wire = Math.max(length, EthernetFilter.MIN_FRAME);
            int count = wire + 4;
            int total = (4 + count + 3) & ~3;
            int ring = ringLength();
            int used = Math.floorMod(cbr - readPointer, ring);
            if (total >= ring - used) {
                isr |= RXOVW;
                missed = (missed + 1) & 0xffffff;
                updateIrq();
                return;
            }
            byte[] s = rxScratch;
            s[0] = (byte) status;
            s[1] = (byte) (status >> 8);
            s[2] = (byte) count;
            s[3] = (byte) (count >> 8);
            System.arraycopy(frame, 0, s, 4, length);
            java.util.Arrays.fill(s, 4 + length, 4 + wire, (byte) 0);
            int fcs = EthernetFilter.fcs(s, 4, wire);
            for (int i = 0; i < 4; i++) {
                s[4 + wire + i] = (byte) (fcs >>> (8 * i));
            }
            long base = rbstart & 0xffffffffL;
            boolean noWrap = (rcr & WRAP) != 0 && ring != 65536;
            int first = noWrap ? 4 + count : Math.min(4 + count, ring - cbr);
            if (!bus.busMaster() || !dmaWrite(base + cbr, s, 0, first)
                    || (first < 4 + count && !dmaWrite(base, s, first, 4 + count - first))) {
                isr |= SERR;
                missed = (missed + 1) & 0xffffff;
                updateIrq();
                return;
            }
            cbr = (cbr + total) % ring;
            isr |= ROK;
            updateIrq();
        }
    }

    private boolean dmaWrite(long gpa, byte[] src, int off, int len) {
        try {
            if (!bus.memory().isRam(gpa, len)) {
                return false;
            }
            bus.memory().write(gpa, src, off, len);
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** The header status a frame gets under RCR, or 0 when the NIC does not take it. */
    private int accept(byte[] f) {
        boolean all = (rcr & AAP) != 0;
        if (EthernetFilter.isBroadcast(f, 0)) {
            return (rcr & AB) != 0 || all ? RX_ROK | RX_BAR : 0;
        }
        if (EthernetFilter.isGroup(f, 0)) {
            return all || ((rcr & AM) != 0 && EthernetFilter.multicastMatch(mar, f, 0)) ? RX_ROK | RX_MAR : 0;
        }
        if (EthernetFilter.sameAddress(f, 0, mac)) {
            return (rcr & APM) != 0 || all ? RX_ROK | RX_PAM : 0;
        }
        return all ? RX_ROK : 0;
    }

    // ---------------------------------------------------------------- state record

    public synchronized Rtl8139State saveState() {
        Eeprom93c46 e = eeprom;
        return new Rtl8139State(mac, mar, tsd, tsad, rbstart, cr, readPointer, cbr, imr, isr, tcr, rcr, missed, cfg9346, bmcr,
                latches, txPending, txNext, e.words, e.phase, e.shift, e.bits, e.address, e.dataOut, e.writeEnabled, e.chipSelect,
                e.clock);
    }

    /** Puts {@code s} back; descriptors still pending go out on the executor, the line shows ISR&IMR. */
    public void restoreState(Rtl8139State s) {
        int pending;
        synchronized (this) {
            System.arraycopy(s.mac(), 0, mac, 0, 6);
            System.arraycopy(s.mar(), 0, mar, 0, 8);
            System.arraycopy(s.tsd(), 0, tsd, 0, 4);
            System.arraycopy(s.tsad(), 0, tsad, 0, 4);
            rbstart = s.rbstart();
            cr = s.cr();
            readPointer = s.readPointer();
            rcr = s.rcr();
            cbr = Math.floorMod(s.cbr(), ringLength());
            imr = s.imr();
            isr = s.isr();
            tcr = s.tcr();
            missed = s.missed();
            cfg9346 = s.cfg9346();
            bmcr = s.bmcr();
            System.arraycopy(s.latches(), 0, latches, 0, REGISTERS);
            txPending = s.txPending();
            txNext = s.txNext();
            Eeprom93c46 e = eeprom;
            System.arraycopy(s.eepromWords(), 0, e.words, 0, Eeprom93c46.WORDS);
            e.phase = s.eepromPhase();
            e.shift = s.eepromShift();
            e.bits = s.eepromBits();
            e.address = s.eepromAddress();
            e.dataOut = s.eepromDataOut();
            e.writeEnabled = s.eepromWriteEnabled();
            e.chipSelect = s.eepromChipSelect();
            e.clock = s.eepromClock();
            intx = false;
            bus.setIntx(false);
            updateIrq();
            pending = txPending;
        }
        if (pending != 0) {
            bus.executor().execute(this::transmitPending);
        }
    }

    /** Registers and line for a failure report (a NIC that stopped answering). */
    public synchronized String debugState() {
        return String.format("RTL8139 %s CR=%02x ISR=%04x IMR=%04x line=%s TSD=[%08x %08x %08x %08x] pending=%x next=%d RCR=%08x"
                + " CBR=%04x CAPR+16=%04x missed=%d%s", org.xenj.hvm.qemudm.internal.net.Nics.format(mac), cr, isr, imr, intx ? "high" : "low",
                tsd[0], tsd[1], tsd[2], tsd[3], txPending, txNext, rcr, cbr, readPointer, missed, unplugged ? " unplugged" : "");
    }

    @Override
    public String toString() {
        return "RTL8139 " + org.xenj.hvm.qemudm.internal.net.Nics.format(mac);
    }
}
