package org.xenj.dom0.vfb.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenj.dom0.vfb.internal.VfbBackendTest.BE;
import static org.xenj.dom0.vfb.internal.VfbBackendTest.FE;
import static org.xenj.dom0.vfb.internal.VfbBackendTest.H;
import static org.xenj.dom0.vfb.internal.VfbBackendTest.KBD_GREF;
import static org.xenj.dom0.vfb.internal.VfbBackendTest.KBD_PORT;
import static org.xenj.dom0.vfb.internal.VfbBackendTest.MEM;
import static org.xenj.dom0.vfb.internal.VfbBackendTest.PORT;
import static org.xenj.dom0.vfb.internal.VfbBackendTest.SHARED;
import static org.xenj.dom0.vfb.internal.VfbBackendTest.STRIDE;
import static org.xenj.dom0.vfb.internal.VfbBackendTest.W;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;
import org.xenj.dom0.vnc.api.Framebuffer;
import org.xenj.dom0.vnc.api.GuestDisplay;
import org.xenj.hypervisor.spi.backend.BackendInstance;

/**
 * What a {@code bundle:update} of the vfb bundle does to a live console: the running backend's
 * {@link VfbState} record is taken ({@link BackendInstance#saveState}), it is detached, and a new
 * backend instance takes the domain over from the record ({@code attach(ctx, state)}), as the
 * hypervisor core does for every backend kind. The frontend must see no reconnect (xenstore
 * untouched), the screen must go on showing its pixels and updates, keys must go on the same ring
 * at the next index, and a record of another version, of another kind or damaged must be refused
 * with the reason and nothing mapped or bound.
 */
class VfbHandOverTest {

    /** A Linux-like frontend connected to a backend, with screen content, a resize, keys and pointer used. */
    private static BackendInstance liveConsole(FakeFrontend f, VfbBackend backend) throws Exception {
        BackendInstance instance = backend.attach(f);
        VfbBackendTest.linuxFbfront(f, W, H, STRIDE, MEM);
        VfbBackendTest.publishFb(f);
        VfbBackendTest.publishKbd(f);
        assertEquals("4", f.xs.get(BE + "vfb/7/0/state"), "vfb Connected: " + f.log);
        assertEquals("4", f.xs.get(BE + "vkbd/7/0/state"), "vkbd Connected: " + f.log);
        GuestDisplay d = backend.display(7);
        VfbBackendTest.pixel(f, 5, 5, 0x112233);
        VfbBackendTest.sendUpdate(f, 5, 5, 1, 1);
        f.signal(PORT);
        d.input().key(30, true);
        d.input().key(30, false);
        d.input().pointer(400, 300, 1, W, H); // left button held across the hand-over
        return instance;
    }

    private static int kbdInProd(FakeFrontend f) {
        return FbProtocol.int32(f.grants.get(KBD_GREF), KbdDevice.IN_PROD);
    }

