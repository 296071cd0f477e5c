package org.xenj.dom0.vfb.internal;

import java.util.List;
import java.util.Map;

import org.xenj.hypervisor.spi.backend.BackendContext;
import org.xenj.hypervisor.spi.backend.BackendException;
import org.xenj.hypervisor.spi.backend.BackendStore;
import org.xenj.hypervisor.spi.backend.XenbusState;

/**
 * One PV device's two xenstore directories and the xenbus handshake, as blkback and netback do
 * it: both directories written as Xen's toolstack writes them (frontend {@code state} last, so the
 * guest probes a complete device), backend InitWait; frontend Initialised or Connected → the
 * device {@link #connect}s and the backend goes Connected; frontend Closing/Closed → disconnect;
 * Initialising again (a module reload) → InitWait. A refused connection leaves an {@code error}
 * node and the backend Closing. Runs on the backend's executor.
 */
abstract class XenbusDevice {

    protected final BackendContext ctx;
    protected final String type;
    protected final String fe;
    protected final String be;
    private BackendStore.Watch watch;
    private boolean connected;
    private String refused;
    /** Saved for a hand-over: the next backend serves the device; this one only lets go ({@link #detach}). */
    private volatile boolean handedOver;

    XenbusDevice(BackendContext ctx, String type, String backendPath) {
        this.ctx = ctx;
        this.type = type;
        this.fe = ctx.frontendPath() + "/device/" + type + "/0";
        this.be = backendPath + "/0";
    }

    /** Backend nodes beyond the common ones (features, sizes), written before InitWait. */
    protected abstract Map<String, String> backendNodes();

    /** Maps what the frontend published and binds its port; throws with the reason to refuse. Before Connected is written. */
    protected abstract void connect();

    /** Lets go of what {@link #connect} took; idempotent. */
    protected abstract void disconnect();

    void create() {
        BackendStore xs = ctx.store();
        int domid = ctx.frontendDomid();
        xs.mkdir(be);
        xs.setPermissions(be, List.of("n0", "r" + domid));
        xs.write(be + "/frontend", fe);
        xs.write(be + "/frontend-id", Integer.toString(domid));
        xs.write(be + "/online", "1");
        backendNodes().forEach((k, v) -> xs.write(be + "/" + k, v));
        xs.writeState(be + "/state", XenbusState.INIT_WAIT);
        xs.mkdir(fe);
        xs.setPermissions(fe, List.of("n" + domid, "r0"));
        xs.write(fe + "/backend", be);
        xs.write(fe + "/backend-id", "0");
        xs.writeState(fe + "/state", XenbusState.INITIALISING);
        watch = xs.watch(fe + "/state", changed -> onFrontendState());
    }

    /**
     * The hand-over's end of {@link #create}: a previous backend's xenbus state taken over (its
     * connection already restored by the device), nothing written to xenstore; the watch fires once
     * and deals with whatever the frontend did meanwhile (closed: let go; still connected: nothing).
     */
    void resume(boolean wasConnected, String wasRefused) {
        connected = wasConnected;
        refused = wasRefused;
        watch = ctx.store().watch(fe + "/state", changed -> onFrontendState());
    }

    /** Why the last connection was refused, or null. */
    String refusal() {
        return refused;
    }

    /** From now on this backend touches neither the rings nor xenstore: the next one takes over. */
    void handOver() {
        handedOver = true;
        if (watch != null) {
            watch.cancel();
            watch = null;
        }
    }

    boolean handedOver() {
        return handedOver;
    }

    private void onFrontendState() {
        if (handedOver) {
            return;
        }
        BackendStore xs = ctx.store();
        XenbusState front = xs.readState(fe + "/state");
        XenbusState back = xs.readState(be + "/state");
        switch (front) {
            case INITIALISED, CONNECTED -> {
                if (!connected && refused == null && back != XenbusState.CLOSING && back != XenbusState.CLOSED) {
                    try {
                        connect();
                        connected = true;
                        xs.writeState(be + "/state", XenbusState.CONNECTED);
                    } catch (BackendException | IllegalArgumentException e) {
                        disconnect();
                        refused = e.getMessage();
                        ctx.log(type + ": refused: " + refused);
                        xs.write(be + "/error", type + ": " + refused);
                        xs.writeState(be + "/state", XenbusState.CLOSING);
                    }
                }
            }
            case CLOSING -> {
                closed();
                xs.writeState(be + "/state", XenbusState.CLOSING);
            }
            case CLOSED -> {
                closed();
                xs.writeState(be + "/state", XenbusState.CLOSED);
            }
            case INITIALISING -> {
                if (back == XenbusState.CLOSED || back == XenbusState.CLOSING) {
                    refused = null;
                    xs.remove(be + "/error");
                    xs.writeState(be + "/state", XenbusState.INIT_WAIT);
                }
            }
            default -> {
            }
        }
    }

    private void closed() {
        if (connected) {
            ctx.log(type + ": frontend closed");
        }
        connected = false;
        disconnect();
    }

    boolean connected() {
        return connected;
    }

    /** The domain goes (or the backend leaves): stop watching and let go; xenstore is the toolstack's to clean. */
    void detach() {
        if (watch != null) {
            watch.cancel();
        }
        connected = false;
        disconnect();
    }

    /** A decimal xenstore value, or null when missing or not a number. */
    protected static Long number(String v) {
        if (v == null) {
            return null;
        }
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
