package org.xenj.dom0.blkback.internal;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.xenj.dom0.block.api.BlockImages;
import org.xenj.dom0.block.api.DiskSpec;
import org.xenj.dom0.block.api.RemovableMedia;
import org.xenj.dom0.blkback.api.BlockHotplug;
import org.xenj.dom0.blkback.api.VirtualDisk;
import org.xenj.hypervisor.spi.backend.Backend;
import org.xenj.hypervisor.spi.backend.BackendContext;
import org.xenj.hypervisor.spi.backend.BackendHotplug;
import org.xenj.hypervisor.spi.backend.BackendInstance;

/**
 * Domain 0's block backend: the {@code vbd} {@link Backend} the hypervisor attaches to every
 * domain with {@code disk} entries, and the {@link BlockHotplug} service over the domains it
 * serves. The sessions are a field of this instance, never a static.
 */
@Component(service = {Backend.class, BlockHotplug.class, RemovableMedia.class}, property = Backend.KIND + "=" + BlkbackService.KIND)
public final class BlkbackService implements Backend, BlockHotplug, RemovableMedia {

    public static final String KIND = "vbd";
    /** How long a hot-plug call waits for the backend's executor. */
    static final long CALL_MILLIS = 10_000;
    /** How long a detach waits for the frontend to close before it fails (or, forced, removes anyway). */
    static final long DETACH_MILLIS = 10_000;
    static final long FORCED_DETACH_MILLIS = 3_000;

    private final BlockImages images;
    private final Map<Integer, DomainVbds> domains = new ConcurrentHashMap<>();
    /** The hypervisor's hot-plug side: attaches blkback to a domain created without disks. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile BackendHotplug hotplug;

    @Activate
    public BlkbackService(@Reference BlockImages images) {
        this.images = images;
    }

    @Override
    public BackendInstance attach(BackendContext context) {
        int domid = context.frontendDomid();
        DomainVbds[] self = new DomainVbds[1];
        DomainVbds d = new DomainVbds(context, images, () -> domains.remove(domid, self[0]));
        self[0] = d;
        domains.put(domid, d);
        d.start();
        return d;
    }

    /** Outside OSGi (in-process boots, tests): the hypervisor's hot-plug side. */
    public void setBackendHotplug(BackendHotplug hotplug) {
        this.hotplug = hotplug;
    }

    /** The hand-over: a previous blkback's devices for this domain, from its record. */
    @Override
    public BackendInstance attach(BackendContext context, byte[] state) {
        BlkbackState record;
        try {
            record = BlkbackState.fromBytes(state);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("handed-over state refused: " + e.getMessage(), e);
        }
        int domid = context.frontendDomid();
        DomainVbds[] self = new DomainVbds[1];
        DomainVbds d = new DomainVbds(context, images, () -> domains.remove(domid, self[0]));
        self[0] = d;
        d.restore(record);
        domains.put(domid, d);
        return d;
    }

    private DomainVbds served(int domid) {
        DomainVbds d = domains.get(domid);
        if (d == null) {
            throw new IllegalStateException("blkback does not serve d" + domid
                    + " (it serves domains whose configuration has disk entries)");
        }
        return d;
    }

    /**
     * The session with {@code domid}; a domain created without disks gets one first, as xl's
     * block-attach finds Domain 0's blkback whatever the domain's configuration said.
     */
    private DomainVbds servedOrAttached(int domid) {
        DomainVbds d = domains.get(domid);
        BackendHotplug h = hotplug;
        if (d == null && h != null) {
            h.serve(domid, KIND);
            d = domains.get(domid);
        }
        return d != null ? d : served(domid);
    }

    @Override
    public VirtualDisk attach(int domid, String diskSpec) {
        DiskSpec spec = DiskSpec.parse(diskSpec);
        // the image opens when the frontend connects; a missing file is still better refused now, as xl does
        if (!spec.target().isEmpty() && !java.nio.file.Files.isReadable(java.nio.file.Path.of(spec.target()))) {
            throw new IllegalArgumentException("'target': " + spec.target() + " does not exist or is not readable");
        }
        DomainVbds d = servedOrAttached(domid);
        return d.call(() -> d.add(spec), CALL_MILLIS);
    }

    @Override
    public void detach(int domid, String vdev, boolean force) {
        DomainVbds d = served(domid);
        CompletableFuture<Void> removed = d.call(() -> {
            VbdDevice v = d.find(vdev);
            v.requestRemoval();
            return v.removed();
        }, CALL_MILLIS);
        try {
            removed.get(force ? FORCED_DETACH_MILLIS : DETACH_MILLIS, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            if (!force) {
                throw new IllegalStateException("d" + domid + " did not release " + vdev + " within " + DETACH_MILLIS
                        + " ms (is it mounted?); use --force to remove it anyway");
            }
            d.call(() -> {
                d.find(vdev).remove("forced detach");
                return null;
            }, CALL_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException(String.valueOf(e.getCause()), e.getCause());
        }
    }

    @Override
    public List<VirtualDisk> list(int domid) {
        DomainVbds d = domains.get(domid);
        return d == null ? List.of() : d.call(d::list, CALL_MILLIS);
    }

    @Override
    public String name() {
        return "blkback";
    }

    @Override
    public boolean hasDrive(int domid, String vdev) {
        DomainVbds d = domains.get(domid);
        return d != null && d.call(() -> {
            VbdDevice v = d.lookup(vdev);
            return v != null && v.spec().cdrom() && v.spec().vdev().equals(vdev);
        }, CALL_MILLIS);
    }

    /** xl cd-insert/cd-eject on a CD-ROM vbd: {@code params} in xenstore, as libxl writes it. */
    @Override
    public void changeMedium(int domid, DiskSpec medium) {
        DomainVbds d = served(domid);
        d.call(() -> {
            VbdDevice v = d.lookup(medium.vdev());
            if (v == null) {
                throw new IllegalArgumentException("d" + domid + " has no disk " + medium.vdev());
            }
            v.changeMedium(medium);
            return null;
        }, CALL_MILLIS);
    }

    /** The session with a domain (tests). */
    DomainVbds session(int domid) {
        return domains.get(domid);
    }
}
