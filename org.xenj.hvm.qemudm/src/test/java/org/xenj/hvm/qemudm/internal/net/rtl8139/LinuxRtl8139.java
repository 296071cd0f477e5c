package org.xenj.hvm.qemudm.internal.net.rtl8139;

import java.util.ArrayList;
import java.util.List;

import org.xenj.hypervisor.spi.MmioHandler;
import org.xenj.hvm.qemudm.internal.net.TestBus;

/**
 * The register sequences of Linux's 8139too (probe, EEPROM read, hw_start, start_xmit, the
 * interrupt handler, rx and tx completion), written from the facts of the driver, over the NIC's
 * memory BAR as the driver uses it by default.
 */
final class LinuxRtl8139 {

    static final long RX_RING = 0x10000, TX_BUFS = 0x30000;
    static final int RX_ACK = Rtl8139.ROK | Rtl8139.RXOVW | 0x40;
    static final int INTR_MASK = 0xc07f;

    final Rtl8139 nic;
    final TestBus bus;
    final MmioHandler regs;
    final int rxIndex;
    final boolean noWrap;
    byte[] mac = new byte[6];
    int curRx, curTx, dirtyTx, txErrors, rxErrors;

    LinuxRtl8139(Rtl8139 nic, TestBus bus, int rxIndex, boolean noWrap) {
        this.nic = nic;
        this.bus = bus;
        this.regs = nic.bars().get(1).mmio();
        this.rxIndex = rxIndex;
        this.noWrap = noWrap;
    }

    int rxLength() {
        return 8192 << rxIndex;
    }

    int r8(int off) {
        return (int) regs.mmioRead(off, 1);
    }

    int r16(int off) {
        return (int) regs.mmioRead(off, 2);
    }

    int r32(int off) {
        return (int) regs.mmioRead(off, 4);
    }

    void w8(int off, int v) {
        regs.mmioWrite(off, 1, v);
    }

    void w16(int off, int v) {
        regs.mmioWrite(off, 2, v);
    }

    void w32(int off, int v) {
        regs.mmioWrite(off, 4, v & 0xffffffffL);
    }

    int readEeprom(int location, int addrLen) {
        int cmd = location | (6 << addrLen);
        w8(0x50, 0x80);
        w8(0x50, 0x88);
        for (int i = 4 + addrLen; i >= 0; i--) {
            int d = (cmd & (1 << i)) != 0 ? 0x02 : 0;
            w8(0x50, 0x88 | d);
            w8(0x50, 0x88 | d | 0x04);
        }
        w8(0x50, 0x88);
        int v = 0;
        for (int i = 16; i > 0; i--) {
            w8(0x50, 0x88 | 0x04);
            v = (v << 1) | (r8(0x50) & 1);
            w8(0x50, 0x88);
        }
        w8(0x50, 0);
        return v;
    }

    /** rtl8139_init_board + the MAC read of rtl8139_init_one; returns the chip version bits. */
    int probe() {
        int version = r32(0x40) & 0x7cc00000;
        int c1 = r8(0x52);
        if ((c1 | 0x01) != c1) {
            w8(0x50, 0xc0);
            w8(0x52, c1 | 0x01);
            w8(0x50, 0x00);
        }
        chipReset();
        int addrLen = readEeprom(0, 8) == 0x8129 ? 8 : 6;
        for (int i = 0; i < 3; i++) {
            int w = readEeprom(i + 7, addrLen);
            mac[2 * i] = (byte) w;
            mac[2 * i + 1] = (byte) (w >> 8);
        }
        return version;
    }

    void chipReset() {
        w8(0x37, 0x10);
        for (int i = 0; i < 1000 && (r8(0x37) & 0x10) != 0; i++) {
            // waits for RST to clear
        }
    }

