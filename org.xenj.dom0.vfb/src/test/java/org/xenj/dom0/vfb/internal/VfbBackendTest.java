package org.xenj.dom0.vfb.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.xenj.dom0.vnc.api.Framebuffer;
import org.xenj.dom0.vnc.api.GuestDisplay;
import org.xenj.hypervisor.spi.backend.BackendInstance;

/**
 * The vfb/vkbd backend against a frontend that does what Linux's xen-fbfront and xen-kbdfront do
 * (shared page, page directory of frame numbers, update events; a granted ring page for keys), and
 * against hostile ones: bad frame numbers, a directory pointing at another domain's frames, absurd
 * layouts and rectangles, garbage ring indices — refused or clipped, never an exception out of a
 * callback, never another domain's pixels.
 */
class VfbBackendTest {

    static final String FE = "/local/domain/7/device/", BE = "/local/domain/0/backend/";
    static final long SHARED = 10, DIR = 11, FB0 = 100;
    static final int W = 800, H = 600, STRIDE = W * 4, MEM = 2 << 20, PORT = 5, KBD_PORT = 6, KBD_GREF = 8;
    /** What another domain's frames hold: a colour the frontend never draws. */
    static final int FOREIGN = 0xabcdef;

    /** Lays out fbfront's pages as Linux does on i386: shared page at SHARED, one directory page, MEM bytes of frames. */
    static void linuxFbfront(FakeFrontend f, int w, int h, int stride, int mem) {
        byte[] page = f.frame(SHARED);
        FakeFrontend.put32(page, FbProtocol.WIDTH, w);
        FakeFrontend.put32(page, FbProtocol.HEIGHT, h);
        FakeFrontend.put32(page, FbProtocol.LINE_LENGTH, stride);
        FakeFrontend.put32(page, FbProtocol.MEM_LENGTH, mem);
        page[FbProtocol.DEPTH] = 32;
        FakeFrontend.put32(page, FbProtocol.PD_32, (int) DIR);
        byte[] dir = f.frame(DIR);
        for (int i = 0; i < (mem + 4095) / 4096; i++) {
            FakeFrontend.put32(dir, 4 * i, (int) (FB0 + i));
            f.frame(FB0 + i);
        }
    }

    static void publishFb(FakeFrontend f) {
        f.xs.put(FE + "vfb/0/page-ref", Long.toString(SHARED));
        f.xs.put(FE + "vfb/0/event-channel", Integer.toString(PORT));
        f.xs.put(FE + "vfb/0/protocol", "x86_32-abi");
        f.xs.put(FE + "vfb/0/feature-update", "1");
        f.store().write(FE + "vfb/0/state", "3");
    }

    static void publishKbd(FakeFrontend f) {
        f.grants.put(KBD_GREF, new byte[4096]);
        f.xs.put(FE + "vkbd/0/page-gref", Integer.toString(KBD_GREF));
        f.xs.put(FE + "vkbd/0/event-channel", Integer.toString(KBD_PORT));
        f.xs.put(FE + "vkbd/0/request-abs-pointer", "1");
        f.store().write(FE + "vkbd/0/state", "3");
    }

    static void pixel(FakeFrontend f, int x, int y, int rgb) {
        int at = y * STRIDE + x * 4;
        FakeFrontend.put32(f.frame(FB0 + at / 4096), at % 4096, rgb);
    }

    static void sendUpdate(FakeFrontend f, int x, int y, int w, int h) {
        byte[] page = f.frame(SHARED);
        int prod = FbProtocol.int32(page, FbProtocol.OUT_PROD);
        int slot = FbProtocol.OUT_RING_OFFS + Integer.remainderUnsigned(prod, FbProtocol.OUT_RING_LEN) * 40;
        java.util.Arrays.fill(page, slot, slot + 40, (byte) 0);
        page[slot] = FbProtocol.TYPE_UPDATE;
        FakeFrontend.put32(page, slot + 4, x);
        FakeFrontend.put32(page, slot + 8, y);
        FakeFrontend.put32(page, slot + 12, w);
        FakeFrontend.put32(page, slot + 16, h);
        FakeFrontend.put32(page, FbProtocol.OUT_PROD, prod + 1);
    }