    @Test
    void aLiveConsoleIsHandedToANewBackendAndTheScreenAndKeyboardGoOn() throws Exception {
        FakeFrontend f = new FakeFrontend("[ 'vnc=1' ]");
        VfbBackend old = new VfbBackend();
        BackendInstance instance = liveConsole(f, old);
        int prodBefore = kbdInProd(f);
        assertEquals(4, prodBefore, "key down, key up, pointer position, left button down");

        // the frontend draws and queues an update while the hand-over is under way
        byte[] state = instance.saveState();
        VfbBackendTest.pixel(f, 700, 500, 0x445566);
        VfbBackendTest.sendUpdate(f, 700, 500, 1, 1);
        f.signal(PORT);
        assertEquals(1, FbProtocol.int32(f.frame(SHARED), FbProtocol.OUT_CONS), "the saved backend takes nothing more from the ring");
        old.display(7).input().key(31, true);
        assertEquals(prodBefore, kbdInProd(f), "nor puts anything on the vkbd ring");
        instance.detach();
        assertEquals(0, f.mapped, "the old backend let go of every page");
        assertTrue(f.ports.isEmpty(), "and of both ports");
        TreeMap<String, String> xenstore = new TreeMap<>(f.xs);

        VfbBackend next = new VfbBackend();
        BackendInstance taken = next.attach(f, state);
        assertEquals(xenstore, f.xs, "the new backend writes nothing to xenstore: the frontend sees no reconnect");
        assertTrue(f.ports.containsKey(PORT) && f.ports.containsKey(KBD_PORT), "both of the frontend's ports bound again");
        assertEquals(2, FbProtocol.int32(f.frame(SHARED), FbProtocol.OUT_CONS), "the update queued meanwhile is taken at once");
        assertTrue(f.log.stream().anyMatch(l -> l.startsWith("vfb: taken over, 800x600x32")), f.log.toString());

        GuestDisplay d = next.display(7);
        Framebuffer fb = new Framebuffer(W, H);
        d.source().refresh(fb, false);
        assertEquals(0x112233, fb.pixels()[5 * W + 5], "what was on the screen before");
        assertEquals(0x445566, fb.pixels()[500 * W + 700], "what was drawn during the hand-over");
        fb.takeDamage();
        VfbBackendTest.pixel(f, 1, 2, 0x778899);
        VfbBackendTest.sendUpdate(f, 1, 2, 1, 1);
        f.signal(PORT);
        d.source().refresh(fb, false);
        assertEquals(0x778899, fb.pixels()[2 * W + 1], "updates after the hand-over reach the screen");

        d.input().key(48, true); // KEY_B at the next index of the same ring
        byte[] ring = f.grants.get(KBD_GREF);
        assertEquals(prodBefore + 1, kbdInProd(f));
        int slot = KbdDevice.IN_RING_OFFS + prodBefore * FbProtocol.EVENT_SIZE;
        assertEquals(KbdDevice.TYPE_KEY, ring[slot]);
        assertEquals(48, FbProtocol.int32(ring, slot + 4));
        d.input().pointer(400, 300, 0, W, H); // releasing the button held before the hand-over sends its key-up
        slot += 2 * FbProtocol.EVENT_SIZE;
        assertEquals(KbdDevice.TYPE_KEY, ring[slot], "BTN_LEFT released: the new backend knew it was down");
        assertEquals(KbdDevice.BTN_LEFT, FbProtocol.int32(ring, slot + 4));
        assertEquals(0, ring[slot + 1]);

        // and again: a second update carries the counters on
        byte[] second = taken.saveState();
        VfbState s = VfbState.fromBytes(second);
        assertEquals(3, s.fb().updatesTaken(), "every update of both instances counted");
        assertEquals(7, s.kbd().sent(), "every vkbd event of both instances counted");
        assertEquals(0, s.kbd().connection().buttons());
        taken.detach();
        assertEquals(0, f.mapped);
    }

    @Test
    void aResizedScreenAndWaitingKeysAreKept() throws Exception {
        FakeFrontend f = new FakeFrontend("[ 'vnc=1' ]");
        VfbBackend old = new VfbBackend();
        BackendInstance instance = liveConsole(f, old);
        // fbcon's set_par: a smaller screen in the same memory
        byte[] page = f.frame(SHARED);
        int slot = FbProtocol.OUT_RING_OFFS + FbProtocol.int32(page, FbProtocol.OUT_PROD) % FbProtocol.OUT_RING_LEN * 40;
        page[slot] = FbProtocol.TYPE_RESIZE;
        FakeFrontend.put32(page, slot + 4, 640);
        FakeFrontend.put32(page, slot + 8, 480);
        FakeFrontend.put32(page, slot + 12, 640 * 4);
        FakeFrontend.put32(page, slot + 16, 32);
        FakeFrontend.put32(page, FbProtocol.OUT_PROD, FbProtocol.int32(page, FbProtocol.OUT_PROD) + 1);
        f.signal(PORT);
        // a guest that stopped reading its keyboard: the ring fills, the rest waits in the backlog
        GuestDisplay d = old.display(7);
        for (int i = 0; i < KbdDevice.IN_RING_LEN + 5; i++) {
            d.input().key(2 + i % 10, true);
        }
        VfbState s = VfbState.fromBytes(instance.saveState());
        instance.detach();
        assertEquals(640, s.fb().connection().layout().width());
        assertEquals(1, s.fb().resizes());
        int waiting = s.kbd().connection().backlog().size();
        assertEquals(9, waiting, "51 slots hold 4 earlier events and 47 keys; 9 of the 56 wait");

        VfbBackend next = new VfbBackend();
        next.attach(f, s.toBytes());
        Framebuffer fb = new Framebuffer(W, H);
        next.display(7).source().refresh(fb, false);
        assertEquals(640, fb.width(), "the resized layout, not the shared page's first one");
        assertEquals(480, fb.height());
        // the frontend reads its ring and signals: the events that waited across the hand-over go on it, in order
        byte[] ring = f.grants.get(KBD_GREF);
        int prod = kbdInProd(f);
        FakeFrontend.put32(ring, KbdDevice.IN_CONS, prod);
        f.signal(KBD_PORT);
        assertEquals(prod + waiting, kbdInProd(f));
        byte[] first = s.kbd().connection().backlog().get(0);
        int at = KbdDevice.IN_RING_OFFS + Integer.remainderUnsigned(prod, KbdDevice.IN_RING_LEN) * FbProtocol.EVENT_SIZE;
        assertArrayEquals(first, java.util.Arrays.copyOfRange(ring, at, at + FbProtocol.EVENT_SIZE));
    }