    /** rtl8139_hw_start + set_rx_mode (no multicast list). */
    void open(int extraRcr) {
        chipReset();
        w8(0x50, 0xc0);
        w32(0, (mac[0] & 0xff) | (mac[1] & 0xff) << 8 | (mac[2] & 0xff) << 16 | (mac[3] & 0xff) << 24);
        w32(4, (mac[4] & 0xff) | (mac[5] & 0xff) << 8);
        curRx = 0;
        w32(0x30, (int) RX_RING);
        w8(0x37, 0x0c);
        int rcr = (7 << 13) | (rxIndex << 11) | (7 << 8) | (noWrap ? 0x80 : 0) | 0x08 | 0x02 | extraRcr;
        w32(0x44, rcr);
        w32(0x40, (6 << 8) | (3 << 24));
        w8(0x59, r8(0x59) & ~0x20);
        w8(0x50, 0x00);
        for (int i = 0; i < 4; i++) {
            w32(0x20 + 4 * i, (int) (TX_BUFS + 2048L * i));
        }
        w32(0x4c, 0);
        w32(0x44, rcr);
        w32(0x08, 0);
        w32(0x0c, 0);
        w16(0x5c, r16(0x5c) & 0xf000);
        if ((r8(0x37) & 0x0c) != 0x0c) {
            w8(0x37, 0x0c);
        }
        w16(0x3c, INTR_MASK);
    }

    /** Whether the PHY reports the link up, as mii_link_ok reads BMSR through the 8139's register map. */
    boolean linkUp() {
        r16(0x64);
        return (r16(0x64) & 0x0004) != 0;
    }

    /** rtl8139_start_xmit: false when all four descriptors are busy. */
    boolean xmit(byte[] frame) {
        if (curTx - dirtyTx >= 4) {
            return false;
        }
        int entry = curTx % 4;
        long buf = TX_BUFS + 2048L * entry;
        byte[] padded = java.util.Arrays.copyOf(frame, Math.max(frame.length, 60));
        bus.ram.write(buf, padded, 0, padded.length);
        w32(0x10 + 4 * entry, ((256 << 11) & 0x003f0000) | Math.max(frame.length, 60));
        curTx++;
        return true;
    }

    /** rtl8139_interrupt followed by the NAPI poll: returns the frames received. */
    List<byte[]> interrupt() {
        List<byte[]> got = new ArrayList<>();
        int status = r16(0x3e);
        if (status == 0) {
            return got;
        }
        int ack = status & ~(RX_ACK | Rtl8139.TER);
        if (ack != 0) {
            w16(0x3e, ack);
        }
        if ((status & RX_ACK) != 0) {
            w16(0x3c, INTR_MASK & ~RX_ACK);
            got.addAll(rx());
            w16(0x3c, INTR_MASK);
        }
        if ((status & (Rtl8139.TOK | Rtl8139.TER)) != 0) {
            txInterrupt();
            if ((status & Rtl8139.TER) != 0) {
                w16(0x3e, Rtl8139.TER);
            }
        }
        return got;
    }

    void txInterrupt() {
        while (curTx - dirtyTx > 0) {
            int s = r32(0x10 + 4 * (dirtyTx % 4));
            if ((s & (Rtl8139.TSD_TOK | Rtl8139.TSD_TUN | Rtl8139.TSD_TABT)) == 0) {
                break;
            }
            if ((s & Rtl8139.TSD_TABT) != 0) {
                txErrors++;
            }
            dirtyTx++;
        }
    }

    List<byte[]> rx() {
        List<byte[]> got = new ArrayList<>();
        int len = rxLength();
        while ((r8(0x37) & 0x01) == 0) {
            int offset = curRx % len;
            int header = bus.ram.read32(RX_RING + offset);
            int size = header >>> 16;
            if (size > 1536 + 4 || size < 8 || (header & 1) == 0) {
                rxErrors++;
                return got;
            }
            byte[] pkt = new byte[size - 4];
            int start = offset + 4;
            if (noWrap || start + pkt.length <= len) {
                bus.ram.read(RX_RING + (start % len == 0 && !noWrap ? 0 : start), pkt, 0, pkt.length);
            } else { // wrap_copy
                int first = Math.max(0, len - start);
                bus.ram.read(RX_RING + start % len, pkt, 0, Math.min(first, pkt.length));
                if (first < pkt.length) {
                    bus.ram.read(RX_RING, pkt, first, pkt.length - first);
                }
            }
            got.add(pkt);
            curRx = (curRx + size + 4 + 3) & ~3;
            w16(0x38, (curRx - 16) & 0xffff);
            if ((r16(0x3e) & RX_ACK) != 0) {
                w16(0x3e, RX_ACK);
            }
        }
        return got;
    }
}
