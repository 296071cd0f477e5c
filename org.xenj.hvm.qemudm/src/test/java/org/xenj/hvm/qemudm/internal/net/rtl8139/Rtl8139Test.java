package org.xenj.hvm.qemudm.internal.net.rtl8139;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.xenj.hvm.qemudm.internal.net.EthernetFilter;
import org.xenj.hvm.qemudm.internal.net.TestBus;

/** The RTL8139 driven as Linux's 8139too drives it: probe, EEPROM MAC, hw_start, transmit, receive with wrap. */
class Rtl8139Test {

    static final byte[] MAC = TestBus.mac(0x00, 0x16, 0x3e, 0x12, 0x34, 0x56);
    static final byte[] PEER = TestBus.mac(0x00, 0x16, 0x3e, 0xaa, 0xbb, 0xcc);

    final TestBus bus = new TestBus(1 << 20);
    final Rtl8139 nic = new Rtl8139(MAC, bus);

    LinuxRtl8139 driver(int rxIndex, boolean noWrap) {
        nic.connect(bus.link());
        LinuxRtl8139 d = new LinuxRtl8139(nic, bus, rxIndex, noWrap);
        assertEquals(0x74000000, d.probe(), "TCR says RTL8139C");
        d.open(0);
        return d;
    }

    @Test
    void identityAndBarsAreWhat8139tooBindsTo() {
        assertEquals(0x10ec, Rtl8139.IDENTITY.vendor());
        assertEquals(0x8139, Rtl8139.IDENTITY.device());
        assertTrue(Rtl8139.IDENTITY.revision() < 0x20, "revision 0x20 and up is the C+ that 8139too leaves to 8139cp");
        assertEquals(0x020000, Rtl8139.IDENTITY.classCode());
        assertEquals(2, nic.bars().size());
        assertEquals(256, nic.bars().get(0).size(), "8139too wants at least 0x80 bytes of I/O");
        assertEquals(256, nic.bars().get(1).size());
        // the same registers through both BARs
        nic.bars().get(0).io().ioWrite(0x08, 4, 0x11223344);
        assertEquals(0x11223344L, nic.bars().get(1).mmio().mmioRead(0x08, 4));
    }

    @Test
    void probeReadsTheMacFromTheEepromAndTheLinkIsUp() {
        LinuxRtl8139 d = new LinuxRtl8139(nic, bus, 2, true);
        d.probe();
        assertArrayEquals(MAC, d.mac);
        assertNotEquals(0x8129, d.readEeprom(0, 8), "an 8-bit address read of a 93C46 is not word 0");
        assertEquals(0x8129, d.readEeprom(0, 6));
        d.open(0);
        assertTrue(d.linkUp());
        assertEquals(0, d.r8(0x58) & 0x04, "MSR: LINKB clear");
        assertEquals(0x0c, d.r8(0x37) & 0x0c, "RX and TX enabled");
        assertEquals(1, d.r8(0x37) & 1, "ring empty");
        assertEquals(0xfff0, d.r16(0x38), "CAPR starts at -16");
    }

    @Test
    void transmitsAFrameAndCompletesItsDescriptor() {
        LinuxRtl8139 d = driver(2, true);
        for (int n = 0; n < 10; n++) {
            byte[] f = TestBus.frame(PEER, MAC, 20 + 100 * n, n);
            assertTrue(d.xmit(f));
            assertFalse(bus.intx, "nothing sent on the vCPU thread");
            assertTrue(bus.sent.size() == n, "the frame waits for the NIC's executor");
            bus.runTasks();
            assertEquals(n + 1, bus.sent.size());
            byte[] wire = bus.sent.get(n);
            assertArrayEquals(f, Arrays.copyOf(wire, f.length));
            assertEquals(Math.max(f.length, 60), wire.length, "short frames are padded to 60");
            assertTrue(bus.intx, "TOK interrupts");
            d.interrupt();
            assertFalse(bus.intx);
            assertEquals(n + 1, d.dirtyTx, "the driver reaped the descriptor");
        }
        int tsad = d.r16(0x60);
        assertEquals(0xf00f, tsad & 0xf00f, "all four descriptors: OWN and TOK");
    }

    @Test
    void fourDescriptorsInFlightGoOutInOrder() {
        LinuxRtl8139 d = driver(2, true);
        for (int n = 0; n < 4; n++) {
            assertTrue(d.xmit(TestBus.frame(PEER, MAC, 50, n)));
        }
        assertFalse(d.xmit(TestBus.frame(PEER, MAC, 50, 9)), "ring of four full");
        bus.runTasks();
        assertEquals(4, bus.sent.size());
        for (int n = 0; n < 4; n++) {
            assertEquals((byte) n, bus.sent.get(n)[14]);
        }
        d.interrupt();
        assertEquals(4, d.dirtyTx);
    }