    @Test
    void aConsoleNotYetConnectedOrRefusedIsHandedOverAsItIs() throws Exception {
        FakeFrontend f = new FakeFrontend("[ 'vnc=1' ]");
        BackendInstance instance = new VfbBackend().attach(f);
        f.xs.put(FE + "vfb/0/page-ref", "999"); // not the frontend's RAM
        f.xs.put(FE + "vfb/0/event-channel", Integer.toString(PORT));
        f.store().write(FE + "vfb/0/state", "3");
        assertEquals("5", f.xs.get(BE + "vfb/7/0/state"), "refused, Closing");
        VfbState s = VfbState.fromBytes(instance.saveState());
        instance.detach();
        assertNull(s.fb().connection());
        assertTrue(s.fb().refused().contains("frame 999"), s.fb().refused());
        assertNull(s.kbd().connection());
        assertNull(s.kbd().refused());

        VfbBackend next = new VfbBackend();
        next.attach(f, s.toBytes());
        assertEquals(0, f.mapped);
        // vkbd connects to the new backend as to the old one
        VfbBackendTest.publishKbd(f);
        assertEquals("4", f.xs.get(BE + "vkbd/7/0/state"), f.log.toString());
        next.display(7).input().key(30, true);
        assertEquals(1, kbdInProd(f));
        // the refused vfb reconnects after the frontend starts over
        f.store().write(FE + "vfb/0/state", "1");
        assertEquals("2", f.xs.get(BE + "vfb/7/0/state"), "InitWait again");
        VfbBackendTest.linuxFbfront(f, W, H, STRIDE, MEM);
        VfbBackendTest.publishFb(f);
        assertEquals("4", f.xs.get(BE + "vfb/7/0/state"), f.log.toString());
    }

    @Test
    void foreignVersionsDamagedRecordsAndVanishedPagesAreRefusedWithTheReason() throws Exception {
        FakeFrontend f = new FakeFrontend("[ 'vnc=1' ]");
        BackendInstance instance = liveConsole(f, new VfbBackend());
        byte[] good = instance.saveState();
        instance.detach();
        TreeMap<String, String> xenstore = new TreeMap<>(f.xs);

        Map<String, byte[]> bad = new java.util.LinkedHashMap<>();
        bad.put("vfb state version 2 is not supported (this vfb backend reads 1)", withVersion(good, 2));
        bad.put("not a vfb state record", mutate(good, 0, 0x01));
        bad.put("vfb state record is damaged: checksum mismatch", mutate(good, good.length / 2, 0x10));
        bad.put("vfb state record is too short (3 bytes)", new byte[] {'X', 'J', 'F'});
        bad.put("vfb state record is damaged: too short", resealed(java.util.Arrays.copyOf(good, good.length - 12)));
        bad.put("vfb state record is damaged: vfb state: event channel port 0", resealed(withPort(good, 0)));
        for (Map.Entry<String, byte[]> e : bad.entrySet()) {
            IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> new VfbBackend().attach(f, e.getValue()),
                    e.getKey());
            assertTrue(refused.getMessage().startsWith("handed-over state refused: " + e.getKey()), refused.getMessage());
            assertEquals(0, f.mapped, "nothing mapped after: " + e.getKey());
            assertTrue(f.ports.isEmpty(), "nothing bound after: " + e.getKey());
            assertEquals(xenstore, f.xs, "xenstore untouched after: " + e.getKey());
        }

