package org.xenj.dom0.vnc.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.xenj.dom0.vnc.api.Framebuffer;

/** The VNC server against a small RFB client: encodings, incremental updates, resize, auth, sharing, input. */
class RfbServerTest {

    final List<String> log = new CopyOnWriteArrayList<>();
    DisplayHost host;

    DisplayHost start(FakeDisplay d) {
        host = new DisplayHost(d, VncSettings.of(d.settings), log::add);
        host.start();
        assertTrue(host.port() >= 5900, "listening: " + log);
        return host;
    }

    @AfterEach
    void stop() {
        if (host != null) {
            host.close();
        }
    }

    @Test
    void rawAndZrleClientsSeeTheSameScreenAndOnlyWhatChanged() throws IOException {
        FakeDisplay d = new FakeDisplay(Map.of("vnc", "1", "vncshared", "1"), 320, 200);
        start(d);
        try (RfbTestClient raw = new RfbTestClient(host.port()); RfbTestClient z = new RfbTestClient(host.port())) {
            assertNull(raw.handshake(8, null, true));
            assertNull(z.handshake(3, null, true)); // RFB 3.3, as vncsnapshot speaks it
            assertEquals(320, raw.width);
            assertEquals("fake", raw.name);
            raw.setEncodings(0);
            z.setEncodings(16, 1, -223);
            raw.request(false, 0, 0, 320, 200);
            z.request(false, 0, 0, 320, 200);
            raw.readUpdate();
            z.readUpdate();
            assertArrayEquals(d.picture, raw.screen);
            assertArrayEquals(d.picture, z.screen);
            assertTrue(z.bytes < raw.bytes * 3 / 4, "ZRLE compresses: " + z.bytes + " vs raw " + raw.bytes);
            // one pixel changes: an incremental request gets one small rectangle
            int[] p = d.picture.clone();
            p[150 * 320 + 100] = 0xabcdef;
            d.set(320, 200, p);
            long before = raw.bytes;
            raw.request(true, 0, 0, 320, 200);
            raw.readUpdate();
            assertEquals(0xabcdef, raw.screen[150 * 320 + 100]);
            assertArrayEquals(p, raw.screen);
            assertTrue(raw.bytes - before <= 16 * 16 * 4, "one tile, not the screen: " + (raw.bytes - before));
        }
    }

    @Test
    void scrollingIsSentAsCopyRectAndResizeAsDesktopSize() throws IOException {
        FakeDisplay d = new FakeDisplay(Map.of("vnc", "1"), 320, 240);
        start(d);
        try (RfbTestClient c = new RfbTestClient(host.port())) {
            assertNull(c.handshake(8, null, false));
            c.setEncodings(16, 1, -223);
            c.request(false, 0, 0, 320, 240);
            c.readUpdate();
            // scroll up by 16 rows, a new line at the bottom
            int[] p = new int[320 * 240];
            System.arraycopy(d.picture, 16 * 320, p, 0, 224 * 320);
            java.util.Arrays.fill(p, 224 * 320, p.length, 0x112233);
            d.set(320, 240, p);
            c.request(true, 0, 0, 320, 240);
            c.readUpdate();
            assertTrue(c.copyRects >= 1, "a CopyRect for the scroll");
            assertArrayEquals(p, c.screen);
            d.set(640, 480, FakeDisplay.pattern(640, 480, 3));
            c.request(true, 0, 0, 320, 240);
            c.readUpdate();
            assertEquals(1, c.resizes);
            assertEquals(640, c.width);
            assertArrayEquals(d.picture, c.screen);
        }
    }

    @Test
    void passwordIsRequiredAndChecked() throws IOException {
        FakeDisplay d = new FakeDisplay(Map.of("vnc", "1", "vncpasswd", "s3cret"), 64, 64);
        start(d);
        try (RfbTestClient c = new RfbTestClient(host.port())) {
            assertEquals("authentication failed", c.handshake(8, "wrong", false));
        }
        try (RfbTestClient c = new RfbTestClient(host.port())) {
            assertNull(c.handshake(8, "s3cret", false));
            c.request(false, 0, 0, 64, 64);
            c.readUpdate();
            assertArrayEquals(d.picture, c.screen);
        }
    }

