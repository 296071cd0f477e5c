package org.xenj.dom0.vfb.internal;

import java.util.Map;

import org.xenj.dom0.vnc.api.InputSink;
import org.xenj.hypervisor.spi.backend.BackendContext;
import org.xenj.hypervisor.spi.backend.BackendException;
import org.xenj.hypervisor.spi.backend.EventChannel;
import org.xenj.hypervisor.spi.backend.GrantMapping;

/**
 * The {@code vkbd} device ({@code io/kbdif.h}): keys and the pointer from the console go to the
 * frontend's in-ring as XENKBD_TYPE_KEY (Linux key codes, what the VNC server already gives),
 * XENKBD_TYPE_POS (absolute, when the frontend wrote {@code request-abs-pointer}) or
 * XENKBD_TYPE_MOTION, buttons as BTN_LEFT/RIGHT/MIDDLE keys, the wheel as {@code rel_z}. The ring
 * page comes from {@code page-gref} (a grant) or, from older frontends, {@code page-ref} (a frame).
 * Input arrives on console client threads and is handed to the backend's executor. When the ring
 * is full (a slow guest) events wait in a backlog of {@link #BACKLOG} that is flushed when the
 * frontend signals it consumed (kbdfront notifies after reading); past that, or when the
 * frontend's {@code in_cons} is garbage, they are dropped and counted, never queued without bound.
 */
final class KbdDevice extends XenbusDevice implements InputSink {

    static final int IN_CONS = 0, IN_PROD = 4, IN_RING_OFFS = 1024, IN_RING_LEN = 2048 / FbProtocol.EVENT_SIZE;
    static final int TYPE_MOTION = 1, TYPE_KEY = 3, TYPE_POS = 4;
    static final int BTN_LEFT = 0x110, BTN_RIGHT = 0x111, BTN_MIDDLE = 0x112, KEY_MAX = 0x2ff;
    /** Events kept while the ring is full: a few seconds of fast typing. */
    static final int BACKLOG = 1024;
    private final java.util.ArrayDeque<byte[]> backlog = new java.util.ArrayDeque<>();

    private final int width, height;
    private GrantMapping page;
    private EventChannel evtchn;
    /** What {@link #connect} read: kept for the hand-over record. */
    private boolean grantRing;
    private long ringRef;
    private int remotePort;
    private boolean abs;
    private int inProd;
    private int buttons;
    private int lastX = -1, lastY = -1;
    private final byte[] ev = new byte[FbProtocol.EVENT_SIZE];
    long sent, dropped;

    KbdDevice(BackendContext ctx, String backendPath, int width, int height) {
        super(ctx, "vkbd", backendPath);
        this.width = width;
        this.height = height;
    }

    @Override
    protected Map<String, String> backendNodes() {
        return Map.of("feature-abs-pointer", "1", "width", Integer.toString(width), "height", Integer.toString(height));
    }

    @Override
    protected void connect() {
        var xs = ctx.store();
        Long gref = number(xs.read(fe + "/page-gref"));
        Long ref = number(xs.read(fe + "/page-ref"));
        Long port = number(xs.read(fe + "/event-channel"));
        if ((gref == null && ref == null) || port == null || port < 0 || port > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("page-gref/page-ref or event-channel missing or not a number");
        }
        if (gref != null) {
            if (gref < 0 || gref > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("page-gref " + gref + " is not a grant reference");
            }
            page = ctx.mapGrant(gref.intValue(), true);
        } else {
            page = ctx.mapGuestFrame(ref, true);
        }
        grantRing = gref != null;
        ringRef = gref != null ? gref : ref;
        remotePort = port.intValue();
        abs = "1".equals(String.valueOf(xs.read(fe + "/request-abs-pointer")).trim());
        inProd = page.read32(IN_PROD);
        // kbdif defines no frontend → backend events; kbdfront signals after it consumed the ring
        evtchn = ctx.bindInterdomain(port.intValue(), this::flush);
        ctx.log("vkbd: connected (" + (gref != null ? "page-gref " + gref : "page-ref " + ref) + ", port " + port
                + (abs ? ", absolute pointer" : ", relative pointer") + ")");
    }

    @Override
    protected void disconnect() {
        backlog.clear();
        if (evtchn != null) {
            evtchn.close();
            evtchn = null;
        }
        if (page != null) {
            page.unmap();
            page = null;
        }
    }

    // ------------------------------------------------------------------ hand-over

    /** This device's part of the hand-over record (executor): nothing goes on the ring after it. */
    VfbState.Kbd save() {
        handOver();
        VfbState.KbdConnection c = connected() && page != null
                ? new VfbState.KbdConnection(grantRing, ringRef, remotePort, abs, inProd, buttons, lastX, lastY, java.util.List.copyOf(backlog))
                : null;
        return new VfbState.Kbd(c == null ? refusal() : null, c, sent, dropped);
    }