        // a well-formed record whose pages the frontend no longer owns (it ballooned them out): refused, nothing kept
        f.frames.remove(VfbBackendTest.FB0 + 3);
        IllegalStateException gone = assertThrows(IllegalStateException.class, () -> new VfbBackend().attach(f, good));
        assertTrue(gone.getMessage().startsWith("vfb: cannot take over the framebuffer (page-ref 10, port 5): framebuffer page 3"),
                gone.getMessage());
        assertEquals(0, f.mapped);
        assertTrue(f.ports.isEmpty());
        f.frame(VfbBackendTest.FB0 + 3);
        f.grants.remove(KBD_GREF);
        IllegalStateException kbdGone = assertThrows(IllegalStateException.class, () -> new VfbBackend().attach(f, good));
        assertTrue(kbdGone.getMessage().startsWith("vkbd: cannot take over the ring (page-gref 8, port 6)"), kbdGone.getMessage());
        assertEquals(0, f.mapped, "the framebuffer taken before the vkbd failed is let go too");
        assertTrue(f.ports.isEmpty());
    }

    @Test
    void theRecordRoundTripsAndRefusesWhatNoBackendCouldHold() throws Exception {
        FbProtocol.Layout l = FbProtocol.layout(800, 600, 3200, 32, 0, 2 << 20);
        VfbState s = new VfbState(new VfbState.Fb(null, new VfbState.FbConnection(12772, 7, false, true, -5, l), 1, 2, 3, 4, 5, 6, 7),
                new VfbState.Kbd(null, new VfbState.KbdConnection(true, 8, 8, true, Integer.MIN_VALUE, 5, 10, 20,
                        List.of(new byte[40], new byte[40])), 9, 10));
        assertEquals(s, VfbState.fromBytes(s.toBytes()));
        VfbState idle = new VfbState(new VfbState.Fb("refused: why", null, 0, 0, 0, 0, 0, 0, 0), new VfbState.Kbd(null, null, 0, 0));
        assertEquals(idle, VfbState.fromBytes(idle.toBytes()));
        assertThrows(IllegalArgumentException.class, () -> new VfbState.FbConnection(1, 7, false, true, 0,
                new FbProtocol.Layout(800, 600, 3200, 32, 0, 4096)), "a layout past its memory");
        assertThrows(IllegalArgumentException.class, () -> new VfbState.Fb("why", new VfbState.FbConnection(1, 7, false, true, 0, l),
                0, 0, 0, 0, 0, 0, 0), "connected and refused");
        assertThrows(IllegalArgumentException.class, () -> new VfbState.KbdConnection(true, 8, 8, true, 0, 8, -1, -1, List.of()),
                "a fourth button");
        assertThrows(IllegalArgumentException.class, () -> new VfbState.KbdConnection(true, 8, 8, true, 0, 0, -1, -1,
                List.of(new byte[39])), "a short event");
        assertThrows(IllegalArgumentException.class, () -> new VfbState.KbdConnection(false, 8, 1 << 17, true, 0, 0, -1, -1, List.of()),
                "a port out of range");
    }

    /** The record with another version number and a valid checksum: refused for its version, not as damage. */
    static byte[] withVersion(byte[] record, int version) {
        byte[] b = record.clone();
        Bytes.putBe32(b, 4, version);
        return resealed(b);
    }

    /** The connected vfb's port field (after magic, version, flags and seven counters, the page-ref). */
    static byte[] withPort(byte[] record, int port) {
        byte[] b = record.clone();
        Bytes.putBe32(b, 4 + 4 + 1 + 7 * 8 + 8, port);
        return b;
    }

    static byte[] mutate(byte[] record, int at, int xor) {
        byte[] b = record.clone();
        b[at] ^= (byte) xor;
        return b;
    }

    /** A new CRC32C over everything but the last four bytes. */
    static byte[] resealed(byte[] b) {
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(b, 0, b.length - 4);
        Bytes.putBe32(b, b.length - 4, (int) crc.getValue());
        return b;
    }

    private static final class Bytes {
        static void putBe32(byte[] b, int o, int v) {
            b[o] = (byte) (v >>> 24);
            b[o + 1] = (byte) (v >>> 16);
            b[o + 2] = (byte) (v >>> 8);
            b[o + 3] = (byte) v;
        }
    }
}
