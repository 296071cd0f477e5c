package org.xenj.example.pvtest;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.spi.backend.BackendContext;
import org.xenj.hypervisor.spi.backend.BackendException;
import org.xenj.hypervisor.spi.backend.BackendInstance;
import org.xenj.hypervisor.spi.backend.BackendStore;
import org.xenj.hypervisor.spi.backend.EventChannel;
import org.xenj.hypervisor.spi.backend.GrantMapping;

/**
 * The backend against the SPI contract alone, the guest played by the test: a context whose
 * xenstore is a map (watches fire synchronously), whose only grant is ref 8 and only port 4.
 * The end-to-end run with the real pv-test kernel is in the hypervisor's PvTestKernelTest.
 */
class PvTestBackendTest {

    private static final String DIR = "/local/domain/3/data/pv-test";

    private static final class FakeContext implements BackendContext, BackendStore {
        final Map<String, String> store = new HashMap<>();
        final Map<String, Consumer<String>> watches = new HashMap<>();
        final byte[] page = new byte[GrantMapping.PAGE_SIZE];
        final List<String> log = new ArrayList<>();
        int notifications;
        int mapped;
        boolean portBound;

        void guestWrites(String path, String value) {
            store.put(path, value);
            watches.forEach((w, cb) -> {
                if (path.startsWith(w)) {
                    cb.accept(path);
                }
            });
        }

        // BackendContext
        @Override public String kind() { return PvTestBackend.KIND; }
        @Override public int frontendDomid() { return 3; }
        @Override public DomainConfig config() { return DomainConfig.builder("guest").build(); }
        @Override public String frontendPath() { return "/local/domain/3"; }
        @Override public String backendPath() { return "/local/domain/0/backend/pvtest/3"; }
        @Override public Executor executor() { return Runnable::run; }
        @Override public BackendStore store() { return this; }
        @Override public void log(String message) { log.add(message); }

        @Override
        public EventChannel bindInterdomain(int remotePort, Runnable onEvent) {
            if (remotePort != 4) {
                throw new BackendException("cannot bind port " + remotePort);
            }
            portBound = true;
            return new EventChannel() {
                @Override public int localPort() { return 1; }
                @Override public int remotePort() { return 4; }
                @Override public void notifyRemote() { notifications++; }
                @Override public void close() { portBound = false; }
            };
        }

        @Override
        public EventChannel allocateUnbound(Runnable onEvent) {
            throw new UnsupportedOperationException();
        }

        @Override
        public GrantMapping mapGrant(int ref, boolean writable) {
            if (ref != 8) {
                throw new BackendException("cannot map grant " + ref);
            }
            mapped++;
            return new GrantMapping() {
                @Override public int ref() { return 8; }
                @Override public boolean writable() { return writable; }
                @Override public boolean live() { return mapped > 0; }
                @Override public int read8(int o) { return page[o] & 0xff; }
                @Override public int read16(int o) { throw new UnsupportedOperationException(); }
                @Override public int read32(int o) { throw new UnsupportedOperationException(); }
                @Override public void write8(int o, int v) { page[o] = (byte) v; }
                @Override public void write16(int o, int v) { throw new UnsupportedOperationException(); }
                @Override public void write32(int o, int v) { throw new UnsupportedOperationException(); }
                @Override public void read(int o, byte[] d, int off, int len) { System.arraycopy(page, o, d, off, len); }
                @Override public void write(int o, byte[] s, int off, int len) { System.arraycopy(s, off, page, o, len); }
                @Override public void unmap() { mapped--; }
            };
        }

        @Override public void copyFromGrant(int ref, int offset, byte[] dst, int dstOff, int len) { throw new UnsupportedOperationException(); }
        @Override public void copyToGrant(int ref, int offset, byte[] src, int srcOff, int len) { throw new UnsupportedOperationException(); }

        // BackendStore
        @Override public String read(String path) { return store.get(path); }
        @Override public void write(String path, String value) { store.put(path, value); }
        @Override public void mkdir(String path) { }
        @Override public void remove(String path) { store.remove(path); }
        @Override public List<String> directory(String path) { return List.of(); }
        @Override public boolean exists(String path) { return store.containsKey(path); }
        @Override public void setPermissions(String path, List<String> permissions) { }

        @Override
        public Watch watch(String path, Consumer<String> onChange) {
            watches.put(path, onChange);
            onChange.accept(path);
            return () -> watches.remove(path);
        }
    }

    private static void greet(FakeContext c, String greeting) {
        byte[] g = greeting.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(g, 0, c.page, 0, g.length);
    }

    @Test
    void aGuestThatOffersItsGrantAndPortIsAnsweredAndSignalled() {
        FakeContext c = new FakeContext();
        BackendInstance i = new PvTestBackend().attach(c);
        greet(c, "xenj-grant-ok");
        c.guestWrites(DIR + "/ring-ref", "8");
        c.guestWrites(DIR + "/port", "4");
        assertEquals(0, c.notifications, "nothing before state=ready");
        c.guestWrites(DIR + "/state", "ready");
        assertEquals("backend-was-here", new String(c.page, 2048, 16, StandardCharsets.US_ASCII));
        assertEquals(0, c.page[2048 + 16], "NUL-terminated");
        assertEquals("connected", c.store.get(DIR + "/state"));
        assertEquals(1, c.notifications);
        assertEquals(0, c.mapped, "the page is unmapped again");
        i.detach();
        assertFalse(c.portBound);
        assertTrue(c.watches.isEmpty());
    }

    @Test
    void badOffersEndTheHandshakeWithALogLineNotAnException() {
        FakeContext c = new FakeContext();
        new PvTestBackend().attach(c);
        greet(c, "something-else");
        c.guestWrites(DIR + "/ring-ref", "8");
        c.guestWrites(DIR + "/port", "4");
        c.guestWrites(DIR + "/state", "ready");
        assertEquals("ready", c.store.get(DIR + "/state"));
        assertEquals(0, c.notifications);
        assertTrue(c.log.get(0).contains("does not start with"), c.log.toString());

        FakeContext d = new FakeContext();
        new PvTestBackend().attach(d);
        d.guestWrites(DIR + "/ring-ref", "-1");
        d.guestWrites(DIR + "/port", "4");
        d.guestWrites(DIR + "/state", "ready");
        assertTrue(d.log.get(0).contains("not numbers"), d.log.toString());

        FakeContext e = new FakeContext();
        new PvTestBackend().attach(e);
        greet(e, "xenj-grant-ok");
        e.guestWrites(DIR + "/ring-ref", "9"); // not granted
        e.guestWrites(DIR + "/port", "4");
        e.guestWrites(DIR + "/state", "ready");
        assertTrue(e.log.get(0).contains("cannot map grant 9"), e.log.toString());
        assertEquals(0, e.notifications);
    }
}
