package org.xenj.hvm.qemudm.internal.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.xenj.hvm.qemudm.internal.net.ne2000.Ne2000;
import org.xenj.hvm.qemudm.internal.net.ne2000.Ne2000State;
import org.xenj.hvm.qemudm.internal.net.rtl8139.Rtl8139;
import org.xenj.hvm.qemudm.internal.net.rtl8139.Rtl8139State;

/**
 * A hostile guest: millions of random register writes (biased to the registers that carry guest
 * addresses, sizes and ring pointers, with addresses inside, across the end of and far outside its
 * RAM), random frames from the network, the NIC's executor run at random points, and state records
 * taken and restored on the way. Nothing may throw, nothing outside guest RAM may be touched.
 */
class NicFuzzTest {

    static final int RAM = 256 * 1024;
    static final byte[] MAC = TestBus.mac(0x00, 0x16, 0x3e, 0x01, 0x02, 0x03);

    @Test
    void rtl8139SurvivesRandomRegistersAndFrames() {
        long ops = Long.getLong("xenj.nic.fuzz.ops", 1_200_000);
        SplittableRandom r = new SplittableRandom(Long.getLong("xenj.nic.fuzz.seed", 0x8139));
        TestBus bus = new TestBus(RAM);
        Rtl8139 nic = new Rtl8139(MAC, bus);
        nic.connect(bus.link());
        long internal = 0, writes = 0, reads = 0, frames = 0, restores = 0;
        int[] hot = {0x10, 0x14, 0x18, 0x1c, 0x20, 0x24, 0x28, 0x2c, 0x30, 0x37, 0x38, 0x3c, 0x3e, 0x40, 0x44, 0x50, 0x62};
        long t0 = System.nanoTime();
        for (long i = 0; i < ops; i++) {
            try {
                int kind = r.nextInt(100);
                if (kind < 70) {
                    int off = r.nextInt(4) == 0 ? r.nextInt(256) : hot[r.nextInt(hot.length)];
                    int size = 1 << r.nextInt(3);
                    int value = value(r, off);
                    if (r.nextBoolean()) {
                        nic.bars().get(0).io().ioWrite(off, size, value);
                    } else {
                        nic.bars().get(1).mmio().mmioWrite(off, r.nextInt(5) == 0 ? 8 : size, value & 0xffffffffL);
                    }
                    writes++;
                } else if (kind < 85) {
                    nic.bars().get(0).io().ioRead(r.nextInt(256), 1 << r.nextInt(3));
                    reads++;
                } else if (kind < 93) {
                    byte[] f = randomFrame(r, MAC);
                    nic.receive(f, r.nextInt(20) == 0 ? r.nextInt(f.length + 10) : f.length);
                    frames++;
                } else if (kind < 99) {
                    bus.runTasks();
                } else if (r.nextInt(50) == 0) {
                    nic.restoreState(Rtl8139State.fromBytes(nic.saveState().toBytes()));
                    restores++;
                } else {
                    bus.busMaster = r.nextInt(10) != 0;
                }
            } catch (Exception | Error e) {
                if (++internal < 4) {
                    e.printStackTrace();
                }
            }
        }
        bus.runTasks();
        System.out.printf("[fuzz] rtl8139: %d ops in %.1f s: %d register writes, %d reads, %d frames offered, %d frames sent, "
                + "%d state round trips, %d accesses outside guest RAM, %d internal errors%n", ops, (System.nanoTime() - t0) / 1e9,
                writes, reads, frames, bus.sent.size(), restores, bus.ram.outside, internal);
        assertEquals(0, internal, "internal errors");
        assertEquals(0, bus.ram.outside, "DMA outside the guest's RAM was attempted");
        assertTrue(writes >= 800_000 || ops < 1_000_000);
    }

