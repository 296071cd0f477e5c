package org.xenj.hvm.qemudm.internal.net.ne2000;

import java.util.ArrayList;
import java.util.List;

import org.xenj.hypervisor.spi.IoHandler;

/**
 * The register sequences of Linux's ne2k-pci and 8390 core (probe with the PROM read, NS8390_init,
 * block output with 32-bit data-port writes, trigger_send, the interrupt handler, ei_receive with
 * get_8390_hdr and block input), written from the facts of the drivers, over I/O BAR0.
 */
final class LinuxNe2kPci {

    static final int CMD = 0x00, DATA = 0x10, RESET = 0x1f;
    static final int START_PAGE = 0x40, STOP_PAGE = 0x80, TX_PAGES = 12, RX_START = START_PAGE + TX_PAGES;

    final IoHandler io;
    final byte[] mac = new byte[6];
    int currentPage;
    int rxErrors, txDone, txErrors;

    LinuxNe2kPci(Ne2000 nic) {
        this.io = nic.bars().get(0).io();
    }

    int inb(int reg) {
        return io.ioRead(reg, 1) & 0xff;
    }

    void outb(int v, int reg) {
        io.ioWrite(reg, 1, v & 0xff);
    }

    /** ne2k_pci_init_one up to the MAC: returns false where Linux would give up. */
    boolean probe() {
        int reg0 = inb(0);
        if (reg0 == 0xff) {
            return false;
        }
        outb(0x61, CMD); // NODMA + PAGE1 + STOP
        int regd = inb(0x0d);
        outb(0xff, 0x0d);
        outb(0x20, CMD); // NODMA + PAGE0
        inb(0x0d); // clears the counter
        if (inb(0x0d) != 0) {
            outb(reg0, 0);
            outb(regd, 0x0d);
            return false;
        }
        outb(inb(RESET), RESET);
        boolean reset = false;
        for (int i = 0; i < 100 && !reset; i++) {
            reset = (inb(0x07) & 0x80) != 0;
        }
        if (!reset) {
            return false;
        }
        outb(0xff, 0x07);
        int[][] seq = {{0x21, CMD}, {0x49, 0x0e}, {0, 0x0a}, {0, 0x0b}, {0, 0x0f}, {0xff, 0x07}, {0x20, 0x0c}, {0x02, 0x0d},
            {32, 0x0a}, {0, 0x0b}, {0, 0x08}, {0, 0x09}, {0x0a, CMD}};
        for (int[] s : seq) {
            outb(s[0], s[1]);
        }
        byte[] prom = new byte[32];
        for (int i = 0; i < 32; i++) {
            prom[i] = (byte) inb(DATA);
        }
        outb(0x49, 0x0e);
        System.arraycopy(prom, 0, mac, 0, 6);
        return true;
    }

    /** NS8390_init(dev, 1) and the multicast list (none: MAR all zero unless {@code allMulti}). */
    void open(int rxConfig) {
        outb(0x21, CMD);
        outb(0x49, 0x0e);
        outb(0, 0x0a);
        outb(0, 0x0b);
        outb(0x20, 0x0c);
        outb(0x02, 0x0d);
        outb(START_PAGE, 0x04);
        outb(RX_START, 0x01);
        outb(STOP_PAGE - 1, 0x03);
        currentPage = RX_START;
        outb(STOP_PAGE, 0x02);
        outb(0xff, 0x07);
        outb(0x00, 0x0f);
        outb(0x61, CMD);
        for (int i = 0; i < 6; i++) {
            outb(mac[i], 1 + i);
            if (inb(1 + i) != (mac[i] & 0xff)) {
                throw new AssertionError("Hw. address read/write mismap " + i);
            }
        }
        outb(RX_START, 0x07);
        outb(0x21, CMD);
        outb(0xff, 0x07);
        outb(0x3f, 0x0f);
        outb(0x22, CMD);
        outb(0x00, 0x0d); // E8390_TXCONFIG: normal
        outb(rxConfig, 0x0c); // E8390_RXCONFIG: 0x04 (broadcast) | more
        setMulticast(new byte[8]);
    }

    /** do_set_multicast_list: page 1 and back to page 0 with neither STA nor STP (the NIC keeps running). */
    void setMulticast(byte[] mar) {
        outb(0x60, CMD);
        for (int i = 0; i < 8; i++) {
            outb(mar[i], 8 + i);
        }
        outb(0x20, CMD);
    }

