package org.xenj.hvm.qemudm.internal.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.xenj.hvm.qemudm.internal.net.ne2000.Ne2000;
import org.xenj.hvm.qemudm.internal.net.ne2000.Ne2000State;
import org.xenj.hvm.qemudm.internal.net.rtl8139.Rtl8139;
import org.xenj.hvm.qemudm.internal.net.rtl8139.Rtl8139State;

/**
 * The NICs' state records: a NIC restored from the record of one in the middle of its work behaves
 * exactly like the original under the same traffic (same frames out, same registers, same record),
 * a frame handed to the NIC but not yet sent goes out after the hand-over, damage is refused.
 */
class NicStateTest {

    static final byte[] MAC = TestBus.mac(0x00, 0x16, 0x3e, 0x0a, 0x0b, 0x0c);
    static final byte[] PEER = TestBus.mac(0x00, 0x16, 0x3e, 0x01, 0x01, 0x01);

    /** A NIC under test with its bus, seen through its first BAR. */
    private record Dut(TestBus bus, Object nic) {
        void write(int off, int size, int v) {
            if (nic instanceof Rtl8139 r) {
                r.bars().get(1).mmio().mmioWrite(off, size, v & 0xffffffffL);
            } else {
                ((Ne2000) nic).bars().get(0).io().ioWrite(off, size, v);
            }
        }

        int read(int off, int size) {
            return nic instanceof Rtl8139 r ? (int) r.bars().get(1).mmio().mmioRead(off, size)
                    : ((Ne2000) nic).bars().get(0).io().ioRead(off, size);
        }

        void receive(byte[] f) {
            if (nic instanceof Rtl8139 r) {
                r.receive(f, f.length);
            } else {
                ((Ne2000) nic).receive(f, f.length);
            }
        }

        byte[] record() {
            return nic instanceof Rtl8139 r ? r.saveState().toBytes() : ((Ne2000) nic).saveState().toBytes();
        }
    }

    private static Dut rtl(byte[] ram) {
        TestBus b = new TestBus(1 << 20);
        System.arraycopy(ram, 0, b.ram.bytes, 0, ram.length);
        Rtl8139 n = new Rtl8139(MAC, b);
        n.connect(b.link());
        return new Dut(b, n);
    }

    private static Dut ne(byte[] ram) {
        TestBus b = new TestBus(4096);
        Ne2000 n = new Ne2000(MAC, b);
        n.connect(b.link());
        return new Dut(b, n);
    }

    /** Plausible traffic: the init writes Linux makes, then random register accesses and frames. */
    private static void traffic(Dut d, SplittableRandom r, int steps, List<Integer> reads) {
        boolean isRtl = d.nic() instanceof Rtl8139;
        for (int i = 0; i < steps; i++) {
            int k = r.nextInt(10);
            if (k < 4) {
                int off = isRtl ? new int[] {0x10, 0x14, 0x20, 0x24, 0x30, 0x37, 0x38, 0x3c, 0x3e, 0x44, 0x50}[r.nextInt(11)]
                        : r.nextInt(0x20);
                int v = isRtl ? (off == 0x10 || off == 0x14 ? 60 + r.nextInt(500) : off == 0x20 || off == 0x24 || off == 0x30
                        ? 0x1000 * (1 + r.nextInt(100)) : off == 0x37 ? 0x0c : off == 0x44 ? 0x8f : r.nextInt(0x10000))
                        : r.nextInt(256);
                d.write(off, isRtl ? 4 : 1, v);
            } else if (k < 7) {
                reads.add(d.read(isRtl ? r.nextInt(256) : r.nextInt(0x20), 1));
            } else if (k < 9) {
                byte[] f = TestBus.frame(r.nextBoolean() ? MAC : TestBus.BROADCAST, PEER, 46 + r.nextInt(1000), r.nextInt());
                d.receive(f);
            } else {
                d.bus().runTasks();
            }
        }
    }

    private static void sameBehaviour(boolean isRtl) throws IOException {
        for (long seed = 1; seed <= 20; seed++) {
            Dut a = isRtl ? rtl(new byte[0]) : ne(new byte[0]);
            SplittableRandom r = new SplittableRandom(seed);
            traffic(a, r, 300, new java.util.ArrayList<>());
            byte[] record = a.record();
            Dut b = isRtl ? rtl(a.bus().ram.bytes) : ne(new byte[0]);
            if (isRtl) {
                ((Rtl8139) b.nic()).restoreState(Rtl8139State.fromBytes(record));
            } else {
                ((Ne2000) b.nic()).restoreState(Ne2000State.fromBytes(record));
            }
            assertArrayEquals(record, b.record(), "the restored NIC's record, seed " + seed);
            a.bus().sent.clear();
            a.bus().runTasks(); // the original's queued work; the copy re-queued what was pending
            b.bus().runTasks();
            assertEquals(a.bus().sent.size(), b.bus().sent.size(), "pending frames, seed " + seed);
            assertEquals(a.bus().intx, b.bus().intx, "interrupt line, seed " + seed);
            List<Integer> ra = new java.util.ArrayList<>(), rb = new java.util.ArrayList<>();
            traffic(a, new SplittableRandom(seed * 31), 500, ra);
            traffic(b, new SplittableRandom(seed * 31), 500, rb);
            a.bus().runTasks();
            b.bus().runTasks();
            assertEquals(ra, rb, "register reads, seed " + seed);
            assertEquals(a.bus().sent.size(), b.bus().sent.size());
            for (int i = 0; i < a.bus().sent.size(); i++) {
                assertArrayEquals(a.bus().sent.get(i), b.bus().sent.get(i));
            }
            assertArrayEquals(a.record(), b.record(), "records after the same traffic, seed " + seed);
            assertArrayEquals(a.bus().ram.bytes, b.bus().ram.bytes, "guest RAM after the same traffic, seed " + seed);
        }
    }