    /**
     * A previous backend's vkbd (executor): the ring page mapped again (grant or frame, as the
     * frontend gave it), the port bound again, {@code in_prod}, the buttons, the pointer and the
     * waiting events as they were; nothing written to xenstore; the waiting events then go on the
     * ring if it has room. Throws with the reason, holding nothing, if it cannot.
     */
    void restore(VfbState.Kbd r) {
        VfbState.KbdConnection c = r.connection();
        if (c != null) {
            try {
                grantRing = c.grant();
                ringRef = c.ref();
                remotePort = c.port();
                page = grantRing ? ctx.mapGrant((int) ringRef, true) : ctx.mapGuestFrame(ringRef, true);
                abs = c.abs();
                inProd = c.inProd();
                buttons = c.buttons();
                lastX = c.lastX();
                lastY = c.lastY();
                backlog.addAll(c.backlog());
                evtchn = ctx.bindInterdomain(remotePort, this::flush);
            } catch (RuntimeException e) {
                disconnect();
                throw new IllegalStateException("vkbd: cannot take over the ring (" + (c.grant() ? "page-gref " : "page-ref ") + c.ref()
                        + ", port " + c.port() + "): " + (e.getMessage() != null ? e.getMessage() : e.toString()), e);
            }
            ctx.log("vkbd: taken over (" + (grantRing ? "page-gref " : "page-ref ") + ringRef + ", port " + remotePort + ", in_prod "
                    + Integer.toUnsignedString(inProd) + ", " + backlog.size() + " events waiting)");
        }
        sent = r.sent();
        dropped = r.dropped();
        resume(c != null, r.refused());
        flush();
    }

    @Override
    public void key(int linuxKeyCode, boolean down) {
        if (linuxKeyCode <= 0 || linuxKeyCode > KEY_MAX) {
            return;
        }
        ctx.executor().execute(() -> sendKey(linuxKeyCode, down));
    }

    @Override
    public void pointer(int x, int y, int buttonMask, int w, int h) {
        ctx.executor().execute(() -> sendPointer(x, y, buttonMask, w, h));
    }

    private void sendKey(int code, boolean down) {
        clear(TYPE_KEY);
        ev[1] = (byte) (down ? 1 : 0);
        put32(4, code);
        send();
    }

    private void sendPointer(int x, int y, int mask, int w, int h) {
        int wheel = (mask & 8) != 0 ? -1 : (mask & 16) != 0 ? 1 : 0; // kbdfront reports REL_WHEEL as -rel_z
        // the guest's coordinates: the console's screen scaled onto the range published in width/height
        int gx = (int) Math.max(0, Math.min(width, (long) x * width / Math.max(1, w)));
        int gy = (int) Math.max(0, Math.min(height, (long) y * height / Math.max(1, h)));
        if (abs) {
            clear(TYPE_POS);
            put32(4, gx);
            put32(8, gy);
            put32(12, wheel);
            send();
        } else if (lastX >= 0 && (gx != lastX || gy != lastY || wheel != 0)) {
            clear(TYPE_MOTION);
            put32(4, gx - lastX);
            put32(8, gy - lastY);
            put32(12, wheel);
            send();
        }
        lastX = gx;
        lastY = gy;
        int changed = (mask ^ buttons) & 7;
        int[] codes = { BTN_LEFT, BTN_MIDDLE, BTN_RIGHT };
        for (int b = 0; b < 3; b++) {
            if ((changed & 1 << b) != 0) {
                sendKey(codes[b], (mask & 1 << b) != 0);
            }
        }
        buttons = mask & 7;
    }

    private void clear(int type) {
        java.util.Arrays.fill(ev, (byte) 0);
        ev[0] = (byte) type;
    }

    private void put32(int off, int v) {
        ev[off] = (byte) v;
        ev[off + 1] = (byte) (v >>> 8);
        ev[off + 2] = (byte) (v >>> 16);
        ev[off + 3] = (byte) (v >>> 24);
    }

    /** Queues {@link #ev} behind the backlog and puts what fits on the ring. */
    private void send() {
        if (page == null || evtchn == null || !connected() || handedOver()) {
            return;
        }
        if (backlog.size() >= BACKLOG) {
            dropped++;
            if (dropped == 1 || dropped % 1000 == 0) {
                ctx.log("vkbd: the frontend does not read its ring: " + dropped + " events dropped");
            }
            return;
        }
        backlog.add(ev.clone());
        flush();
    }

    /** Moves backlog to the ring while it has room; notifies once if anything was put. */
    private void flush() {
        GrantMapping p = page;
        EventChannel port = evtchn;
        if (p == null || port == null || backlog.isEmpty() || handedOver()) {
            return;
        }
        try {
            int cons = p.read32(IN_CONS);
            int put = 0;
            while (!backlog.isEmpty()) {
                int used = inProd - cons;
                if (Integer.compareUnsigned(used, IN_RING_LEN) > 0) {
                    // in_cons is not where a reader could be: drop what waits, the ring is the frontend's problem
                    dropped += backlog.size();
                    backlog.clear();
                    ctx.log("vkbd: in_cons " + Integer.toUnsignedString(cons) + " out of range; events dropped");
                    break;
                }
                if (used == IN_RING_LEN) {
                    break;
                }
                p.write(IN_RING_OFFS + Integer.remainderUnsigned(inProd, IN_RING_LEN) * FbProtocol.EVENT_SIZE, backlog.poll(), 0,
                        FbProtocol.EVENT_SIZE);
                inProd++;
                put++;
            }
            if (put > 0) {
                p.write32(IN_PROD, inProd);
                sent += put;
                port.notifyRemote();
            }
        } catch (BackendException e) {
            ctx.log("vkbd: ring page lost (" + e.getMessage() + "); disconnected");
            disconnect();
        }
    }
}