    @Test
    void aLinuxLikeFrontendConnectsAndItsUpdatesReachTheScreen() throws Exception {
        FakeFrontend f = new FakeFrontend("[ 'vnc=1, vncdisplay=3, vnclisten=127.0.0.1, vncpasswd=pw, sdl=0' ]");
        VfbBackend backend = new VfbBackend();
        BackendInstance instance = backend.attach(f);
        assertEquals("2", f.xs.get(BE + "vfb/7/0/state"), "InitWait");
        assertEquals("2", f.xs.get(BE + "vkbd/7/0/state"));
        assertEquals("1", f.xs.get(FE + "vfb/0/state"), "the frontend directory is written, state last");
        assertEquals("1", f.xs.get(BE + "vkbd/7/0/feature-abs-pointer"));
        GuestDisplay d = backend.display(7);
        assertEquals(Map.of("vnc", "1", "vncdisplay", "3", "vnclisten", "127.0.0.1", "vncpasswd", "pw"), d.settings());

        linuxFbfront(f, W, H, STRIDE, MEM);
        publishFb(f);
        assertEquals("4", f.xs.get(BE + "vfb/7/0/state"), "Connected: " + f.log);
        assertEquals("1", f.xs.get(BE + "vfb/7/0/request-update"));

        Framebuffer fb = new Framebuffer(640, 480);
        d.source().refresh(fb, false);
        assertEquals(W, fb.width());
        assertEquals(H, fb.height());
        fb.takeDamage();
        pixel(f, 10, 20, 0x123456);
        pixel(f, 799, 599, 0xffffff);
        d.source().refresh(fb, false);
        assertFalse(fb.hasDamage(), "nothing announced, nothing read");
        sendUpdate(f, 10, 20, 1, 1);
        sendUpdate(f, 799, 599, 1, 1);
        f.signal(PORT);
        assertEquals(2, FbProtocol.int32(f.frame(SHARED), FbProtocol.OUT_CONS), "events consumed");
        assertTrue(f.notifies > 0, "the frontend is told (it then flushes what it held back)");
        d.source().refresh(fb, false);
        assertEquals(0x123456, fb.pixels()[20 * W + 10]);
        assertEquals(0xffffff, fb.pixels()[599 * W + 799]);
        instance.detach();
        assertEquals(0, f.mapped, "every page unmapped");
    }

    @Test
    void theVfbEntryIsReadAsXlCfgAndTheToolstackWriteIt() {
        // the toolstack keeps lists as ["item", ...] (XlValue.rawForm); xl.cfg files use either quote
        assertEquals(Map.of("vnc", "1", "vnclisten", "0.0.0.0", "vncdisplay", "2"),
                VfbSpec.consoleSettings("[\"vnc=1, vnclisten=0.0.0.0, vncdisplay=2, keymap=de\", \"vnc=0\"]"));
        assertEquals(Map.of("vnc", "1", "vncunused", "1"), VfbSpec.consoleSettings("[ 'vnc=1,vncunused=1' ]"));
        assertEquals(Map.of("vnc", "1"), VfbSpec.consoleSettings("vnc=1"));
        assertEquals(Map.of(), VfbSpec.consoleSettings("[ ]"));
        assertEquals(Map.of(), VfbSpec.consoleSettings("[ 'sdl=1' ]"));
    }

    @Test
    void keysAndTheAbsolutePointerGoOnTheVkbdRing() throws Exception {
        FakeFrontend f = new FakeFrontend("[ 'vnc=1' ]");
        VfbBackend backend = new VfbBackend();
        backend.attach(f);
        publishKbd(f);
        assertEquals("4", f.xs.get(BE + "vkbd/7/0/state"), "Connected: " + f.log);
        GuestDisplay d = backend.display(7);
        d.input().key(30, true); // KEY_A
        d.input().key(30, false);
        d.input().pointer(400, 300, 1, W, H);
        byte[] ring = f.grants.get(KBD_GREF);
        assertEquals(4, FbProtocol.int32(ring, KbdDevice.IN_PROD), "key down, key up, position, BTN_LEFT");
        int e0 = KbdDevice.IN_RING_OFFS;
        assertEquals(KbdDevice.TYPE_KEY, ring[e0]);
        assertEquals(1, ring[e0 + 1]);
        assertEquals(30, FbProtocol.int32(ring, e0 + 4));
        assertEquals(0, ring[e0 + 40 + 1]);
        assertEquals(KbdDevice.TYPE_POS, ring[e0 + 80]);
        assertEquals(400, FbProtocol.int32(ring, e0 + 84));
        assertEquals(300, FbProtocol.int32(ring, e0 + 88));
        assertEquals(KbdDevice.BTN_LEFT, FbProtocol.int32(ring, e0 + 124));
        // a slow frontend: the ring fills, the rest waits and goes on once it read and signalled
        for (int i = 0; i < 200; i++) {
            d.input().key(31, i % 2 == 0);
        }
        assertEquals(4 + KbdDevice.IN_RING_LEN - 4, FbProtocol.int32(ring, KbdDevice.IN_PROD), "the ring is full");
        FakeFrontend.put32(ring, KbdDevice.IN_CONS, KbdDevice.IN_RING_LEN);
        f.signal(KBD_PORT);
        assertEquals(2 * KbdDevice.IN_RING_LEN, FbProtocol.int32(ring, KbdDevice.IN_PROD), "the backlog moved on");
        // one that never reads: past the backlog, events are dropped, never kept without bound
        for (int i = 0; i < 3 * KbdDevice.BACKLOG; i++) {
            d.input().key(31, i % 2 == 0);
        }
        assertEquals(2 * KbdDevice.IN_RING_LEN, FbProtocol.int32(ring, KbdDevice.IN_PROD));
    }