    @Test
    void aSecondClientIsRefusedUnlessShared() throws Exception {
        FakeDisplay d = new FakeDisplay(Map.of("vnc", "1"), 64, 64);
        start(d);
        try (RfbTestClient first = new RfbTestClient(host.port())) {
            assertNull(first.handshake(8, null, true));
            try (RfbTestClient second = new RfbTestClient(host.port())) {
                String why = second.handshake(8, null, true);
                assertTrue(why != null && why.contains("another client"), String.valueOf(why));
            }
        }
        waitFor(() -> host.endpoint().clients() == 0);
        try (RfbTestClient again = new RfbTestClient(host.port())) {
            assertNull(again.handshake(8, null, false), "free again once the first left");
        }
    }

    @Test
    void keysAndPointerReachTheSink() throws Exception {
        FakeDisplay d = new FakeDisplay(Map.of("vnc", "1"), 100, 100);
        start(d);
        try (RfbTestClient c = new RfbTestClient(host.port())) {
            assertNull(c.handshake(8, null, false));
            c.key('a', true);
            c.key('a', false);
            c.key('!', true); // a client that sends the character without Shift
            c.key('!', false);
            c.key(0xffe1, true); // Shift held by the client: no extra Shift
            c.key('A', true);
            c.key('A', false);
            c.key(0xffe1, false);
            c.key(0xff52, true); // Up
            c.key(0x1234567, true); // no such key: ignored
            c.pointer(1, 10, 20);
            waitFor(() -> d.input.size() >= 12);
            assertEquals(List.of("+30", "-30", "+42", "+2", "-2", "-42", "+42", "+30", "-30", "-42", "+103", "p10,20,1"),
                    d.input.subList(0, 12));
        }
    }

    @Test
    void noClientsNoRefreshes() throws Exception {
        FakeDisplay d = new FakeDisplay(Map.of("vnc", "1"), 64, 64);
        start(d);
        Thread.sleep(300);
        assertEquals(0, d.refreshes, "nobody watching: the picture is never asked for");
        Framebuffer shot = host.screenshot();
        assertArrayEquals(d.picture, shot.pixels());
    }

    @Test
    void aClientThatNeverReadsIsDropped() throws Exception {
        FakeDisplay d = new FakeDisplay(Map.of("vnc", "1", "vncshared", "1"), 1600, 1200);
        start(d);
        host.stallNanos = 1_000_000_000L;
        try (RfbTestClient lazy = new RfbTestClient(host.port())) {
            lazy.socket.setReceiveBufferSize(4096);
            assertNull(lazy.handshake(8, null, true));
            lazy.setEncodings(0);
            try {
                for (int i = 0; i < 40; i++) {
                    d.set(1600, 1200, FakeDisplay.pattern(1600, 1200, i + 1));
                    lazy.request(false, 0, 0, 1600, 1200);
                    Thread.sleep(100);
                }
            } catch (IOException droppedWhileAsking) {
                // the server hung up on us: what should happen
            }
            waitFor(() -> log.stream().anyMatch(l -> l.contains("stopped reading")));
        }
        host.stallNanos = DisplayHost.STALL_NANOS; // a loaded test host must not drop the good client
        try (RfbTestClient good = new RfbTestClient(host.port())) {
            assertNull(good.handshake(8, null, true));
            good.request(false, 0, 0, 10, 10);
            try {
                good.readUpdate();
            } catch (IOException e) {
                throw new AssertionError("good client not served; server log: " + log, e);
            }
        }
        assertEquals(0, host.internalErrors.get());
    }

    static void waitFor(java.util.function.BooleanSupplier c) throws InterruptedException {
        for (int i = 0; i < 300 && !c.getAsBoolean(); i++) {
            Thread.sleep(50);
        }
        assertTrue(c.getAsBoolean(), "condition not reached within 15 s");
    }
}
