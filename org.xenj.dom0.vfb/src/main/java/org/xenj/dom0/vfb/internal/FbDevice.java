package org.xenj.dom0.vfb.internal;

import java.util.Map;

import org.xenj.hypervisor.spi.backend.BackendContext;
import org.xenj.hypervisor.spi.backend.BackendException;
import org.xenj.hypervisor.spi.backend.EventChannel;
import org.xenj.hypervisor.spi.backend.GrantMapping;

/**
 * The {@code vfb} device: Linux's xen-fbfront publishes {@code page-ref} (the frame of its shared
 * page, not a grant: fbif.h predates grants for framebuffers), {@code event-channel},
 * {@code protocol} and {@code feature-update}. On connect the backend maps the shared page, checks
 * the layout, walks the page directory (pd[] → directory pages → framebuffer frames; every frame
 * must be the frontend's own RAM, see {@link BackendContext#mapGuestFrame}), asks for update events
 * ({@code request-update}) and offers resizes ({@code feature-resize}). Update events feed
 * {@link FbScreen}'s changed region; the console server reads the pixels from there.
 */
final class FbDevice extends XenbusDevice {

    private final FbScreen screen;
    private GrantMapping shared;
    private GrantMapping[] frames;
    private EventChannel evtchn;
    /** The backend's own out_cons; the page's copy is only written, never trusted. */
    private int outCons;
    /** What {@link #connect} read: kept for the hand-over record. */
    private long pageRef;
    private int remotePort;
    private boolean abi64, updates;
    private final byte[] event = new byte[FbProtocol.EVENT_SIZE];
    long ringResets;

    FbDevice(BackendContext ctx, FbScreen screen) {
        super(ctx, "vfb", ctx.backendPath());
        this.screen = screen;
    }

    @Override
    protected Map<String, String> backendNodes() {
        return Map.of("feature-resize", "1");
    }

    @Override
    protected void connect() {
        var xs = ctx.store();
        Long pageRef = number(xs.read(fe + "/page-ref"));
        Long port = number(xs.read(fe + "/event-channel"));
        if (pageRef == null || port == null || port < 0 || port > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("page-ref or event-channel missing or not a number");
        }
        String protocol = xs.read(fe + "/protocol");
        abi64 = protocol == null || !protocol.trim().equals("x86_32-abi");
        updates = "1".equals(trim(xs.read(fe + "/feature-update")));
        this.pageRef = pageRef;
        remotePort = port.intValue();
        shared = ctx.mapGuestFrame(pageRef, true);
        FbProtocol.Layout layout = FbProtocol.layoutOf(shared);
        frames = mapFrames(shared, layout.frames(), abi64);
        outCons = shared.read32(FbProtocol.OUT_CONS);
        screen.show(frames, layout, updates);
        if (updates) {
            xs.write(be + "/request-update", "1");
        }
        evtchn = ctx.bindInterdomain(port.intValue(), this::onEvent);
        ctx.log("vfb: connected, " + layout.width() + "x" + layout.height() + "x" + layout.depth() + " line " + layout.stride() + ", "
                + layout.memLength() + " bytes in " + frames.length + " frames (page-ref " + pageRef + ", port " + port + ", "
                + (abi64 ? "x86_64" : "x86_32") + " abi" + (updates ? ", update events" : ", polled") + ")");
    }

    /** pd[] → directory pages → the framebuffer's frames, each mapped read-only. */
    private GrantMapping[] mapFrames(GrantMapping page, int count, boolean abi64) {
        int dirs = FbProtocol.directoryPages(count, abi64);
        int perDir = FbProtocol.PAGE / (abi64 ? 8 : 4);
        GrantMapping[] out = new GrantMapping[count];
        int n = 0;
        try {
            for (int d = 0; d < dirs; d++) {
                long dirFrame = FbProtocol.frameNumber(page, FbProtocol.pdOffset(abi64), d, abi64);
                GrantMapping dir = ctx.mapGuestFrame(dirFrame, false);
                try {
                    for (int i = 0; i < perDir && n < count; i++) {
                        long frame = FbProtocol.frameNumber(dir, 0, i, abi64);
                        try {
                            out[n] = ctx.mapGuestFrame(frame, false);
                        } catch (BackendException e) {
                            throw new BackendException("framebuffer page " + n + ": " + e.getMessage());
                        }
                        n++;
                    }
                } finally {
                    dir.unmap();
                }
            }
        } catch (RuntimeException e) {
            for (int i = 0; i < n; i++) {
                out[i].unmap();
            }
            throw e;
        }
        return out;
    }

    // ------------------------------------------------------------------ hand-over