    @Test
    void aDirectoryPointingAtAnotherDomainsFramesIsRefused() throws Exception {
        FakeFrontend f = new FakeFrontend("[ 'vnc=1' ]");
        new VfbBackend().attach(f);
        linuxFbfront(f, W, H, STRIDE, MEM);
        f.otherDomainsFrames.put(5000L, new byte[4096]);
        f.frames.remove(FB0 + 77);
        FakeFrontend.put32(f.frame(DIR), 4 * 77, 5000);
        publishFb(f);
        assertEquals("5", f.xs.get(BE + "vfb/7/0/state"), "Closing");
        assertTrue(f.xs.get(BE + "vfb/7/0/error").contains("framebuffer page 77"), f.xs.get(BE + "vfb/7/0/error"));
        assertEquals(0, f.mapped, "nothing stays mapped after a refusal");
    }

    @Test
    void badPageRefsAndLayoutsAreRefusedWithAReason() throws Exception {
        String[][] cases = { { "page-ref", "999" }, { "page-ref", "x" }, { "event-channel", "-1" } };
        for (String[] c : cases) {
            FakeFrontend f = new FakeFrontend("[ 'vnc=1' ]");
            new VfbBackend().attach(f);
            linuxFbfront(f, W, H, STRIDE, MEM);
            f.xs.put(FE + "vfb/0/" + c[0], c[1]);
            f.xs.put(FE + "vfb/0/event-channel", c[0].equals("event-channel") ? c[1] : "5");
            f.xs.put(FE + "vfb/0/feature-update", "1");
            f.store().write(FE + "vfb/0/state", "3");
            assertEquals("5", f.xs.get(BE + "vfb/7/0/state"), c[0] + "=" + c[1]);
            assertNotNull(f.xs.get(BE + "vfb/7/0/error"));
        }
        int[][] layouts = { { 100000, 10, 400000, MEM }, { 800, 600, 3199, MEM }, { 800, 600, 3200, 1 << 20 }, { 0, 600, 3200, MEM },
                { 800, 600, 3200, Integer.MAX_VALUE }, { 800, -1, 3200, MEM }, { 800, 600, -4, MEM } };
        for (int[] l : layouts) {
            FakeFrontend f = new FakeFrontend("[ 'vnc=1' ]");
            new VfbBackend().attach(f);
            linuxFbfront(f, W, H, STRIDE, MEM);
            byte[] page = f.frame(SHARED);
            FakeFrontend.put32(page, FbProtocol.WIDTH, l[0]);
            FakeFrontend.put32(page, FbProtocol.HEIGHT, l[1]);
            FakeFrontend.put32(page, FbProtocol.LINE_LENGTH, l[2]);
            FakeFrontend.put32(page, FbProtocol.MEM_LENGTH, l[3]);
            publishFb(f);
            assertEquals("5", f.xs.get(BE + "vfb/7/0/state"), java.util.Arrays.toString(l) + ": " + f.log);
            assertEquals(0, f.mapped, "nothing held after a refusal");
        }
    }

