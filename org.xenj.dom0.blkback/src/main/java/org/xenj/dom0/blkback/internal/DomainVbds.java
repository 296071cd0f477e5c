package org.xenj.dom0.blkback.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

import org.xenj.dom0.block.api.BlockImages;
import org.xenj.dom0.block.api.DiskSpec;
import org.xenj.dom0.block.api.DiskSpecException;
import org.xenj.dom0.blkback.api.VirtualDisk;
import org.xenj.hypervisor.spi.backend.BackendContext;
import org.xenj.hypervisor.spi.backend.BackendInstance;

/**
 * Blkback's session with one domain: its virtual block devices by device id. The disks of the
 * domain's configuration are published at attach; hot-plug adds and removes more. Everything
 * touching the devices runs on the backend's executor; {@link #call} brings other threads (the
 * hot-plug service) onto it.
 */
final class DomainVbds implements BackendInstance {

    private final BackendContext ctx;
    private final BlockImages images;
    private final Runnable onDetached;
    private final Map<Integer, VbdDevice> devices = new TreeMap<>();

    DomainVbds(BackendContext ctx, BlockImages images, Runnable onDetached) {
        this.ctx = ctx;
        this.images = images;
        this.onDetached = onDetached;
    }

    BackendContext context() {
        return ctx;
    }

    /** Publishes the configuration's disks; a spec xl would refuse is logged and skipped. */
    void start() {
        for (String text : ctx.config().disks()) {
            try {
                add(DiskSpec.parse(text));
            } catch (RuntimeException e) {
                ctx.log("disk '" + text + "' not served: " + e.getMessage());
            }
        }
    }

    /** Adds and publishes a device (executor only). */
    VirtualDisk add(DiskSpec spec) {
        int devid = spec.deviceNumber();
        for (VbdDevice d : devices.values()) {
            if (d.devid() == devid) {
                throw new IllegalStateException("d" + ctx.frontendDomid() + " already has a disk " + d.spec().vdev()
                        + " (device " + devid + ")");
            }
        }
        VbdDevice d = new VbdDevice(ctx, images, spec, () -> devices.remove(devid));
        devices.put(devid, d);
        d.publish();
        return d.describe();
    }

    VbdDevice find(String vdev) {
        int devid;
        try {
            devid = DiskSpec.parse("vdev=" + vdev + ", target=/dev/null").deviceNumber();
        } catch (DiskSpecException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        VbdDevice d = devices.get(devid);
        if (d == null) {
            throw new IllegalArgumentException("d" + ctx.frontendDomid() + " has no disk " + vdev);
        }
        return d;
    }

    /** The device named {@code vdev}, or null (executor only). */
    VbdDevice lookup(String vdev) {
        try {
            return devices.get(DiskSpec.parse("vdev=" + vdev + ", target=/dev/null").deviceNumber());
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** Devices for tests (executor only). */
    List<VbdDevice> devices() {
        return new ArrayList<>(devices.values());
    }

    List<VirtualDisk> list() {
        List<VirtualDisk> out = new ArrayList<>();
        for (VbdDevice d : devices.values()) {
            out.add(d.describe());
        }
        return out;
    }

    /** Runs {@code task} on the backend's executor and waits for its answer. */
    <T> T call(Supplier<T> task, long timeoutMillis) {
        CompletableFuture<T> f = new CompletableFuture<>();
        try {
            ctx.executor().execute(() -> {
                try {
                    f.complete(task.get());
                } catch (Throwable t) {
                    f.completeExceptionally(t);
                }
            });
            return f.get(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException(String.valueOf(c), c);
        } catch (TimeoutException e) {
            throw new IllegalStateException("blkback for d" + ctx.frontendDomid() + " did not answer within "
                    + timeoutMillis + " ms (is the domain going away?)");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        } catch (RuntimeException e) {
            throw e;
        }
    }

    /** How long a hand-over waits for the requests in flight to complete. */
    static final long QUIESCE_MILLIS = 5_000;

    /**
     * A previous blkback's devices, taken over from its record (executor only). Nothing is
     * written to xenstore; a device that cannot be taken over fails the whole take-over (the
     * hypervisor keeps the record for another blkback), after releasing the others.
     */
    void restore(BlkbackState state) {
        try {
            for (BlkbackState.Vbd v : state.vbds()) {
                int devid = v.devid();
                devices.put(devid, VbdDevice.restore(ctx, images, v, () -> devices.remove(devid)));
            }
        } catch (RuntimeException e) {
            detach();
            throw e;
        }
        ctx.log("took over " + devices.size() + " vbd(s) from a previous blkback: "
                + String.join(", ", devices.values().stream().map(d -> d.spec().vdev()
                        + (d.connection() != null ? " (ring of " + d.connection().ringSize() + ")" : "")).toList()));
    }

    /**
     * Quiesces every device (no request taken any more; those in flight complete and are
     * answered) and returns the record; called from a hypervisor thread while the executor runs.
     */
    @Override
    public byte[] saveState() {
        List<CompletableFuture<Void>> quiet = call(() -> {
            List<CompletableFuture<Void>> fs = new ArrayList<>();
            devices.values().forEach(d -> fs.add(d.quiesce()));
            return fs;
        }, QUIESCE_MILLIS);
        try {
            CompletableFuture.allOf(quiet.toArray(new CompletableFuture<?>[0])).get(QUIESCE_MILLIS, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new IllegalStateException("requests still in flight after " + QUIESCE_MILLIS + " ms; no hand-over");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while quiescing");
        } catch (ExecutionException e) {
            throw new IllegalStateException(String.valueOf(e.getCause()), e.getCause());
        }
        return call(() -> {
            List<BlkbackState.Vbd> vbds = new ArrayList<>();
            devices.values().forEach(d -> vbds.add(d.save()));
            return new BlkbackState(vbds).toBytes();
        }, QUIESCE_MILLIS);
    }

    @Override
    public void detach() {
        for (VbdDevice d : new ArrayList<>(devices.values())) {
            try {
                d.shutdown();
            } catch (RuntimeException e) {
                ctx.log("vbd " + d.spec().vdev() + ": shutdown: " + e);
            }
        }
        devices.clear();
        onDetached.run();
    }
}
