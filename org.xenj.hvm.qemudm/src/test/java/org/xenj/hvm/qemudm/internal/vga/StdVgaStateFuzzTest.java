package org.xenj.hvm.qemudm.internal.vga;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.xenj.dom0.vnc.api.Framebuffer;
import org.xenj.hypervisor.spi.MmioHandler;

/** The state record round trip, damaged records, and a guest programming the VGA with nonsense. */
class StdVgaStateFuzzTest {

    @Test
    void restoredVgaShowsTheSamePictureAndRegisters() throws IOException {
        StdVga a = new StdVga(null);
        Random r = new Random(7);
        scribble(a, r, 20_000);
        StdVgaState s = a.saveState();
        StdVga b = new StdVga(null);
        b.restoreState(StdVgaState.fromBytes(s.toBytes()));
        assertEquals(s, b.saveState());
        Framebuffer fa = new Framebuffer(1, 1), fbb = new Framebuffer(1, 1);
        a.renderer().refresh(fa, true);
        b.renderer().refresh(fbb, true);
        assertEquals(fa.width(), fbb.width());
        assertArrayEquals(fa.pixels(), fbb.pixels());
        // both continue alike
        Random r1 = new Random(9), r2 = new Random(9);
        scribble(a, r1, 5_000);
        scribble(b, r2, 5_000);
        assertEquals(a.saveState(), b.saveState());
    }

    @Test
    void damagedRecordsAreRefused() {
        byte[] good = new StdVga(null).saveState().toBytes();
        Random r = new Random(3);
        int refused = 0, accepted = 0;
        StdVga target = new StdVga(null);
        for (int i = 0; i < 5_000; i++) {
            byte[] bad = good.clone();
            if (r.nextBoolean()) {
                bad = java.util.Arrays.copyOf(bad, r.nextInt(bad.length));
            } else {
                for (int k = 0; k < 1 + r.nextInt(4); k++) {
                    bad[r.nextInt(bad.length)] = (byte) r.nextInt();
                }
            }
            try {
                StdVgaState s = StdVgaState.fromBytes(bad);
                target.restoreState(s); // whatever it says, it is masked into range
                accepted++;
            } catch (IOException | IllegalArgumentException e) {
                refused++;
            }
        }
        assertEquals(5_000, refused + accepted);
        assertTrue(refused > 0);
        assertThrows(IOException.class, () -> StdVgaState.fromBytes(new byte[] { 1, 2, 3 }));
    }

    /** 10^6 random port, dispi, window and LFB accesses with a refresh every 10,000: 0 internal errors. */
    @Test
    void randomProgrammingNeverBreaksTheDeviceOrTheRenderer() {
        StdVga v = new StdVga(null);
        Random r = new Random(42);
        VgaRenderer renderer = v.renderer();
        Framebuffer fb = new Framebuffer(1, 1);
        int ops = 1_000_000, errors = 0;
        for (int i = 0; i < ops; i += 10_000) {
            try {
                scribble(v, r, 10_000);
                renderer.refresh(fb, r.nextInt(5) == 0);
                assertTrue(fb.width() >= 1 && fb.width() <= Framebuffer.MAX_WIDTH);
                assertTrue(fb.height() >= 1 && fb.height() <= Framebuffer.MAX_HEIGHT);
                fb.takeDamage();
            } catch (RuntimeException e) {
                errors++;
                e.printStackTrace();
            }
        }
        System.out.println("stdvga fuzz: " + ops + " accesses, " + errors + " internal errors");
        assertEquals(0, errors);
    }

    static void scribble(StdVga v, Random r, int n) {
        MmioHandler window = v.legacyWindow(), lfb = v.bars().get(0).mmio(), mmio = v.bars().get(2).mmio();
        for (int i = 0; i < n; i++) {
            int size = 1 << r.nextInt(3);
            switch (r.nextInt(6)) {
                case 0 -> v.vgaPorts().ioWrite(r.nextInt(StdVga.VGA_PORT_COUNT), 1, r.nextInt(256));
                case 1 -> v.vgaPorts().ioRead(r.nextInt(StdVga.VGA_PORT_COUNT), 1);
                case 2 -> {
                    v.vbePorts().ioWrite(0, 2, r.nextInt(16));
                    v.vbePorts().ioWrite(1, 2, r.nextBoolean() ? r.nextInt(0x10000) : r.nextInt(2048));
                }
                case 3 -> window.mmioWrite(r.nextInt(0x20000), size, r.nextLong());
                case 4 -> lfb.mmioWrite(r.nextInt(16 << 20), size, r.nextLong());
                default -> {
                    if (r.nextBoolean()) {
                        mmio.mmioWrite(r.nextInt(0x1000), size, r.nextLong());
                    } else {
                        window.mmioRead(r.nextInt(0x20000), size);
                    }
                }
            }
        }
    }
}
