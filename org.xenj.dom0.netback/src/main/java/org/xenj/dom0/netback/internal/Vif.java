package org.xenj.dom0.netback.internal;

import org.xenj.dom0.vswitch.api.VifSpec;
import java.util.List;

import org.xenj.dom0.netback.api.VifInfo;
import org.xenj.dom0.vswitch.api.Port;
import org.xenj.dom0.vswitch.api.PortCounters;
import org.xenj.dom0.vswitch.api.VirtualSwitch;
import org.xenj.hypervisor.spi.backend.BackendContext;
import org.xenj.hypervisor.spi.backend.BackendException;
import org.xenj.hypervisor.spi.backend.BackendStore;
import org.xenj.hypervisor.spi.backend.EventChannel;
import org.xenj.hypervisor.spi.backend.GrantMapping;
import org.xenj.hypervisor.spi.backend.SharedRing;
import org.xenj.hypervisor.spi.backend.XenbusState;

/**
 * One PV network device of a domain: its two xenstore directories (written here, as Xen's
 * toolstack writes them, frontend {@code state} last so the guest probes a complete device) and
 * the xenbus handshake. The backend offers {@code feature-rx-copy}, {@code feature-sg} and TCP
 * segmentation offload on tx ({@code feature-gso-tcpv4/6}, see {@link TcpSegmenter}), and nothing
 * that it would then have to honour but does not implement (no multi-queue, no split event
 * channels, no GSO towards the guest, no rx flipping). When the frontend is Initialised or Connected the
 * backend maps both rings, binds the event channel, joins the bridge and goes Connected. All
 * methods run on the backend's executor.
 */
final class Vif {

    private final BackendContext ctx;
    private final VirtualSwitch vswitch;
    final int devid;
    final VifSpec spec;
    final String fe;
    final String be;
    private final VifStats stats;
    private BackendStore.Watch watch;
    private VifRings rings;
    private Port port;
    private GrantMapping txPage, rxPage;
    private EventChannel evtchn;
    private String refused;
    private boolean removing;
    private boolean gone;
    /** What the connection was made with, for the state record. */
    private int txRef, rxRef, remotePort;
    /** The state was taken for a hand-over: nothing changes any more, xenstore stays as it is. */
    private boolean handedOver;

    Vif(BackendContext ctx, VirtualSwitch vswitch, int devid, VifSpec spec) {
        this.ctx = ctx;
        this.vswitch = vswitch;
        this.devid = devid;
        this.spec = spec;
        this.fe = ctx.frontendPath() + "/device/vif/" + devid;
        this.be = ctx.backendPath() + "/" + devid;
        this.stats = new VifStats(m -> ctx.log("vif" + devid + ": " + m));
    }

    String portName() {
        return "vif" + ctx.frontendDomid() + "." + devid;
    }

    /** Writes both directories and waits for the frontend. */
    void create() {
        BackendStore xs = ctx.store();
        int domid = ctx.frontendDomid();
        xs.mkdir(be);
        xs.setPermissions(be, List.of("n0", "r" + domid));
        xs.write(be + "/frontend", fe);
        xs.write(be + "/frontend-id", Integer.toString(domid));
        xs.write(be + "/online", "1");
        xs.write(be + "/handle", Integer.toString(devid));
        xs.write(be + "/type", "vif");
        xs.write(be + "/mac", spec.macText());
        xs.write(be + "/bridge", spec.bridge());
        xs.write(be + "/mtu", Integer.toString(spec.mtu()));
        xs.write(be + "/feature-rx-copy", "1");
        xs.write(be + "/feature-rx-flip", "0");
        xs.write(be + "/feature-sg", "1");
        // TSO from the guest: one tx request per 64 KiB of TCP instead of one per MSS (TcpSegmenter)
        xs.write(be + "/feature-gso-tcpv4", "1");
        xs.write(be + "/feature-gso-tcpv6", "1");
        xs.writeState(be + "/state", XenbusState.INIT_WAIT);
        xs.mkdir(fe);
        xs.setPermissions(fe, List.of("n" + domid, "r0"));
        xs.write(fe + "/backend", be);
        xs.write(fe + "/backend-id", "0");
        xs.write(fe + "/handle", Integer.toString(devid));
        xs.write(fe + "/mac", spec.macText());
        xs.writeState(fe + "/state", XenbusState.INITIALISING);
        watch = xs.watch(fe + "/state", changed -> onFrontendState());
    }