    @Test
    void rectanglesOffScreenAndGarbageIndicesAreClipped() throws Exception {
        FakeFrontend f = new FakeFrontend("[ 'vnc=1' ]");
        VfbBackend backend = new VfbBackend();
        backend.attach(f);
        linuxFbfront(f, W, H, STRIDE, MEM);
        publishFb(f);
        FbScreen screen = ((PvConsole) backend.display(7)).screen;
        Framebuffer fb = new Framebuffer(1, 1);
        screen.refresh(fb, false);
        fb.takeDamage();
        sendUpdate(f, -5, -5, Integer.MAX_VALUE, Integer.MAX_VALUE);
        sendUpdate(f, Integer.MAX_VALUE, 0, Integer.MAX_VALUE, 10);
        sendUpdate(f, 5000, 5000, 10, 10);
        sendUpdate(f, 10, 10, -100, 5);
        f.signal(PORT);
        screen.refresh(fb, false);
        assertTrue(screen.updatesClipped >= 3, "clipped: " + screen.updatesClipped);
        assertEquals(W, fb.width());
        // out_prod far ahead: skipped to it, the whole screen redrawn, no exception
        FakeFrontend.put32(f.frame(SHARED), FbProtocol.OUT_PROD, 123456789);
        f.signal(PORT);
        assertEquals(123456789, FbProtocol.int32(f.frame(SHARED), FbProtocol.OUT_CONS));
        // a resize within the memory is taken, one past it is refused
        byte[] page = f.frame(SHARED);
        int prod = FbProtocol.int32(page, FbProtocol.OUT_PROD);
        int slot = FbProtocol.OUT_RING_OFFS + Integer.remainderUnsigned(prod, FbProtocol.OUT_RING_LEN) * 40;
        page[slot] = FbProtocol.TYPE_RESIZE;
        FakeFrontend.put32(page, slot + 4, 640);
        FakeFrontend.put32(page, slot + 8, 480);
        FakeFrontend.put32(page, slot + 12, 640 * 4);
        FakeFrontend.put32(page, slot + 16, 32);
        FakeFrontend.put32(page, slot + 20, 0);
        FakeFrontend.put32(page, FbProtocol.OUT_PROD, prod + 1);
        f.signal(PORT);
        screen.refresh(fb, false);
        assertEquals(640, fb.width());
        assertEquals(480, fb.height());
        slot = FbProtocol.OUT_RING_OFFS + Integer.remainderUnsigned(prod + 1, FbProtocol.OUT_RING_LEN) * 40;
        page[slot] = FbProtocol.TYPE_RESIZE;
        FakeFrontend.put32(page, slot + 4, 4000);
        FakeFrontend.put32(page, slot + 8, 4000);
        FakeFrontend.put32(page, slot + 12, 16000);
        FakeFrontend.put32(page, slot + 16, 32);
        FakeFrontend.put32(page, FbProtocol.OUT_PROD, prod + 2);
        f.signal(PORT);
        screen.refresh(fb, false);
        assertEquals(640, fb.width(), "a resize past the framebuffer's memory is refused");
        assertEquals(1, screen.resizesRefused);
    }

    @Test
    void theFrontendClosingUnmapsEverythingAndAReconnectWorks() throws Exception {
        FakeFrontend f = new FakeFrontend("[ 'vnc=1' ]");
        VfbBackend backend = new VfbBackend();
        backend.attach(f);
        linuxFbfront(f, W, H, STRIDE, MEM);
        publishFb(f);
        assertTrue(f.mapped > 500);
        f.store().write(FE + "vfb/0/state", "5");
        f.store().write(FE + "vfb/0/state", "6");
        assertEquals("6", f.xs.get(BE + "vfb/7/0/state"));
        assertEquals(0, f.mapped);
        assertNull(((PvConsole) backend.display(7)).screen.layout());
        f.store().write(FE + "vfb/0/state", "1");
        assertEquals("2", f.xs.get(BE + "vfb/7/0/state"), "offered again");
        publishFb(f);
        assertEquals("4", f.xs.get(BE + "vfb/7/0/state"));
    }

