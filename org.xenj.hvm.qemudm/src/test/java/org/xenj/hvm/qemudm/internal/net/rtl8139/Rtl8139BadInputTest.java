package org.xenj.hvm.qemudm.internal.net.rtl8139;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.xenj.hvm.qemudm.internal.net.TestBus;

/** A hostile guest's descriptors and ring addresses: aborted or dropped, nothing outside its RAM touched. */
class Rtl8139BadInputTest {

    static final byte[] MAC = Rtl8139Test.MAC, PEER = Rtl8139Test.PEER;
    final TestBus bus = new TestBus(1 << 20);
    final Rtl8139 nic = new Rtl8139(MAC, bus);
    final LinuxRtl8139 d = new LinuxRtl8139(nic, bus, 2, true);

    Rtl8139BadInputTest() {
        nic.connect(bus.link());
        d.probe();
        d.open(0);
    }

    private void sendRaw(int entry, long addr, int tsd) {
        d.w32(0x20 + 4 * entry, (int) addr);
        d.w32(0x10 + 4 * entry, tsd);
        bus.runTasks();
    }

    @Test
    void transmitBuffersOutsideRamAbort() {
        long[] bad = {1 << 20, (1 << 20) - 10, 0xfffffff0L, 0xfee00000L};
        for (long addr : bad) {
            sendRaw(0, addr, 100);
            int tsd = d.r32(0x10);
            assertTrue((tsd & Rtl8139.TSD_TABT) != 0, "TABT for " + Long.toHexString(addr));
            assertTrue((d.r16(0x3e) & Rtl8139.TER) != 0);
            d.w16(0x3e, 0xffff);
        }
        assertEquals(0, bus.sent.size());
        assertEquals(0, bus.ram.outside, "no access outside guest RAM was attempted");
    }

    @Test
    void absurdSizesAbort() {
        for (int size : new int[] {0, 1793, 0x1fff}) {
            sendRaw(1, 0x1000, size);
            assertTrue((d.r32(0x14) & Rtl8139.TSD_TABT) != 0, "size " + size);
        }
        assertEquals(0, bus.sent.size());
    }

    @Test
    void withoutBusMasteringNothingMoves() {
        bus.busMaster = false;
        sendRaw(0, 0x1000, 100);
        assertTrue((d.r32(0x10) & Rtl8139.TSD_TABT) != 0);
        byte[] f = TestBus.frame(MAC, PEER, 100, 0);
        nic.receive(f, f.length);
        assertEquals(0, bus.ram.read32(LinuxRtl8139.RX_RING), "no DMA into the ring");
        assertEquals(0, bus.sent.size());
    }

    @Test
    void aRingOutsideRamDropsFramesWithSystemError() {
        byte[] f = TestBus.frame(MAC, PEER, 100, 0);
        for (long ring : new long[] {(1 << 20) - 100, 0xffff0000L, 1 << 20}) {
            d.w32(0x30, (int) ring);
            d.w16(0x3e, 0xffff);
            nic.receive(f, f.length);
            assertTrue((d.r16(0x3e) & Rtl8139.SERR) != 0, "SERR for ring at " + Long.toHexString(ring));
            assertEquals(1, d.r8(0x37) & 1, "nothing in the ring");
        }
        assertEquals(0, bus.ram.outside);
    }

    @Test
    void malformedFramesFromTheLinkAreIgnored() {
        nic.receive(new byte[5], 5);
        nic.receive(new byte[4000], 4000);
        nic.receive(new byte[20], 30); // length past the array
        assertEquals(0, d.r16(0x3e));
    }

    @Test
    void nonsenseCaprKeepsTheNicSane() {
        byte[] f = TestBus.frame(MAC, PEER, 200, 0);
        for (int capr : new int[] {0x1234, 0xffff, 0x7ff3, 3}) {
            d.w16(0x38, capr);
            for (int i = 0; i < 50; i++) {
                nic.receive(f, f.length);
            }
        }
        assertEquals(0, bus.ram.outside);
    }
}
