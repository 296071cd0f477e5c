package org.xenj.dom0.vnc.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A device's bundle update as the VNC service sees it: the domain's {@code GuestDisplay} service
 * goes away and a new instance of it comes (the vfb backend or qemu-dm handed their state over).
 * The console keeps its port and its clients, shows the new instance's picture, sends it the
 * keys; input while no instance is there is dropped, never sent to the one that left. A console
 * nobody takes over within the grace is closed; different settings still make a new console.
 */
class VncDisplayHandOverTest {

    final VncService service = new VncService();

    @AfterEach
    void stop() {
        service.deactivate();
    }

    @Test
    void aClientStaysConnectedWhileTheDisplayIsReplacedByItsNextInstance() throws Exception {
        Map<String, String> settings = Map.of("vnc", "1");
        FakeDisplay before = new FakeDisplay(settings, 320, 200);
        service.addDisplay(before);
        int port = service.endpoint(7).orElseThrow().port();
        try (RfbTestClient c = new RfbTestClient(port)) {
            assertNull(c.handshake(8, null, false));
            c.setEncodings(0);
            c.request(false, 0, 0, 320, 200);
            c.readUpdate();
            assertArrayEquals(before.picture, c.screen);

            service.removeDisplay(before); // the old bundle's service goes
            c.key(0x61, true); // 'a' while nobody draws the console
            c.request(false, 0, 0, 320, 200); // a round trip: the server read the key before it answers
            c.readUpdate();
            assertArrayEquals(before.picture, c.screen, "the last picture stays while the display is away");
            FakeDisplay after = new FakeDisplay(settings, 320, 200);
            after.set(320, 200, FakeDisplay.pattern(320, 200, 99));
            service.addDisplay(after); // the updated bundle's instance, with the state handed over
            assertEquals(port, service.endpoint(7).orElseThrow().port(), "the same port");
            assertEquals(1, service.endpoint(7).orElseThrow().clients(), "the client was kept");

            c.request(true, 0, 0, 320, 200);
            c.readUpdate();
            assertArrayEquals(after.picture, c.screen, "the new instance's picture, without a new connection");
            c.key(0x62, true); // 'b'
            c.request(true, 0, 0, 320, 200); // a round trip: the key was read before this request's answer
            after.set(320, 200, FakeDisplay.pattern(320, 200, 5));
            c.readUpdate();
            assertEquals(List.of("+48"), after.input, "the key after the take-over reaches the new instance (KEY_B)");
            assertTrue(before.input.isEmpty(), "nothing reaches the instance that left: " + before.input);
        }
    }

    @Test
    void aConsoleNobodyTakesOverIsClosedAndOtherSettingsMakeANewOne() throws Exception {
        FakeDisplay d = new FakeDisplay(Map.of("vnc", "1"), 64, 64);
        service.addDisplay(d);
        int port = service.endpoint(7).orElseThrow().port();
        service.removeDisplay(d);
        assertEquals(port, service.endpoint(7).orElseThrow().port(), "kept during the grace");
        service.closeIfStillOrphaned(7, service.host(7));
        assertTrue(service.endpoint(7).isEmpty(), "closed when the grace ended without a successor");

        FakeDisplay a = new FakeDisplay(Map.of("vnc", "1"), 64, 64);
        service.addDisplay(a);
        int first = service.endpoint(7).orElseThrow().port();
        FakeDisplay b = new FakeDisplay(Map.of("vnc", "1", "vncpasswd", "secret"), 64, 64);
        service.addDisplay(b);
        assertTrue(service.endpoint(7).orElseThrow().password(), "other settings: a new console replaced the old");
        try (RfbTestClient c = new RfbTestClient(service.endpoint(7).orElseThrow().port())) {
            assertTrue(c.handshake(8, null, false) != null, "the new console wants the password");
        }
        assertTrue(first >= 5900);
    }

    @Test
    void aNewDomainAskingForTheKeptPortGetsIt() throws Exception {
        FakeDisplay gone = new FakeDisplay(Map.of("vnc", "1", "vncdisplay", "37"), 64, 64);
        service.addDisplay(gone);
        assertEquals(5937, service.endpoint(7).orElseThrow().port());
        service.removeDisplay(gone); // its domain was destroyed: kept for a successor that does not come
        FakeDisplay next = new FakeDisplay(Map.of("vnc", "1", "vncdisplay", "37"), 64, 64);
        next.domid = 8;
        service.addDisplay(next);
        assertEquals(5937, service.endpoint(8).orElseThrow().port(), "the port is the new domain's at once, not after the grace");
        assertTrue(service.endpoint(7).isEmpty(), "the kept console was closed for it");
    }
}