    private void onFrontendState() {
        if (gone || handedOver) {
            return;
        }
        BackendStore xs = ctx.store();
        XenbusState front = xs.readState(fe + "/state");
        XenbusState back = xs.readState(be + "/state");
        switch (front) {
            case INITIALISED, CONNECTED -> {
                if (rings == null && refused == null && !removing && back != XenbusState.CLOSING && back != XenbusState.CLOSED) {
                    connect();
                }
            }
            case CLOSING -> {
                disconnect();
                xs.writeState(be + "/state", XenbusState.CLOSING);
            }
            case CLOSED -> {
                disconnect();
                xs.writeState(be + "/state", XenbusState.CLOSED);
                if (removing) {
                    remove();
                }
            }
            case INITIALISING -> {
                // a frontend starting (again, e.g. its module reloaded): offer the device anew
                if (back == XenbusState.CLOSED && !removing) {
                    refused = null;
                    xs.writeState(be + "/state", XenbusState.INIT_WAIT);
                }
            }
            case UNKNOWN -> {
                if (removing && !xs.exists(fe)) {
                    remove();
                }
            }
            default -> {
            }
        }
    }

    private void connect() {
        BackendStore xs = ctx.store();
        Integer txRef = number(xs.read(fe + "/tx-ring-ref"));
        Integer rxRef = number(xs.read(fe + "/rx-ring-ref"));
        Integer port0 = number(xs.read(fe + "/event-channel"));
        Integer queues = number(xs.read(fe + "/multi-queue-num-queues"));
        if (queues != null && queues > 1) {
            refuse("frontend asks for " + queues + " queues; multi-queue is not offered");
            return;
        }
        if (!"1".equals(xs.read(fe + "/request-rx-copy"))) {
            refuse("frontend does not request-rx-copy; only the copying receive path is offered");
            return;
        }
        if (txRef == null || rxRef == null || port0 == null) {
            refuse("tx-ring-ref, rx-ring-ref or event-channel missing or not a number"
                    + (xs.exists(fe + "/event-channel-tx") ? " (split event channels are not offered)" : ""));
            return;
        }
        boolean sg = "1".equals(xs.read(fe + "/feature-sg"));
        try {
            open(txRef, rxRef, port0, sg, null);
        } catch (BackendException | IllegalArgumentException e) {
            disconnect();
            refuse("cannot connect: " + e.getMessage());
            return;
        }
        // logged before the state is written: whoever sees Connected also finds the line
        ctx.log("vif" + devid + ": connected, mac " + spec.macText() + " on " + spec.bridge() + " (tx ring " + txRef + ", rx ring "
                + rxRef + ", port " + port0 + (sg ? ", sg" : "") + ")");
        xs.writeState(be + "/state", XenbusState.CONNECTED);
        rings.onEvent(); // requests queued before we listened
    }

    /** Maps both rings (fresh, or {@code resumed} at a previous netback's indices), binds the port, joins the bridge. */
    private void open(int txRef, int rxRef, int port0, boolean sg, NetbackState.Rings resumed) {
        txPage = ctx.mapGrant(txRef, true);
        rxPage = ctx.mapGrant(rxRef, true);
        SharedRing tx = resumed == null ? SharedRing.backEnd(txPage, VifRings.TX_REQ, VifRings.TX_RSP)
                : SharedRing.resume(txPage, VifRings.TX_REQ, VifRings.TX_RSP, resumed.txConsumed(), resumed.txProduced());
        SharedRing rx = resumed == null ? SharedRing.backEnd(rxPage, VifRings.RX_REQ, VifRings.RX_RSP)
                : SharedRing.resume(rxPage, VifRings.RX_REQ, VifRings.RX_RSP, resumed.rxConsumed(), resumed.rxProduced());
        VifRings[] self = new VifRings[1];
        evtchn = ctx.bindInterdomain(port0, () -> {
            if (self[0] != null) {
                self[0].onEvent();
            }
        });
        rings = new VifRings(ctx, portName(), spec.maxFrame(), sg, tx, rx, evtchn, stats, this::broken);
        if (resumed != null) {
            rings.resume(resumed);
        }
        self[0] = rings;
        port = vswitch.bridge(spec.bridge()).attach(portName(), ctx.executor(), (frame, length) -> {
            VifRings r = rings;
            if (r != null) {
                r.deliver(frame, length);
            }
        });
        rings.setPort(port);
        this.txRef = txRef;
        this.rxRef = rxRef;
        this.remotePort = port0;
    }

    // ------------------------------------------------------------------ hand-over

