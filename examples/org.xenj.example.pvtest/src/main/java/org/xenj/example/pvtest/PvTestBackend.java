package org.xenj.example.pvtest;

import java.nio.charset.StandardCharsets;

import org.osgi.service.component.annotations.Component;
import org.xenj.hypervisor.spi.backend.Backend;
import org.xenj.hypervisor.spi.backend.BackendContext;
import org.xenj.hypervisor.spi.backend.BackendException;
import org.xenj.hypervisor.spi.backend.BackendInstance;
import org.xenj.hypervisor.spi.backend.BackendStore;
import org.xenj.hypervisor.spi.backend.EventChannel;
import org.xenj.hypervisor.spi.backend.GrantMapping;

/**
 * Domain 0's end of the pv-test handshake (guests/pv-test, step 4), as a third-party backend
 * using only the exported SPI: when the guest sets {@code data/pv-test/state} to {@code ready},
 * map the page it granted ({@code ring-ref}), check its greeting, write {@code backend-was-here}
 * at offset 2048, bind the port it offered ({@code port}), set {@code connected} and signal.
 * Everything the guest wrote is checked before use; a bad value ends the handshake with a log
 * line, never an exception into the hypervisor.
 */
@Component(property = Backend.KIND + "=" + PvTestBackend.KIND)
public final class PvTestBackend implements Backend {

    public static final String KIND = "pvtest";
    static final String GREETING = "xenj-grant-ok";
    static final int REPLY_OFFSET = 2048;
    static final byte[] REPLY = "backend-was-here\0".getBytes(StandardCharsets.US_ASCII);

    @Override
    public BackendInstance attach(BackendContext ctx) {
        Handshake h = new Handshake(ctx);
        h.watch = ctx.store().watch(h.dir + "/state", changed -> h.onState());
        return h;
    }

    /** One guest's handshake; all calls arrive on the backend's executor for that guest. */
    private static final class Handshake implements BackendInstance {
        final BackendContext ctx;
        final String dir;
        BackendStore.Watch watch;
        EventChannel port;
        boolean finished;

        Handshake(BackendContext ctx) {
            this.ctx = ctx;
            this.dir = ctx.frontendPath() + "/data/pv-test";
        }

        void onState() {
            BackendStore xs = ctx.store();
            if (finished || !"ready".equals(xs.read(dir + "/state"))) {
                return;
            }
            finished = true; // one attempt: a guest that got it wrong is told so in the log
            Integer ref = number(xs.read(dir + "/ring-ref"));
            Integer remotePort = number(xs.read(dir + "/port"));
            if (ref == null || remotePort == null) {
                ctx.log("pv-test: ring-ref/port missing or not numbers");
                return;
            }
            try {
                GrantMapping page = ctx.mapGrant(ref, true);
                try {
                    byte[] hello = new byte[GREETING.length()];
                    page.read(0, hello, 0, hello.length);
                    if (!GREETING.equals(new String(hello, StandardCharsets.US_ASCII))) {
                        ctx.log("pv-test: the granted page does not start with '" + GREETING + "'");
                        return;
                    }
                    page.write(REPLY_OFFSET, REPLY, 0, REPLY.length);
                } finally {
                    page.unmap();
                }
                port = ctx.bindInterdomain(remotePort, () -> { });
            } catch (BackendException e) {
                ctx.log("pv-test: " + e.getMessage());
                return;
            }
            xs.write(dir + "/state", "connected");
            port.notifyRemote();
            ctx.log("pv-test: connected (grant " + ref + ", port " + remotePort + ")");
        }

        private static Integer number(String s) {
            if (s == null || s.isEmpty() || s.length() > 9 || !s.chars().allMatch(Character::isDigit)) {
                return null;
            }
            return Integer.valueOf(s);
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