    @Test
    void receivedFramesLandInTheRingWithHeaderAndFcs() {
        LinuxRtl8139 d = driver(2, true);
        byte[] f = TestBus.frame(MAC, PEER, 100, 3);
        nic.receive(f, f.length);
        assertTrue(bus.intx, "ROK interrupts");
        assertEquals(0, d.r8(0x37) & 1, "BUFE clear");
        int header = bus.ram.read32(LinuxRtl8139.RX_RING);
        assertEquals(Rtl8139.RX_ROK | Rtl8139.RX_PAM, header & 0xffff);
        assertEquals(f.length + 4, header >>> 16);
        byte[] fcs = new byte[4];
        bus.ram.read(LinuxRtl8139.RX_RING + 4 + f.length, fcs, 0, 4);
        int want = EthernetFilter.fcs(f, 0, f.length);
        assertEquals(want, (fcs[0] & 0xff) | (fcs[1] & 0xff) << 8 | (fcs[2] & 0xff) << 16 | (fcs[3] & 0xff) << 24);
        List<byte[]> got = d.interrupt();
        assertEquals(1, got.size());
        assertArrayEquals(f, Arrays.copyOf(got.get(0), f.length));
        assertFalse(bus.intx);
        assertEquals(1, d.r8(0x37) & 1, "BUFE set again");
        assertEquals((f.length + 8 + 3) & ~3, d.r16(0x3a), "CBR past the frame, 4-byte aligned");
    }

    @Test
    void theRingWrapsInBothWrapModes() {
        for (boolean noWrap : new boolean[] {true, false}) {
            TestBus b = new TestBus(1 << 20);
            Rtl8139 n = new Rtl8139(MAC, b);
            n.connect(b.link());
            LinuxRtl8139 d = new LinuxRtl8139(n, b, 0, noWrap); // 8 KiB ring: wraps every few frames
            d.probe();
            d.open(0);
            int received = 0;
            for (int i = 0; i < 200; i++) {
                byte[] f = TestBus.frame(MAC, PEER, 60 + (i * 37) % 1400, i);
                n.receive(f, f.length);
                List<byte[]> got = d.interrupt();
                assertEquals(1, got.size(), "frame " + i + " noWrap=" + noWrap);
                assertArrayEquals(f, Arrays.copyOf(got.get(0), f.length), "frame " + i + " noWrap=" + noWrap);
                received++;
            }
            assertEquals(200, received);
            assertTrue(d.curRx > 8192 * 10, "the ring wrapped many times");
            assertEquals(0, d.rxErrors);
        }
    }

    @Test
    void aFullRingOverflowsAndCountsMissedFrames() {
        LinuxRtl8139 d = driver(0, true);
        byte[] f = TestBus.frame(MAC, PEER, 1000, 1);
        int accepted = 0;
        for (int i = 0; i < 20; i++) {
            nic.receive(f, f.length);
        }
        int missed = d.r32(0x4c);
        assertTrue(missed > 0, "frames beyond 8 KiB are missed");
        assertTrue((d.r16(0x3e) & Rtl8139.RXOVW) != 0);
        accepted = d.interrupt().size();
        assertEquals(20, accepted + missed);
        // the driver caught up: the ring takes frames again
        nic.receive(f, f.length);
        assertEquals(1, d.interrupt().size());
    }

    @Test
    void receiveFilterFollowsRcr() {
        LinuxRtl8139 d = driver(2, true);
        byte[] other = TestBus.frame(PEER, PEER, 50, 0);
        byte[] bcast = TestBus.frame(TestBus.BROADCAST, PEER, 50, 0);
        byte[] mcast = TestBus.frame(TestBus.mac(0x01, 0x00, 0x5e, 0x00, 0x00, 0x01), PEER, 50, 0);
        nic.receive(other, other.length);
        nic.receive(mcast, mcast.length);
        assertEquals(0, d.interrupt().size(), "another host's frame and an unsubscribed group are filtered");
        nic.receive(bcast, bcast.length);
        assertEquals(1, d.interrupt().size(), "broadcast with AB");
        // subscribe to 01:00:5e:00:00:01 as set_rx_mode does: bit (ether_crc >> 26) of MAR
        int bit = TestBus.etherCrc(mcast, 0, 6) >>> 26;
        int[] filter = new int[2];
        filter[bit >> 5] |= 1 << (bit & 31);
        d.w32(0x44, d.r32(0x44) | Rtl8139.AM);
        d.w32(0x08, filter[0]);
        d.w32(0x0c, filter[1]);
        nic.receive(mcast, mcast.length);
        List<byte[]> got = d.interrupt();
        assertEquals(1, got.size(), "subscribed multicast");
        // promiscuous
        d.w32(0x44, d.r32(0x44) | Rtl8139.AAP);
        nic.receive(other, other.length);
        assertEquals(1, d.interrupt().size(), "AAP takes every frame");
        // receiver off
        d.w8(0x37, 0x04);
        nic.receive(bcast, bcast.length);
        assertEquals(0, d.r16(0x3e) & Rtl8139.ROK);
    }

    @Test
    void loopbackModeReturnsTheFrameToTheReceiver() {
        LinuxRtl8139 d = driver(2, true);
        d.w32(0x40, d.r32(0x40) | (3 << 17));
        byte[] f = TestBus.frame(MAC, MAC, 80, 5);
        d.xmit(f);
        bus.runTasks();
        assertEquals(0, bus.sent.size(), "nothing on the wire");
        List<byte[]> got = d.interrupt();
        assertEquals(1, got.size());
        assertArrayEquals(f, Arrays.copyOf(got.get(0), f.length));
    }

    @Test
    void registersSurviveAChipResetButTheRingEmpties() {
        LinuxRtl8139 d = driver(2, true);
        byte[] f = TestBus.frame(MAC, PEER, 80, 5);
        nic.receive(f, f.length);
        d.chipReset();
        assertEquals(0, d.r16(0x3e));
        assertEquals(0, d.r16(0x3c));
        assertArrayEquals(MAC, nic.mac());
        assertFalse(bus.intx);
        nic.reset();
        assertEquals(0, d.r8(0x37) & 0x0c);
    }
}