    /** This device's part of the hand-over record (executor): nothing is taken from the ring after it. */
    VfbState.Fb save() {
        handOver();
        FbProtocol.Layout layout = screen.layout();
        VfbState.FbConnection c = connected() && shared != null && layout != null
                ? new VfbState.FbConnection(pageRef, remotePort, abi64, updates, outCons, layout)
                : null;
        return new VfbState.Fb(c == null ? refusal() : null, c, ringResets, screen.updatesTaken, screen.updatesClipped,
                screen.unknownEvents, screen.resizes, screen.resizesRefused, screen.readErrors);
    }

    /**
     * A previous backend's vfb (executor): the shared page and the framebuffer's frames mapped again
     * (the same checks as a connect), the layout it showed, its {@code out_cons}, the frontend's port
     * bound again; nothing written to xenstore. Then the events the frontend queued meanwhile are
     * taken. Throws with the reason, holding nothing, if it cannot.
     */
    void restore(VfbState.Fb r) {
        VfbState.FbConnection c = r.connection();
        if (c != null) {
            try {
                pageRef = c.pageRef();
                remotePort = c.port();
                abi64 = c.abi64();
                updates = c.updates();
                shared = ctx.mapGuestFrame(pageRef, true);
                FbProtocol.Layout l = c.layout();
                frames = mapFrames(shared, l.frames(), abi64);
                outCons = c.outCons();
                screen.show(frames, l, updates);
                evtchn = ctx.bindInterdomain(remotePort, this::onEvent);
            } catch (RuntimeException e) {
                disconnect();
                throw new IllegalStateException("vfb: cannot take over the framebuffer (page-ref " + c.pageRef() + ", port " + c.port()
                        + "): " + (e.getMessage() != null ? e.getMessage() : e.toString()), e);
            }
        }
        ringResets = r.ringResets();
        screen.updatesTaken = r.updatesTaken();
        screen.updatesClipped = r.updatesClipped();
        screen.unknownEvents = r.unknownEvents();
        screen.resizes = r.resizes();
        screen.resizesRefused = r.resizesRefused();
        screen.readErrors = r.readErrors();
        if (c != null) {
            FbProtocol.Layout l = c.layout();
            ctx.log("vfb: taken over, " + l.width() + "x" + l.height() + "x" + l.depth() + " in " + frames.length + " frames (page-ref "
                    + pageRef + ", port " + remotePort + ", out_cons " + Integer.toUnsignedString(outCons) + ")");
            onEvent(); // what the frontend queued while nobody served it
        }
        resume(c != null, r.refused()); // last: the watch may find the frontend closed meanwhile and let go
    }

    /** The frontend put events on the out ring: take them all, acknowledge, and notify (fbfront then flushes what it held back). */
    private void onEvent() {
        GrantMapping page = shared;
        EventChannel port = evtchn;
        if (page == null || port == null || handedOver()) {
            return;
        }
        try {
            int prod = page.read32(FbProtocol.OUT_PROD);
            if (Integer.compareUnsigned(prod - outCons, FbProtocol.OUT_RING_LEN) > 0) {
                // more than the ring holds: the indices are garbage; skip to the producer and redraw everything
                ringResets++;
                if (ringResets <= 3) {
                    ctx.log("vfb: out_prod " + Integer.toUnsignedString(prod) + " is more than a ring ahead of out_cons "
                            + Integer.toUnsignedString(outCons) + "; events skipped, screen redrawn");
                }
                FbProtocol.Layout l = screen.layout();
                if (l != null) {
                    screen.update(0, 0, l.width(), l.height());
                }
                outCons = prod;
            }
            while (outCons != prod) {
                int slot = Integer.remainderUnsigned(outCons, FbProtocol.OUT_RING_LEN);
                page.read(FbProtocol.OUT_RING_OFFS + slot * FbProtocol.EVENT_SIZE, event, 0, FbProtocol.EVENT_SIZE);
                screen.event(event);
                outCons++;
            }
            page.write32(FbProtocol.OUT_CONS, outCons);
            port.notifyRemote();
        } catch (BackendException e) {
            ctx.log("vfb: shared page lost (" + e.getMessage() + "); disconnected");
            disconnect();
        }
    }

    @Override
    protected void disconnect() {
        screen.show(null, null, false);
        if (evtchn != null) {
            evtchn.close();
            evtchn = null;
        }
        if (frames != null) {
            for (GrantMapping f : frames) {
                if (f != null) {
                    f.unmap();
                }
            }
            frames = null;
        }
        if (shared != null) {
            shared.unmap();
            shared = null;
        }
    }

    private static String trim(String s) {
        return s == null ? null : s.trim();
    }
}
