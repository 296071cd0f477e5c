package org.xenj.hypervisor.internal.pv;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.xenj.hypervisor.spi.backend.Backend;
import org.xenj.hypervisor.spi.backend.BackendContext;
import org.xenj.hypervisor.spi.backend.BackendException;
import org.xenj.hypervisor.spi.backend.BackendInstance;
import org.xenj.hypervisor.spi.backend.BackendStore;
import org.xenj.hypervisor.spi.backend.EventChannel;
import org.xenj.hypervisor.spi.backend.GrantMapping;

/**
 * Domain 0's end of the pv-test protocol (guests/pv-test), written against the exported backend
 * SPI only, as a third-party backend would be: when the guest sets {@code data/pv-test/state} to
 * {@code ready}, map its granted page ({@code ring-ref}), check the greeting, answer
 * {@code backend-was-here} at offset 2048, bind its port, set {@code connected} and signal.
 * Attached to domains whose configuration says {@code backends = ["pvtest"]}. Records the threads
 * its handshake ran on, so tests can check it never ran on a vCPU.
 */
public final class PvTestEchoBackend implements Backend {

    public static final String KIND = "pvtest";
    private static final String GREETING = "xenj-grant-ok";
    private static final byte[] REPLY = "backend-was-here\0".getBytes(StandardCharsets.US_ASCII);

    /** Names of the threads the handshake ran on. */
    public final List<String> handshakeThreads = new CopyOnWriteArrayList<>();

    @Override
    public BackendInstance attach(BackendContext ctx) {
        Session s = new Session(ctx);
        s.watch = ctx.store().watch(s.base + "/state", p -> s.onState());
        return s;
    }

    private final class Session implements BackendInstance {
        final BackendContext ctx;
        final String base;
        BackendStore.Watch watch;
        EventChannel port;
        boolean done;

        Session(BackendContext ctx) {
            this.ctx = ctx;
            this.base = ctx.frontendPath() + "/data/pv-test";
        }

        void onState() {
            BackendStore xs = ctx.store();
            if (done || !"ready".equals(xs.read(base + "/state"))) {
                return;
            }
            done = true;
            handshakeThreads.add(Thread.currentThread().getName());
            int ref;
            int remotePort;
            try {
                ref = Integer.parseInt(String.valueOf(xs.read(base + "/ring-ref")));
                remotePort = Integer.parseInt(String.valueOf(xs.read(base + "/port")));
            } catch (NumberFormatException e) {
                ctx.log("bad xenstore entries: " + e.getMessage());
                return;
            }
            GrantMapping page;
            try {
                page = ctx.mapGrant(ref, true);
            } catch (BackendException e) {
                ctx.log(e.getMessage());
                return;
            }
            try {
                byte[] hello = new byte[GREETING.length()];
                page.read(0, hello, 0, hello.length);
                if (!GREETING.equals(new String(hello, StandardCharsets.US_ASCII))) {
                    ctx.log("unexpected page content");
                    return;
                }
                page.write(2048, REPLY, 0, REPLY.length);
            } finally {
                page.unmap();
            }
            port = ctx.bindInterdomain(remotePort, () -> { });
            xs.write(base + "/state", "connected");
            port.notifyRemote();
        }

        @Override
        public void detach() {
            if (watch != null) {
                watch.cancel();
            }
            if (port != null) {
                port.close();
            }
        }
    }
}
