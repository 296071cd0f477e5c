package org.xenj.dom0.blkback.internal;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import org.xenj.dom0.block.api.BlockDevice;
import org.xenj.dom0.block.api.BlockImages;
import org.xenj.dom0.block.api.DiskSpec;
import org.xenj.dom0.blkback.api.VirtualDisk;
import org.xenj.hypervisor.spi.backend.BackendContext;
import org.xenj.hypervisor.spi.backend.BackendStore;
import org.xenj.hypervisor.spi.backend.EventChannel;
import org.xenj.hypervisor.spi.backend.GrantMapping;
import org.xenj.hypervisor.spi.backend.XenbusState;

/**
 * One virtual block device of one domain: its two xenstore directories (Domain 0's
 * {@code backend/vbd/<domid>/<devid>} and the guest's {@code device/vbd/<devid>}, written as xl's
 * libxl does), the XenbusState handshake with the frontend, and the connection while there is one.
 *
 * <p>Handshake: the device is published with the backend in InitWait and everything a frontend
 * needs before connecting ({@code max-ring-page-order}, {@code feature-max-indirect-segments},
 * {@code feature-flush-cache}, {@code feature-discard}). When the frontend reaches Initialised
 * (or Connected) the image is opened — lazily, so that an HVM guest's emulated disk may hold the
 * same image until the guest unplugs it —, the ring pages are mapped and the event channel bound,
 * the disk's geometry is written ({@code sectors}, {@code info}, {@code sector-size},
 * {@code physical-sector-size}) and the backend goes Connected. Frontend Closing/Closed
 * disconnects (the image is flushed and closed); a frontend that returns to Initialising finds the
 * backend in InitWait again. Detach ({@code online} 0, backend Closing) removes both directories
 * once the frontend has closed. All methods run on the backend's executor.
 */
final class VbdDevice {

    private final BackendContext ctx;
    private final BackendStore xs;
    private final BlockImages images;
    private DiskSpec spec;
    private final int devid;
    private final String fe;
    private final String be;
    private final String name;
    private final Runnable onRemoved;
    private final CompletableFuture<Void> removed = new CompletableFuture<>();
    private BackendStore.Watch watch;
    private XenbusState state = XenbusState.INITIALISING;
    private XenbusState frontendState = XenbusState.UNKNOWN;
    private VbdConnection connection;
    private BlockDevice disk;
    private String ringRefs = "";
    private int localPort = -1;
    /** What the connection was made with, for the state record. */
    private List<Integer> refList = List.of();
    private int remotePort;
    private BlkbackState.Features offered;
    private boolean removing;
    private boolean gone;
    /** The state was taken for a hand-over: nothing changes any more, xenstore is left as it is. */
    private boolean handedOver;

    VbdDevice(BackendContext ctx, BlockImages images, DiskSpec spec, Runnable onRemoved) {
        this.ctx = ctx;
        this.xs = ctx.store();
        this.images = images;
        this.spec = spec;
        this.devid = spec.deviceNumber();
        this.fe = ctx.frontendPath() + "/device/vbd/" + devid;
        this.be = ctx.backendPath() + "/" + devid;
        this.name = "vbd " + spec.vdev();
        this.onRemoved = onRemoved;
        this.offered = BlkbackState.Features.offered(spec.readOnly());
    }

    DiskSpec spec() {
        return spec;
    }

    int devid() {
        return devid;
    }

    CompletableFuture<Void> removed() {
        return removed;
    }

    VbdConnection connection() {
        return connection;
    }

    /** Writes both directories and starts watching the frontend. */
    void publish() {
        int domid = ctx.frontendDomid();
        xs.remove(be);
        xs.mkdir(be);
        xs.setPermissions(be, List.of("n0", "r" + domid));
        writeBe("frontend", fe);
        writeBe("frontend-id", Integer.toString(domid));
        writeBe("online", "1");
        writeBe("removable", spec.cdrom() ? "1" : "0");
        writeBe("bootable", "1");
        writeBe("dev", spec.vdev());
        writeBe("type", "file");
        writeBe("params", spec.target());
        writeBe("mode", spec.readOnly() ? "r" : "w");
        writeBe("device-type", spec.cdrom() ? "cdrom" : "disk");
        writeBe("max-ring-page-order", Integer.toString(Blkif.MAX_RING_PAGE_ORDER));
        writeBe("feature-max-indirect-segments", Integer.toString(Blkif.MAX_INDIRECT_SEGMENTS));
        writeBe("feature-flush-cache", "1");
        writeBe("feature-barrier", "1");
        writeBe("feature-persistent", "0");
        if (!spec.readOnly()) {
            writeBe("feature-discard", "1");
            writeBe("discard-granularity", "4096");
            writeBe("discard-alignment", "0");
            writeBe("discard-secure", "0");
        }
        setState(XenbusState.INIT_WAIT);

        xs.remove(fe);
        xs.mkdir(fe);
        List<String> fePerms = List.of("n" + domid, "r0");
        xs.setPermissions(fe, fePerms);
        for (String[] kv : new String[][] {{"backend", be}, {"backend-id", "0"}, {"virtual-device", Integer.toString(devid)},
                {"device-type", spec.cdrom() ? "cdrom" : "disk"}, {"state", Integer.toString(XenbusState.INITIALISING.value())}}) {
            xs.write(fe + "/" + kv[0], kv[1]);
            xs.setPermissions(fe + "/" + kv[0], fePerms);
        }
        watch = xs.watch(fe, changed -> frontendChanged());
        ctx.log(name + " (" + devid + "): " + spec.toSpecString() + " published, waiting for the frontend");
    }

