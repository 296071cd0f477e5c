package org.xenj.hvm.qemudm.internal.net.ne2000;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.xenj.hvm.qemudm.internal.net.TestBus;

/** The NE2000 driven as Linux's ne2k-pci and 8390 core drive it. */
class Ne2000Test {

    static final byte[] MAC = TestBus.mac(0x00, 0x16, 0x3e, 0x65, 0x43, 0x21);
    static final byte[] PEER = TestBus.mac(0x00, 0x16, 0x3e, 0xaa, 0xbb, 0xcc);

    final TestBus bus = new TestBus(4096);
    final Ne2000 nic = new Ne2000(MAC, bus);
    final LinuxNe2kPci d = new LinuxNe2kPci(nic);

    LinuxNe2kPci open() {
        nic.connect(bus.link());
        assertTrue(d.probe());
        d.open(0x04);
        return d;
    }

    @Test
    void identityIsTheRtl8029() {
        assertEquals(0x10ec, Ne2000.IDENTITY.vendor());
        assertEquals(0x8029, Ne2000.IDENTITY.device());
        assertEquals(0x020000, Ne2000.IDENTITY.classCode());
        assertEquals(1, nic.bars().size());
        assertEquals(32, nic.bars().get(0).size(), "NE_IO_EXTENT");
    }

    @Test
    void probeResetsTheCardAndReadsTheMacFromThePromInWordMode() {
        assertTrue(d.probe());
        assertArrayEquals(MAC, d.mac);
        d.open(0x04);
        assertEquals(0x22, d.inb(0) & 0x3f, "started, no DMA");
        assertFalse(bus.intx);
    }

    @Test
    void transmitsThroughRemoteDmaAndTheTransmitCommand() {
        open();
        for (int n = 0; n < 20; n++) {
            byte[] f = TestBus.frame(PEER, MAC, 10 + 77 * n, n);
            assertTrue(d.send(f));
            assertEquals(0, bus.sent.size(), "sent on the NIC's executor only");
            assertTrue((d.inb(0) & 0x04) != 0, "TXP until it went out");
            bus.runTasks();
            assertEquals(1, bus.sent.size());
            assertArrayEquals(f, Arrays.copyOf(bus.sent.get(0), f.length));
            assertEquals(Math.max(60, f.length), bus.sent.get(0).length);
            bus.sent.clear();
            assertTrue(bus.intx, "PTX interrupts");
            d.interrupt();
            assertFalse(bus.intx);
        }
        assertEquals(20, d.txDone);
    }

    @Test
    void receivedFramesGoThroughTheRingAndItWraps() {
        open();
        int total = 0;
        for (int n = 0; n < 300; n++) {
            byte[] f = TestBus.frame(MAC, PEER, 46 + (n * 53) % 1454, n);
            nic.receive(f, f.length);
            assertTrue(bus.intx, "PRX interrupts");
            List<byte[]> got = d.interrupt();
            assertEquals(1, got.size(), "frame " + n);
            assertArrayEquals(f, Arrays.copyOf(got.get(0), f.length), "frame " + n);
            assertFalse(bus.intx);
            total += f.length;
        }
        assertEquals(0, d.rxErrors);
        assertTrue(total > 10 * (LinuxNe2kPci.STOP_PAGE - LinuxNe2kPci.RX_START) * 256, "the ring wrapped many times");
    }

    @Test
    void severalFramesWaitInTheRingAndAFullRingOverflows() {
        open();
        byte[] f = TestBus.frame(MAC, PEER, 1000, 7);
        int pages = LinuxNe2kPci.STOP_PAGE - LinuxNe2kPci.RX_START;
        for (int n = 0; n < 20; n++) {
            nic.receive(f, f.length);
        }
        // 1018 bytes with the header: four pages each; CURR stops short of BNRY (52 pages, 51 usable)
        int kept = (pages - 2) / 4;
        assertTrue((d.inb(0x07) & 0x10) != 0, "OVW");
        d.outb(0x10, 0x07);
        List<byte[]> got = new java.util.ArrayList<>();
        for (List<byte[]> more = d.receive(); !more.isEmpty(); more = d.receive()) {
            got.addAll(more);
        }
        assertEquals(kept, got.size(), "frames kept");
        for (byte[] g : got) {
            assertArrayEquals(f, Arrays.copyOf(g, f.length));
        }
        assertTrue(d.inb(0x0f) > 0, "missed-packet tally");
        nic.receive(f, f.length);
        assertEquals(1, d.interrupt().size(), "the ring takes frames again");
    }

    @Test
    void receiveFilterFollowsRcrParAndMar() {
        open();
        byte[] other = TestBus.frame(PEER, PEER, 50, 0);
        byte[] bcast = TestBus.frame(TestBus.BROADCAST, PEER, 50, 0);
        byte[] mcast = TestBus.frame(TestBus.mac(0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb), PEER, 50, 0);
        nic.receive(other, other.length);
        nic.receive(mcast, mcast.length);
        assertEquals(0, d.inb(0x07) & 0x01);
        nic.receive(bcast, bcast.length);
        assertEquals(1, d.interrupt().size());
        int crc = TestBus.etherCrc(mcast, 0, 6);
        byte[] mar = new byte[8];
        mar[crc >>> 29] |= (byte) (1 << ((crc >>> 26) & 7)); // make_mc_bits
        d.setMulticast(mar);
        d.outb(0x04 | 0x08, 0x0c);
        nic.receive(mcast, mcast.length);
        assertEquals(1, d.interrupt().size());
        d.outb(0x04 | 0x10, 0x0c);
        nic.receive(other, other.length);
        assertEquals(1, d.interrupt().size(), "promiscuous");
        d.outb(0x21, 0); // stopped: nothing is received
        nic.receive(bcast, bcast.length);
        assertEquals(0, d.inb(0x07) & 0x01);
    }

    @Test
    void badTransmitCountsAbortAndBadRingsDrop() {
        open();
        for (int count : new int[] {0, 1537, 0xffff}) {
            d.outb(count & 0xff, 0x05);
            d.outb(count >> 8, 0x06);
            d.outb(0x40, 0x04);
            d.outb(0x26, 0);
            bus.runTasks();
            assertTrue((d.inb(0x07) & 0x08) != 0, "TXE for count " + count);
            d.outb(0xff, 0x07);
        }
        d.outb(0xbf, 0x04); // transmit page at the very end of the card's RAM
        d.outb(0xdc, 0x05);
        d.outb(0x05, 0x06);
        d.outb(0x26, 0);
        bus.runTasks();
        assertTrue((d.inb(0x07) & 0x08) != 0, "a frame running past the card's RAM aborts");
        assertEquals(0, bus.sent.size());
        // nonsense ring registers: frames are dropped, nothing breaks
        byte[] f = TestBus.frame(MAC, PEER, 1400, 0);
        int[][] rings = {{0x00, 0x10}, {0x50, 0x50}, {0x60, 0x40}, {0x40, 0xff}, {0x4c, 0x4d}};
        for (int[] r : rings) {
            d.outb(r[0], 0x01);
            d.outb(r[1], 0x02);
            for (int i = 0; i < 5; i++) {
                nic.receive(f, f.length);
            }
        }
        // remote DMA that runs off the end of the address space wraps harmlessly
        d.outb(0xff, 0x08);
        d.outb(0xff, 0x09);
        d.outb(0x10, 0x0a);
        d.outb(0x0a, 0);
        for (int i = 0; i < 16; i++) {
            d.io.ioRead(0x10, 4);
        }
        assertEquals(0, bus.ram.outside, "the NE2000 never touches guest RAM");
    }
}
