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
import org.xenj.dom0.block.api.BlockImages;
import org.xenj.dom0.block.api.DiskSpec;
import org.xenj.dom0.blkback.api.BlockHotplug;
import org.xenj.dom0.blkback.api.VirtualDisk;
import org.xenj.hypervisor.spi.backend.Backend;
import org.xenj.hypervisor.spi.backend.BackendContext;
import org.xenj.hypervisor.spi.backend.BackendInstance;

/**
 * Domain 0's block backend: the {@code vbd} {@link Backend} the hypervisor attaches to every
 * domain with {@code disk} entries, and the {@link BlockHotplug} service over the domains it
 * serves. The sessions are a field of this instance, never a static.
 */
@Component(service = {Backend.class, BlockHotplug.class}, property = Backend.KIND + "=" + BlkbackService.KIND)
public final class BlkbackService implements Backend, BlockHotplug {

    public static final String KIND = "vbd";
    /** How long a hot-plug call waits for the backend's executor. */
    static final long CALL_MILLIS = 10_000;
    /** How long a detach waits for the frontend to close before it fails (or, forced, removes anyway). */
    static final long DETACH_MILLIS = 10_000;
    static final long FORCED_DETACH_MILLIS = 3_000;

    private final BlockImages images;
    private final Map<Integer, DomainVbds> domains = new ConcurrentHashMap<>();

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

    @Override
    public VirtualDisk attach(int domid, String diskSpec) {
        DiskSpec spec = DiskSpec.parse(diskSpec);
        // the image opens when the frontend connects; a missing file is still better refused now, as xl does
        if (!spec.target().isEmpty() && !java.nio.file.Files.isReadable(java.nio.file.Path.of(spec.target()))) {
            throw new IllegalArgumentException("'target': " + spec.target() + " does not exist or is not readable");
        }
        DomainVbds d = served(domid);
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

    /** The session with a domain (tests). */
    DomainVbds session(int domid) {
        return domains.get(domid);
    }
}