    private void writeBe(String key, String value) {
        xs.write(be + "/" + key, value);
    }

    private void setState(XenbusState s) {
        state = s;
        xs.writeState(be + "/state", s);
    }

    /** The frontend's directory changed (or the watch fired on registration). */
    void frontendChanged() {
        if (gone || handedOver) {
            return;
        }
        XenbusState fs = xs.readState(fe + "/state");
        if (fs == frontendState && fs != XenbusState.INITIALISED) {
            return;
        }
        frontendState = fs;
        switch (fs) {
            case INITIALISING:
                if (removing) {
                    remove("detached before the frontend connected");
                } else if (state == XenbusState.CLOSED || state == XenbusState.CLOSING) {
                    setState(XenbusState.INIT_WAIT);
                }
                break;
            case INITIALISED:
            case CONNECTED:
                if (connection == null && state == XenbusState.INIT_WAIT && !removing) {
                    connect();
                }
                break;
            case CLOSING:
                disconnect("frontend closing");
                setState(XenbusState.CLOSING);
                break;
            case CLOSED:
                disconnect("frontend closed");
                setState(XenbusState.CLOSED);
                if (removing) {
                    remove("detached");
                }
                break;
            default:
                // the frontend's directory went away (the domain is dying) or holds garbage
                disconnect("frontend state " + xs.read(fe + "/state"));
                if (removing || !xs.exists(fe)) {
                    remove("frontend gone");
                }
                break;
        }
    }

    private void connect() {
        List<GrantMapping> mapped = new ArrayList<>();
        try {
            String protocol = xs.read(fe + "/protocol");
            BlkifAbi abi = BlkifAbi.ofProtocol(protocol);
            if (abi == null) {
                throw new ConnectException("unknown protocol '" + protocol + "'");
            }
            int order = 0;
            String orderText = xs.read(fe + "/ring-page-order");
            if (orderText != null) {
                order = number(orderText, "ring-page-order");
                if (order > Blkif.MAX_RING_PAGE_ORDER) {
                    throw new ConnectException("ring-page-order " + order + " above max-ring-page-order " + Blkif.MAX_RING_PAGE_ORDER);
                }
            }
            int[] refs = new int[1 << order];
            if (orderText == null) {
                refs[0] = number(xs.read(fe + "/ring-ref"), "ring-ref");
            } else {
                for (int i = 0; i < refs.length; i++) {
                    refs[i] = number(xs.read(fe + "/ring-ref" + i), "ring-ref" + i);
                }
            }
            int remotePort = number(xs.read(fe + "/event-channel"), "event-channel");
            if (disk == null && !spec.target().isEmpty()) {
                try {
                    disk = images.open(Path.of(spec.target()), spec.format(), spec.readOnly());
                } catch (IOException | RuntimeException e) {
                    throw new ConnectException("cannot open " + spec.target() + ": " + e.getMessage());
                }
            }
            for (int ref : refs) {
                mapped.add(ctx.mapGrant(ref, true));
            }
            StringBuilder r = new StringBuilder();
            for (int ref : refs) {
                r.append(r.length() == 0 ? "" : " ").append(ref);
            }
            VbdConnection[] self = new VbdConnection[1];
            VbdConnection c = new VbdConnection(ctx, name, disk, spec.readOnly(), abi, mapped.toArray(new GrantMapping[0]),
                    why -> broken(self[0], why));
            self[0] = c;
            EventChannel port = ctx.bindInterdomain(remotePort, c::drain);
            c.setPort(port);
            connection = c;
            ringRefs = r.toString();
            localPort = port.localPort();
            refList = java.util.Arrays.stream(refs).boxed().toList();
            this.remotePort = remotePort;
            long sectors = disk == null ? 0 : disk.size() / Blkif.SECTOR_SIZE;
            writeBe("sectors", Long.toString(sectors));
            writeBe("info", Integer.toString((spec.cdrom() ? Blkif.VDISK_CDROM | Blkif.VDISK_REMOVABLE : 0)
                    | (spec.readOnly() ? Blkif.VDISK_READONLY : 0)));
            writeBe("sector-size", Integer.toString(Blkif.SECTOR_SIZE));
            writeBe("physical-sector-size", Integer.toString(Blkif.SECTOR_SIZE));
            setState(XenbusState.CONNECTED);
            ctx.log(name + ": connected, " + abi.protocolName + ", ring of " + c.ringSize() + " on " + refs.length
                    + " page(s) (grant " + ringRefs + "), event channel " + remotePort + ", " + sectors + " sectors"
                    + (spec.readOnly() ? ", read-only" : ""));
            c.drain();
        } catch (ConnectException | RuntimeException e) {
            for (GrantMapping m : mapped) {
                m.unmap();
            }
            String why = e instanceof ConnectException ? e.getMessage() : e.toString();
            ctx.log(name + ": cannot connect: " + why);
            writeBe("error", why);
            closeDisk();
            setState(XenbusState.CLOSING);
        }
    }