    @Test
    void ne2000SurvivesRandomRegistersAndFrames() {
        long ops = Long.getLong("xenj.nic.fuzz.ops", 1_200_000);
        SplittableRandom r = new SplittableRandom(Long.getLong("xenj.nic.fuzz.seed", 0x8029));
        TestBus bus = new TestBus(4096);
        Ne2000 nic = new Ne2000(MAC, bus);
        nic.connect(bus.link());
        long internal = 0, writes = 0, reads = 0, frames = 0, restores = 0;
        long t0 = System.nanoTime();
        for (long i = 0; i < ops; i++) {
            try {
                int kind = r.nextInt(100);
                if (kind < 70) {
                    int off = r.nextInt(32);
                    int size = off == 0x10 ? 1 << r.nextInt(3) : 1;
                    int value = r.nextInt(8) == 0 ? r.nextInt() : r.nextInt(4) == 0 ? 0x40 + r.nextInt(0x80) : r.nextInt(256);
                    if (off == 4 || off == 6) { // TPSR, TBCR1: mostly plausible, so that frames do go out
                        value = r.nextInt(4) == 0 ? r.nextInt(256) : off == 4 ? 0x40 + r.nextInt(0x80) : r.nextInt(7);
                    }
                    if (off == 0 && r.nextInt(3) == 0) {
                        value = (r.nextInt(4) << 6) | 0x22 | (r.nextBoolean() ? 0x04 : 0) | (r.nextInt(3) << 3);
                    }
                    nic.bars().get(0).io().ioWrite(off, size, value);
                    writes++;
                } else if (kind < 85) {
                    int off = r.nextInt(32);
                    nic.bars().get(0).io().ioRead(off, off == 0x10 ? 1 << r.nextInt(3) : 1);
                    reads++;
                } else if (kind < 93) {
                    byte[] f = randomFrame(r, MAC);
                    nic.receive(f, r.nextInt(20) == 0 ? r.nextInt(f.length + 10) : f.length);
                    frames++;
                } else if (kind < 99) {
                    bus.runTasks();
                } else if (r.nextInt(50) == 0) {
                    nic.restoreState(Ne2000State.fromBytes(nic.saveState().toBytes()));
                    restores++;
                }
            } catch (Exception | Error e) {
                if (++internal < 4) {
                    e.printStackTrace();
                }
            }
        }
        bus.runTasks();
        System.out.printf("[fuzz] ne2000: %d ops in %.1f s: %d register writes, %d reads, %d frames offered, %d frames sent, "
                + "%d state round trips, %d accesses outside guest RAM, %d internal errors%n", ops, (System.nanoTime() - t0) / 1e9,
                writes, reads, frames, bus.sent.size(), restores, bus.ram.outside, internal);
        assertEquals(0, internal, "internal errors");
        assertEquals(0, bus.ram.outside);
    }

    /** Register values a hostile driver would pick: addresses in, across and outside RAM, sizes around the limits. */
    private static int value(SplittableRandom r, int off) {
        switch (r.nextInt(6)) {
            case 0:
                return r.nextInt();
            case 1:
                return RAM - r.nextInt(4096); // across the end of RAM
            case 2:
                return r.nextInt(RAM);
            case 3:
                return off >= 0x10 && off < 0x20 ? r.nextInt(0x2000) | (r.nextBoolean() ? 0 : 0x2000) : r.nextInt(0x10000);
            case 4:
                return off == 0x37 ? 0x0c : off == 0x44 ? r.nextInt(0x2000) | 0x0f : r.nextInt(256);
            default:
                return 0xfff0 + r.nextInt(32);
        }
    }

    private static byte[] randomFrame(SplittableRandom r, byte[] own) {
        int len = r.nextInt(10) == 0 ? r.nextInt(4000) : 14 + r.nextInt(1510);
        byte[] f = new byte[len];
        r.nextBytes(f);
        if (len >= 6) {
            switch (r.nextInt(4)) {
                case 0 -> System.arraycopy(own, 0, f, 0, 6);
                case 1 -> java.util.Arrays.fill(f, 0, 6, (byte) 0xff);
                default -> {
                }
            }
        }
        return f;
    }
}