    @Test
    void restoredRtl8139BehavesLikeTheOriginal() throws IOException {
        sameBehaviour(true);
    }

    @Test
    void restoredNe2000BehavesLikeTheOriginal() throws IOException {
        sameBehaviour(false);
    }

    @Test
    void aFrameHandedToTheRtl8139GoesOutAfterTheHandOver() throws IOException {
        Dut a = rtl(new byte[0]);
        a.write(0x37, 1, 0x0c);
        byte[] f = TestBus.frame(PEER, MAC, 100, 9);
        a.bus().ram.write(0x2000, f, 0, f.length);
        a.write(0x20, 4, 0x2000);
        a.write(0x10, 4, f.length);
        byte[] record = a.record(); // the old qemu-dm stops here: its executor never runs
        Dut b = rtl(a.bus().ram.bytes);
        ((Rtl8139) b.nic()).restoreState(Rtl8139State.fromBytes(record));
        b.bus().runTasks();
        assertEquals(1, b.bus().sent.size());
        assertArrayEquals(f, b.bus().sent.get(0));
    }

    @Test
    void aFrameHandedToTheNe2000GoesOutAfterTheHandOver() throws IOException {
        Dut a = ne(new byte[0]);
        a.write(0x00, 1, 0x22);
        a.write(0x0e, 1, 0x49);
        a.write(0x0a, 1, 64);
        a.write(0x0b, 1, 0);
        a.write(0x08, 1, 0);
        a.write(0x09, 1, 0x40);
        a.write(0x00, 1, 0x12);
        byte[] f = TestBus.frame(PEER, MAC, 50, 3);
        for (int i = 0; i < 64; i += 2) {
            a.write(0x10, 2, (f[i] & 0xff) | (f[i + 1] & 0xff) << 8);
        }
        a.write(0x04, 1, 0x40);
        a.write(0x05, 1, 64);
        a.write(0x06, 1, 0);
        a.write(0x00, 1, 0x26);
        byte[] record = a.record();
        Dut b = ne(new byte[0]);
        ((Ne2000) b.nic()).restoreState(Ne2000State.fromBytes(record));
        b.bus().runTasks();
        assertEquals(1, b.bus().sent.size());
        assertArrayEquals(f, java.util.Arrays.copyOf(b.bus().sent.get(0), f.length));
    }

    @Test
    void damagedRecordsAreRefused() {
        byte[] rtl = rtl(new byte[0]).record();
        byte[] ne = ne(new byte[0]).record();
        for (int cut : new int[] {0, 3, 7, 20, rtl.length - 1}) {
            assertThrows(IOException.class, () -> Rtl8139State.fromBytes(java.util.Arrays.copyOf(rtl, cut)));
        }
        for (int cut : new int[] {0, 3, 7, 20, ne.length - 1}) {
            assertThrows(IOException.class, () -> Ne2000State.fromBytes(java.util.Arrays.copyOf(ne, cut)));
        }
        byte[] v = rtl.clone();
        v[7] = 9;
        assertTrue(assertThrows(IOException.class, () -> Rtl8139State.fromBytes(v)).getMessage().contains("version 9"));
        NicsState both = new NicsState(List.of(new NicsState.Entry(NicSpec.RTL8139, rtl), new NicsState.Entry(NicSpec.NE2K_PCI, ne)));
        byte[] good = both.toBytes();
        SplittableRandom r = new SplittableRandom(5);
        int refused = 0;
        for (int i = 0; i < 2000; i++) {
            byte[] b = good.clone();
            b[r.nextInt(Math.min(b.length, 600))] ^= (byte) (1 << r.nextInt(8));
            try {
                NicsState.fromBytes(b);
            } catch (IOException e) {
                refused++;
            }
        }
        assertTrue(refused > 0);
        assertThrows(IOException.class, () -> NicsState.fromBytes(new NicsState(List.of(new NicsState.Entry("e1000", rtl))).toBytes()));
    }

    @Test
    void vifSpecsFollowXl() {
        NicSpec s = NicSpec.parse("'model=ne2k_pci,mac=00:16:3e:12:34:56,bridge=xenbr1'", "g", 0);
        assertEquals(NicSpec.NE2K_PCI, s.model());
        assertEquals("00:16:3e:12:34:56", Nics.format(s.mac()));
        assertEquals("xenbr1", s.bridge());
        NicSpec dflt = NicSpec.parse("", "g", 1);
        assertEquals(NicSpec.RTL8139, dflt.model(), "xl's default model");
        assertEquals("xenbr0", dflt.bridge());
        assertArrayEquals(dflt.mac(), NicSpec.parse("bridge=xenbr0", "g", 1).mac(), "the default MAC is stable");
        assertEquals(0x00, dflt.mac()[0]);
        assertEquals(0x16, dflt.mac()[1]);
        assertEquals(0x3e, dflt.mac()[2]);
        assertTrue(!NicSpec.parse("type=vif", "g", 0).emulated(), "type=vif: PV only");
        assertThrows(IllegalArgumentException.class, () -> NicSpec.parse("mac=01:00:5e:00:00:01", "g", 0));
        assertThrows(IllegalArgumentException.class, () -> NicSpec.parse("mac=nonsense", "g", 0));
        assertThrows(IllegalArgumentException.class, () -> NicSpec.parse("bridge=a/b", "g", 0));
    }
}