    /**
     * Fuzz: random shared pages (header fields, pd entries mixing the frontend's frames and another
     * domain's), random out events and indices, random vkbd in_cons; every callback must return
     * normally, and no pixel may ever come from a frame that is not the frontend's.
     */
    @Test
    void fuzzedSharedPagesRingsAndDirectoriesNeverThrowNorShowForeignPixels() throws Exception {
        Random rnd = new Random(14);
        int connected = 0, refused = 0, events = 0;
        for (int round = 0; round < 600; round++) {
            FakeFrontend f = new FakeFrontend("[ 'vnc=1' ]");
            VfbBackend backend = new VfbBackend();
            BackendInstance inst = backend.attach(f);
            int w = rnd.nextInt(4) == 0 ? rnd.nextInt() : 1 + rnd.nextInt(900);
            int h = rnd.nextInt(4) == 0 ? rnd.nextInt() : 1 + rnd.nextInt(700);
            int stride = rnd.nextInt(3) == 0 ? rnd.nextInt() : w * 4 + rnd.nextInt(3) * 4;
            int mem = rnd.nextInt(3) == 0 ? rnd.nextInt() : Math.max(4096, (int) Math.min(8L << 20, (long) Math.abs(stride) * Math.abs(h)));
            linuxFbfront(f, W, H, STRIDE, Math.min(MEM, Math.max(4096, mem)));
            byte[] page = f.frame(SHARED);
            FakeFrontend.put32(page, FbProtocol.WIDTH, w);
            FakeFrontend.put32(page, FbProtocol.HEIGHT, h);
            FakeFrontend.put32(page, FbProtocol.LINE_LENGTH, stride);
            FakeFrontend.put32(page, FbProtocol.MEM_LENGTH, mem);
            page[FbProtocol.DEPTH] = (byte) (rnd.nextInt(3) == 0 ? rnd.nextInt(256) : new int[] { 16, 24, 32 }[rnd.nextInt(3)]);
            for (int i = 0; i < rnd.nextInt(4); i++) { // pd entries into another domain's frames or nowhere
                long foreign = 5000 + rnd.nextInt(50);
                byte[] fp = f.otherDomainsFrames.computeIfAbsent(foreign, g -> new byte[4096]);
                for (int o = 0; o < 4096; o += 4) {
                    FakeFrontend.put32(fp, o, FOREIGN);
                }
                int at = FbProtocol.PD_32 + 4 * rnd.nextInt(3);
                if (rnd.nextBoolean()) {
                    FakeFrontend.put32(f.frame(DIR), 4 * rnd.nextInt(1024), (int) foreign);
                } else {
                    FakeFrontend.put32(page, at, (int) foreign);
                }
            }
            for (int i = 0; i < rnd.nextInt(8); i++) { // random bytes anywhere in the shared page
                page[rnd.nextInt(4096)] = (byte) rnd.nextInt();
            }
            f.xs.put(FE + "vfb/0/page-ref", rnd.nextInt(10) == 0 ? Long.toString(rnd.nextLong()) : Long.toString(SHARED));
            f.xs.put(FE + "vfb/0/event-channel", Integer.toString(PORT));
            f.xs.put(FE + "vfb/0/protocol", rnd.nextInt(5) == 0 ? "x86_64-abi" : "x86_32-abi");
            f.xs.put(FE + "vfb/0/feature-update", rnd.nextBoolean() ? "1" : "0");
            f.store().write(FE + "vfb/0/state", "3");
            publishKbd(f);
            boolean up = "4".equals(f.xs.get(BE + "vfb/7/0/state"));
            if (up) {
                connected++;
            } else {
                refused++;
            }
            Framebuffer fb = new Framebuffer(64, 64);
            GuestDisplay d = backend.display(7);
            for (int e = 0; e < 40; e++) {
                int prod = FbProtocol.int32(page, FbProtocol.OUT_PROD);
                int slot = FbProtocol.OUT_RING_OFFS + Integer.remainderUnsigned(prod, FbProtocol.OUT_RING_LEN) * 40;
                for (int i = 0; i < 40; i++) {
                    page[slot + i] = (byte) rnd.nextInt();
                }
                page[slot] = (byte) (rnd.nextInt(4) == 0 ? rnd.nextInt(256) : 2 + rnd.nextInt(2));
                FakeFrontend.put32(page, FbProtocol.OUT_PROD, rnd.nextInt(20) == 0 ? rnd.nextInt() : prod + 1);
                f.signal(PORT);
                events++;
                if (rnd.nextInt(5) == 0) {
                    FakeFrontend.put32(f.grants.get(KBD_GREF), KbdDevice.IN_CONS, rnd.nextInt());
                }
                d.input().key(rnd.nextInt(1000) - 100, rnd.nextBoolean());
                d.input().pointer(rnd.nextInt(), rnd.nextInt(), rnd.nextInt(32), rnd.nextInt(), rnd.nextInt());
                if (e % 10 == 0) {
                    d.source().refresh(fb, rnd.nextBoolean());
                    for (int p : fb.pixels()) {
                        assertTrue(p != FOREIGN, "another domain's pixels on the screen");
                    }
                }
            }
            inst.detach();
            assertEquals(0, f.mapped, "every mapping released");
        }
        System.out.printf("vfb fuzz: 600 frontends (%d connected, %d refused), %d out events, 0 exceptions%n", connected, refused, events);
        assertTrue(connected > 50 && refused > 50, connected + " connected, " + refused + " refused");
    }
}