    private void broken(VbdConnection c, String why) {
        if (connection != c) {
            return;
        }
        ctx.log(name + ": frontend broke the ring protocol (" + why + "): disconnected");
        writeBe("error", why);
        disconnect("ring broken");
        setState(XenbusState.CLOSING);
    }

    private static int number(String s, String what) throws ConnectException {
        if (s == null || s.isEmpty() || s.length() > 10) {
            throw new ConnectException(what + " missing or too long");
        }
        long v = 0;
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if (ch < '0' || ch > '9') {
                throw new ConnectException(what + " '" + s + "' is not a number");
            }
            v = v * 10 + (ch - '0');
        }
        if (v > 0xffffffffL) {
            throw new ConnectException(what + " " + s + " out of range");
        }
        return (int) v;
    }

    private void disconnect(String why) {
        VbdConnection c = connection;
        if (c != null) {
            connection = null;
            c.close(1500);
            ringRefs = "";
            localPort = -1;
            ctx.log(name + ": disconnected (" + why + "), " + c.okay.get() + " requests served, " + c.errors.get()
                    + " refused or failed (" + c.takenSummary() + ")");
        }
        closeDisk();
    }

    private void closeDisk() {
        BlockDevice d = disk;
        disk = null;
        if (d != null) {
            try {
                if (!d.readOnly()) {
                    d.flush();
                }
            } catch (IOException | RuntimeException e) {
                ctx.log(name + ": flush at close failed: " + e.getMessage());
            }
            try {
                d.close();
            } catch (IOException | RuntimeException e) {
                ctx.log(name + ": close failed: " + e.getMessage());
            }
        }
    }

    /**
     * xl cd-insert/cd-eject on a {@code device-type=cdrom} vbd, as libxl does it: the backend's
     * {@code params} names the new image ("" when ejected) and the next connection opens it. Linux
     * blkfront in an HVM guest leaves CD-ROM vbds to the emulated drive and never connects; a
     * frontend that is connected keeps its disc — Xen's blkback does not change the image under a
     * connected ring either — so that is refused.
     */
    void changeMedium(DiskSpec medium) {
        if (!spec.cdrom()) {
            throw new IllegalArgumentException(spec.vdev() + " is not a CD-ROM (devtype=cdrom)");
        }
        if (connection != null) {
            throw new IllegalStateException(spec.vdev() + " is connected to the guest's blkfront; blkback does not change "
                    + "the medium under a connected ring (detach and attach it instead)");
        }
        spec = new DiskSpec(medium.target(), medium.format(), spec.vdev(), true, true, List.of());
        writeBe("params", spec.target());
        ctx.log(name + ": " + (spec.target().isEmpty() ? "medium ejected" : "medium " + spec.target() + " inserted")
                + " (params updated)");
    }

    /** Hot-unplug: asks the frontend to close; the device goes when it has (or now, if it never connected). */
    void requestRemoval() {
        if (gone) {
            return;
        }
        removing = true;
        writeBe("online", "0");
        XenbusState fs = xs.readState(fe + "/state");
        if (fs == XenbusState.INITIALISING || fs == XenbusState.CLOSED || fs == XenbusState.UNKNOWN) {
            remove("detached");
        } else {
            setState(XenbusState.CLOSING);
        }
    }

    /** Removes the device now, whatever the frontend says (forced detach, domain destroyed). */
    void remove(String why) {
        if (gone) {
            return;
        }
        disconnect(why);
        gone = true;
        if (watch != null) {
            watch.cancel();
        }
        try {
            xs.remove(fe);
            xs.remove(be);
        } catch (RuntimeException e) {
            ctx.log(name + ": cleaning xenstore: " + e.getMessage());
        }
        ctx.log(name + ": removed (" + why + ")");
        onRemoved.run();
        removed.complete(null);
    }

    /** Domain going or backend leaving: stop serving, close the image; the directories stay for the toolstack. */
    void shutdown() {
        gone = true;
        if (watch != null) {
            watch.cancel();
        }
        disconnect(handedOver ? "handed over" : "backend detached");
        removed.complete(null);
    }

    // ------------------------------------------------------------------ hand-over

    /** First step of a hand-over (executor): the connection stops taking requests; completes when none is in flight. */
    CompletableFuture<Void> quiesce() {
        return connection == null ? CompletableFuture.completedFuture(null) : connection.quiesce();
    }

    /** Last step (executor, quiesced): this device's record; from now on it changes nothing. */
    BlkbackState.Vbd save() {
        BlkbackState.Ring ring = connection == null || connection.isClosed() ? null : connection.save(refList, remotePort);
        handedOver = true;
        return new BlkbackState.Vbd(spec.toSpecString(), state.value(), frontendState.value(), removing, offered, ring);
    }

    /**
     * A device a previous blkback served, in the state it saved: nothing is written to xenstore;
     * a connected ring is mapped again at its recorded indices, the frontend's port bound again,
     * and the requests the frontend queued meanwhile are served. Executor only. Throws
     * {@link IllegalStateException} with the reason if it cannot take the device over (after
     * releasing what it got).
     */
    static VbdDevice restore(BackendContext ctx, BlockImages images, BlkbackState.Vbd record, Runnable onRemoved) {
        VbdDevice d = new VbdDevice(ctx, images, record.diskSpec(), onRemoved);
        if (!record.features().honouredBy(d.offered)) {
            throw new IllegalStateException(d.name + ": the record promised " + record.features() + ", this blkback offers "
                    + d.offered);
        }
        d.offered = record.features();
        d.state = XenbusState.of(record.backendState());
        d.frontendState = XenbusState.of(record.frontendState());
        d.removing = record.removing();
        if (record.ring() != null) {
            d.resume(record.ring());
        }
        d.watch = d.xs.watch(d.fe, changed -> d.frontendChanged());
        return d;
    }

    private void resume(BlkbackState.Ring r) {
        List<GrantMapping> mapped = new ArrayList<>();
        try {
            if (!spec.target().isEmpty()) {
                disk = images.open(Path.of(spec.target()), spec.format(), spec.readOnly());
            }
            for (int ref : r.refs()) {
                mapped.add(ctx.mapGrant(ref, true));
            }
            VbdConnection[] self = new VbdConnection[1];
            VbdConnection c = new VbdConnection(ctx, name, disk, spec.readOnly(), r.abi(), mapped.toArray(new GrantMapping[0]),
                    why -> broken(self[0], why), r);
            self[0] = c;
            EventChannel port = ctx.bindInterdomain(r.remotePort(), c::drain);
            c.setPort(port);
            connection = c;
            refList = r.refs();
            remotePort = r.remotePort();
            localPort = port.localPort();
            ringRefs = String.join(" ", r.refs().stream().map(String::valueOf).toList());
            c.drain(); // what the frontend queued while nobody served it
        } catch (IOException | RuntimeException e) {
            for (GrantMapping m : mapped) {
                m.unmap();
            }
            closeDisk();
            throw new IllegalStateException(name + ": cannot take over the ring (grant " + r.refs() + ", port " + r.remotePort()
                    + "): " + (e.getMessage() != null ? e.getMessage() : e.toString()), e);
        }
    }

    VirtualDisk describe() {
        return new VirtualDisk(ctx.frontendDomid(), spec.vdev(), devid, spec.toSpecString(), state.value(),
                xs.readState(fe + "/state").value(), localPort, ringRefs,
                disk == null ? -1 : disk.size() / Blkif.SECTOR_SIZE, be);
    }

    /** A frontend detail that does not allow a connection; the message goes to dmesg and {@code error}. */
    private static final class ConnectException extends Exception {
        private static final long serialVersionUID = 1L;

        ConnectException(String message) {
            super(message);
        }
    }
}