    /** ne2k_pci_block_output then NS8390_trigger_send; false when the transmitter is busy. */
    boolean send(byte[] frame) {
        int len = Math.max(frame.length, 60);
        byte[] buf = java.util.Arrays.copyOf(frame, len);
        int count = (len + 1) & ~1;
        outb(0x22, CMD);
        outb(count & 0xff, 0x0a);
        outb(count >> 8, 0x0b);
        outb(0, 0x08);
        outb(START_PAGE, 0x09);
        outb(0x12, CMD);
        for (int i = 0; i + 4 <= count; i += 4) {
            io.ioWrite(DATA, 4, (buf[i] & 0xff) | (buf[i + 1] & 0xff) << 8 | (i + 2 < len ? buf[i + 2] & 0xff : 0) << 16
                    | (i + 3 < len ? buf[i + 3] & 0xff : 0) << 24);
        }
        if ((count & 3) != 0) {
            int i = count & ~3;
            io.ioWrite(DATA, 2, (buf[i] & 0xff) | (i + 1 < len ? buf[i + 1] & 0xff : 0) << 8);
        }
        boolean rdc = false;
        for (int i = 0; i < 100 && !rdc; i++) {
            rdc = (inb(0x07) & 0x40) != 0;
        }
        if (!rdc) {
            throw new AssertionError("timeout waiting for Tx RDC");
        }
        outb(0x40, 0x07);
        outb(0x20, CMD);
        if ((inb(CMD) & 0x04) != 0) {
            return false;
        }
        outb(len & 0xff, 0x05);
        outb(len >> 8, 0x06);
        outb(START_PAGE, 0x04);
        outb(0x26, CMD);
        return true;
    }

    /** __ei_interrupt: returns the frames received. */
    List<byte[]> interrupt() {
        List<byte[]> got = new ArrayList<>();
        outb(0x20, CMD);
        int isr;
        int serviced = 0;
        while ((isr = inb(0x07)) != 0 && ++serviced < 9) {
            if ((isr & 0x10) != 0) {
                throw new AssertionError("overrun handling is not modelled here");
            } else if ((isr & 0x05) != 0) {
                got.addAll(receive());
            }
            if ((isr & 0x02) != 0) {
                int tsr = inb(0x04);
                outb(0x02, 0x07);
                if ((tsr & 0x01) != 0) {
                    txDone++;
                }
            } else if ((isr & 0x08) != 0) {
                inb(0x04);
                outb(0x08, 0x07);
                txErrors++;
            }
            if ((isr & 0x20) != 0) {
                inb(0x0d);
                inb(0x0e);
                inb(0x0f);
                outb(0x20, 0x07);
            }
            if ((isr & 0x40) != 0) {
                outb(0x40, 0x07);
            }
            if ((isr & 0x80) != 0) {
                outb(0x80, 0x07);
            }
            outb(0x22, CMD);
        }
        return got;
    }

    private int[] header(int page) {
        outb(0x22, CMD);
        outb(4, 0x0a);
        outb(0, 0x0b);
        outb(0, 0x08);
        outb(page, 0x09);
        outb(0x0a, CMD);
        int h = io.ioRead(DATA, 4);
        outb(0x40, 0x07);
        return new int[] {h & 0xff, (h >> 8) & 0xff, h >>> 16};
    }

    private byte[] blockInput(int count, int offset) {
        outb(0x22, CMD);
        outb(count & 0xff, 0x0a);
        outb(count >> 8, 0x0b);
        outb(offset & 0xff, 0x08);
        outb(offset >> 8, 0x09);
        outb(0x0a, CMD);
        byte[] b = new byte[count];
        int i = 0;
        for (; i + 4 <= count; i += 4) {
            int w = io.ioRead(DATA, 4);
            for (int k = 0; k < 4; k++) {
                b[i + k] = (byte) (w >> (8 * k));
            }
        }
        if ((count & 2) != 0) {
            int w = io.ioRead(DATA, 2);
            b[i] = (byte) w;
            b[i + 1] = (byte) (w >> 8);
            i += 2;
        }
        if ((count & 1) != 0) {
            b[i] = (byte) io.ioRead(DATA, 1);
        }
        outb(0x40, 0x07);
        return b;
    }

    List<byte[]> receive() {
        List<byte[]> got = new ArrayList<>();
        int numRxPages = STOP_PAGE - RX_START;
        for (int n = 0; n < 10; n++) {
            outb(0x62, CMD);
            int rxingPage = inb(0x07);
            outb(0x22, CMD);
            int thisFrame = inb(0x03) + 1;
            if (thisFrame >= STOP_PAGE) {
                thisFrame = RX_START;
            }
            if (thisFrame == rxingPage) {
                break;
            }
            int[] h = header(thisFrame);
            int pktLen = h[2] - 4;
            int next = thisFrame + 1 + ((pktLen + 4) >> 8);
            if (h[1] != next && h[1] != next + 1 && h[1] != next - numRxPages && h[1] != next + 1 - numRxPages) {
                rxErrors++;
                currentPage = rxingPage;
                outb(currentPage - 1, 0x03);
                continue;
            }
            if (pktLen < 60 || pktLen > 1518 || (h[0] & 0x0f) != 0x01) {
                rxErrors++;
            } else {
                got.add(blockInput(pktLen, (thisFrame << 8) + 4));
            }
            int nextFrame = h[1];
            if (nextFrame >= STOP_PAGE) {
                nextFrame = RX_START;
            }
            currentPage = nextFrame;
            outb(nextFrame - 1, 0x03);
        }
        outb(0x05, 0x07);
        return got;
    }
}
