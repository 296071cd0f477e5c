package org.xenj.dom0.netback.internal;

import org.xenj.dom0.vswitch.api.VifSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

import org.xenj.dom0.netback.api.VifInfo;
import org.xenj.dom0.vswitch.api.Frames;
import org.xenj.dom0.vswitch.api.VirtualSwitch;
import org.xenj.hypervisor.spi.backend.BackendContext;
import org.xenj.hypervisor.spi.backend.BackendInstance;

/**
 * netback serving one domain: its vifs by device id — those of its configuration's {@code vif}
 * list (device ids 0, 1, ... in order) and hot-plugged ones. Vif state is touched only on the
 * backend's executor; the toolstack's calls are handed there and waited for.
 */
final class DomainNetwork implements BackendInstance {

    /** How long an unplugged vif's frontend has to close before its directories are removed anyway. */
    static final long UNPLUG_GRACE_SECONDS = 10;
    private static final long CALL_TIMEOUT_SECONDS = 10;

    private final BackendContext ctx;
    private final VirtualSwitch vswitch;
    private final ScheduledExecutorService timers;
    private final TreeMap<Integer, Vif> vifs = new TreeMap<>();
    private boolean detached;
    private boolean handedOver;

    DomainNetwork(BackendContext ctx, VirtualSwitch vswitch, ScheduledExecutorService timers) {
        this.ctx = ctx;
        this.vswitch = vswitch;
        this.timers = timers;
    }

    /** Creates the configured vifs (on the executor, from {@link Netback#attach}). */
    void start() {
        List<String> specs = ctx.config().vifs();
        for (int devid = 0; devid < specs.size(); devid++) {
            try {
                add(devid, VifSpec.parse(specs.get(devid), ctx.config().name(), devid));
            } catch (IllegalArgumentException e) {
                ctx.log("vif" + devid + " '" + specs.get(devid) + "': " + e.getMessage() + "; device not created");
            }
        }
    }

    private Vif add(int devid, VifSpec spec) {
        Vif v = new Vif(ctx, vswitch, devid, spec);
        vifs.put(devid, v);
        v.create();
        return v;
    }

    /** Runs {@code call} on the executor and waits for it. */
    <T> T onExecutor(Supplier<T> call) {
        CompletableFuture<T> f = new CompletableFuture<>();
        ctx.executor().execute(() -> {
            try {
                f.complete(call.get());
            } catch (RuntimeException e) {
                f.completeExceptionally(e);
            }
        });
        try {
            return f.get(CALL_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IllegalArgumentException iae) {
                throw iae;
            }
            throw new IllegalArgumentException("d" + ctx.frontendDomid() + ": " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalArgumentException("d" + ctx.frontendDomid() + ": the network backend did not answer (detached?)");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalArgumentException("interrupted");
        }
    }

    List<VifInfo> list() {
        return onExecutor(() -> {
            vifs.values().removeIf(Vif::gone); // unplugged and removed since
            List<VifInfo> out = new ArrayList<>();
            vifs.values().forEach(v -> out.add(v.info()));
            return out;
        });
    }

    VifInfo hotplug(String specText) {
        return onExecutor(() -> {
            check();
            vifs.values().removeIf(Vif::gone);
            int devid = 0;
            while (vifs.containsKey(devid)) {
                devid++;
            }
            VifSpec spec = VifSpec.parse(specText, ctx.config().name(), devid);
            for (Vif v : vifs.values()) {
                if (v.spec.mac() == spec.mac()) {
                    throw new IllegalArgumentException("mac " + spec.macText() + " is already vif" + v.devid + "'s");
                }
            }
            Vif v = add(devid, spec);
            ctx.log("vif" + devid + ": hot-plugged, mac " + spec.macText() + " on " + spec.bridge());
            return v.info();
        });
    }

    void unplug(String devidOrMac) {
        onExecutor(() -> {
            check();
            Vif v = find(devidOrMac);
            v.unplug();
            if (v.gone()) {
                vifs.remove(v.devid);
            } else {
                timers.schedule(() -> ctx.executor().execute(() -> {
                    if (!v.gone()) {
                        ctx.log("vif" + v.devid + ": frontend did not close within " + UNPLUG_GRACE_SECONDS + " s; removed anyway");
                        v.remove();
                    }
                    vifs.remove(v.devid, v);
                }), UNPLUG_GRACE_SECONDS, TimeUnit.SECONDS);
            }
            ctx.log("vif" + v.devid + ": unplugged");
            return null;
        });
    }

    private Vif find(String devidOrMac) {
        String s = devidOrMac == null ? "" : devidOrMac.trim();
        Integer devid = Vif.number(s);
        if (devid != null) {
            Vif v = vifs.get(devid);
            if (v != null && !v.gone()) {
                return v;
            }
        } else {
            long mac;
            try {
                mac = Frames.parse(s);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("'" + s + "' is neither a device id nor a MAC address");
            }
            for (Vif v : vifs.values()) {
                if (v.spec.mac() == mac && !v.gone()) {
                    return v;
                }
            }
        }
        throw new IllegalArgumentException("d" + ctx.frontendDomid() + " has no vif " + s);
    }

    private void check() {
        if (detached) {
            throw new IllegalArgumentException("d" + ctx.frontendDomid() + ": the network backend is detached");
        }
    }

    /** Test access: the vif with this device id (on the executor only). */
    Vif vif(int devid) {
        return vifs.get(devid);
    }

    /**
     * Stops serving the domain (it is being destroyed, or netback leaves). The backend directories
     * go, as Xen's toolstack removes them when a domain dies (the frontend's go with the domain's
     * home); a successor backend writes them anew when it attaches.
     */
    /** A previous netback's vifs, from its record (executor); all or none (the others are released). */
    void restore(NetbackState state) {
        try {
            for (NetbackState.VifRecord r : state.vifs()) {
                vifs.put(r.devid(), Vif.restore(ctx, vswitch, r));
            }
        } catch (RuntimeException e) {
            vifs.values().forEach(Vif::close);
            vifs.clear();
            throw e;
        }
        ctx.log("took over " + vifs.size() + " vif(s) from a previous netback"
                + (vifs.isEmpty() ? "" : ": " + String.join(", ", vifs.values().stream()
                        .map(v -> "vif" + v.devid + (v.connected() ? " (connected)" : "")).toList())));
    }

    /**
     * The hand-over record (from a hypervisor thread): netback does all its work on the executor
     * and answers every slot it takes there, so one task there quiesces and saves every vif.
     */
    @Override
    public byte[] saveState() {
        return onExecutor(() -> {
            vifs.values().removeIf(Vif::gone);
            List<NetbackState.VifRecord> records = new ArrayList<>();
            vifs.values().forEach(v -> records.add(v.save()));
            handedOver = true;
            return new NetbackState(records).toBytes();
        });
    }

    @Override
    public void detach() {
        detached = true;
        vifs.values().forEach(Vif::close);
        if (handedOver) {
            return; // the directories and the frontend's state stay for the next netback
        }
        try {
            ctx.store().remove(ctx.backendPath());
        } catch (RuntimeException e) {
            ctx.log("removing " + ctx.backendPath() + ": " + e.getMessage());
        }
    }
}