    /** The record of this vif (executor): its rings stop here, nothing changes afterwards. */
    NetbackState.VifRecord save() {
        NetbackState.Rings r = null;
        if (rings != null) {
            rings.quiesce();
            r = rings.save(txRef, rxRef, remotePort);
        }
        if (port != null) {
            // frames for this vif from now on wait in the switch for the next netback's port of this name
            port.park();
            port = null;
        }
        handedOver = true;
        return new NetbackState.VifRecord(devid, spec.mac(), spec.bridge(), spec.mtu(), removing, refused, stats.save(), r);
    }

    /**
     * A vif a previous netback served, from its record (executor): nothing is written to
     * xenstore; a connected vif maps its rings again at the recorded indices, binds the frontend's
     * port again, joins its bridge and serves what the frontend queued meanwhile. Throws
     * {@link IllegalStateException} with the reason (after releasing what it got) if it cannot.
     */
    static Vif restore(BackendContext ctx, VirtualSwitch vswitch, NetbackState.VifRecord record) {
        Vif v = new Vif(ctx, vswitch, record.devid(), record.spec());
        v.removing = record.removing();
        v.refused = record.refused();
        v.stats.restore(record.counters());
        NetbackState.Rings r = record.rings();
        if (r != null) {
            try {
                v.open(r.txRef(), r.rxRef(), r.remotePort(), r.frontendSg(), r);
            } catch (RuntimeException e) {
                v.disconnect();
                throw new IllegalStateException("vif" + record.devid() + ": cannot take over the rings (tx grant " + r.txRef()
                        + ", rx grant " + r.rxRef() + ", port " + r.remotePort() + "): "
                        + (e.getMessage() != null ? e.getMessage() : e.toString()), e);
            }
        }
        v.watch = ctx.store().watch(v.fe + "/state", changed -> v.onFrontendState());
        if (v.rings != null) {
            v.rings.onEvent(); // what the frontend queued while nobody served it, and the waiting frames
        }
        return v;
    }

    /** The frontend broke the protocol: the connection ends with a log line (already written). */
    private void broken() {
        disconnect();
        refused = stats.lastError();
        ctx.store().writeState(be + "/state", XenbusState.CLOSING);
    }

    private void refuse(String why) {
        refused = why;
        ctx.log("vif" + devid + ": " + why);
        ctx.store().write(be + "/error", why);
        ctx.store().writeState(be + "/state", XenbusState.CLOSING);
    }

    private void disconnect() {
        if (rings != null) {
            rings.close();
            rings = null;
        }
        if (port != null) {
            port.close();
            port = null;
        }
        if (evtchn != null) {
            evtchn.close();
            evtchn = null;
        }
        if (txPage != null) {
            txPage.unmap();
            txPage = null;
        }
        if (rxPage != null) {
            rxPage.unmap();
            rxPage = null;
        }
    }

    /** Hot-unplug: ask the frontend to close; {@link #remove} follows when it has (or when forced). */
    void unplug() {
        removing = true;
        XenbusState front = ctx.store().readState(fe + "/state");
        if (front == XenbusState.CLOSED || front == XenbusState.UNKNOWN || front == XenbusState.INITIALISING) {
            remove();
        } else {
            ctx.store().writeState(be + "/state", XenbusState.CLOSING);
        }
    }

    /** Gone for good: connection, watch and both directories. */
    void remove() {
        if (gone) {
            return;
        }
        gone = true;
        close();
        try {
            ctx.store().remove(fe);
            ctx.store().remove(be);
        } catch (BackendException e) {
            ctx.log("vif" + devid + ": removing its xenstore directories: " + e.getMessage());
        }
    }

    boolean gone() {
        return gone;
    }

    /** Stops serving (domain or backend going); the directories stay for a successor backend. */
    void close() {
        disconnect();
        if (watch != null) {
            watch.cancel();
            watch = null;
        }
    }

    VifInfo info() {
        Port p = port;
        PortCounters c = p != null ? p.counters() : new PortCounters(0, 0, 0, 0, 0, 0);
        BackendStore xs = ctx.store();
        return new VifInfo(ctx.frontendDomid(), devid, spec.macText(), spec.bridge(), xs.readState(be + "/state").value(),
                xs.readState(fe + "/state").value(), c, stats.rxFrames, stats.txFrames,
                stats.txErrors + stats.txDropped + stats.rxErrors + stats.rxDropped, refused != null ? refused : stats.lastError());
    }

    VifStats stats() {
        return stats;
    }

    boolean connected() {
        return rings != null;
    }

    static Integer number(String s) {
        if (s == null || s.isEmpty() || s.length() > 10 || !s.chars().allMatch(Character::isDigit)) {
            return null;
        }
        long v = Long.parseLong(s);
        return v > Integer.MAX_VALUE ? null : (int) v;
    }
}
