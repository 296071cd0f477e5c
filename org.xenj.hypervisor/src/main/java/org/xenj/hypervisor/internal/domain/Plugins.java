package org.xenj.hypervisor.internal.domain;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.internal.exec.GuestBuilder;
import org.xenj.hypervisor.spi.DeviceModel;
import org.xenj.hypervisor.spi.MigrationGate;
import org.xenj.hypervisor.spi.SchedulerType;
import org.xenj.hypervisor.spi.backend.Backend;
import org.xenj.hypervisor.spi.hypercall.HypercallExtension;

/**
 * The services the core uses that come and go at runtime (OSGi dynamic references): scheduler
 * types, guest builders, device models. The DS component fills it from its bind methods, which
 * may run before the core exists; the core subscribes when it starts. Removal is by identity, so
 * an update that binds the new service before unbinding the old keeps the new one.
 */
public final class Plugins {

    /** Told of changes; called on the binding thread. */
    public interface Listener {
        void schedulerAdded(SchedulerType t);

        void schedulerRemoved(SchedulerType t);

        /** A builder or device model appeared: domains waiting for one may be built now. */
        void buildersChanged();

        /** A device model is going away (its bundle stops): hand its domains' devices over. */
        default void deviceModelRemoved(DeviceModel m) {
        }

        void extensionAdded(HypercallExtension e);

        void extensionRemoved(HypercallExtension e);

        void backendAdded(Backend b, String kind);

        void backendRemoved(Backend b);
    }

    /** A backend service with the kind its service property names. */
    private record KindedBackend(Backend backend, String kind) {
    }

    private final CopyOnWriteArrayList<SchedulerType> schedulers = new CopyOnWriteArrayList<>();
    private final CopyOnWriteArrayList<GuestBuilder> builders = new CopyOnWriteArrayList<>();
    private final CopyOnWriteArrayList<DeviceModel> deviceModels = new CopyOnWriteArrayList<>();
    private final CopyOnWriteArrayList<HypercallExtension> extensions = new CopyOnWriteArrayList<>();
    private final CopyOnWriteArrayList<KindedBackend> backends = new CopyOnWriteArrayList<>();
    private final CopyOnWriteArrayList<MigrationGate> gates = new CopyOnWriteArrayList<>();
    private volatile Listener listener;

    public void addGate(MigrationGate g) {
        gates.add(g);
    }

    public void removeGate(MigrationGate g) {
        gates.removeIf(x -> x == g);
    }

    /** Every gate an arriving domain must pass before it runs here (a pool's lease hand-over). */
    public List<MigrationGate> gates() {
        return List.copyOf(gates);
    }

    /** Subscribes; the listener is then told of every scheduler and hypercall extension already present. */
    public synchronized void setListener(Listener l) {
        this.listener = l;
        if (l != null) {
            for (SchedulerType t : schedulers) {
                l.schedulerAdded(t);
            }
            for (HypercallExtension e : extensions) {
                l.extensionAdded(e);
            }
            for (KindedBackend b : backends) {
                l.backendAdded(b.backend(), b.kind());
            }
        }
    }

    public synchronized void addExtension(HypercallExtension e) {
        extensions.addIfAbsent(e);
        Listener l = listener;
        if (l != null) {
            l.extensionAdded(e);
        }
    }

    /** A Dom0 backend service; {@code kind} is its {@link Backend#KIND} property (may be null: then it is refused). */
    public synchronized void addBackend(Backend b, String kind) {
        backends.add(new KindedBackend(b, kind));
        Listener l = listener;
        if (l != null) {
            l.backendAdded(b, kind);
        }
    }

    public synchronized void removeBackend(Backend b) {
        if (backends.removeIf(k -> k.backend() == b)) {
            Listener l = listener;
            if (l != null) {
                l.backendRemoved(b);
            }
        }
    }

    public synchronized void removeExtension(HypercallExtension e) {
        if (extensions.remove(e)) {
            Listener l = listener;
            if (l != null) {
                l.extensionRemoved(e);
            }
        }
    }

    public synchronized void addScheduler(SchedulerType t) {
        schedulers.addIfAbsent(t);
        Listener l = listener;
        if (l != null) {
            l.schedulerAdded(t);
        }
    }

    public synchronized void removeScheduler(SchedulerType t) {
        if (schedulers.remove(t)) {
            Listener l = listener;
            if (l != null) {
                l.schedulerRemoved(t);
            }
        }
    }

    public void addBuilder(GuestBuilder b) {
        builders.addIfAbsent(b);
        notifyBuilders();
    }

    public void removeBuilder(GuestBuilder b) {
        builders.remove(b);
    }

    public void addDeviceModel(DeviceModel m) {
        deviceModels.addIfAbsent(m);
        notifyBuilders();
    }

    public void removeDeviceModel(DeviceModel m) {
        deviceModels.remove(m);
        Listener l = listener;
        if (l != null) {
            l.deviceModelRemoved(m);
        }
    }

    private void notifyBuilders() {
        Listener l = listener;
        if (l != null) {
            l.buildersChanged();
        }
    }

    /** The newest builder supporting {@code type}, or null. */
    public GuestBuilder builderFor(DomainType type) {
        GuestBuilder found = null;
        for (GuestBuilder b : builders) {
            try {
                if (b.supports(type)) {
                    found = b;
                }
            } catch (RuntimeException e) {
                // a broken builder supports nothing
            }
        }
        return found;
    }

    /** Device models, newest first (the best guess for "best"). */
    public List<DeviceModel> deviceModels() {
        List<DeviceModel> out = new java.util.ArrayList<>(deviceModels);
        java.util.Collections.reverse(out);
        return out;
    }

    private final CopyOnWriteArrayList<org.xenj.hypervisor.spi.DiskBranching> diskBranching = new CopyOnWriteArrayList<>();

    public void addDiskBranching(org.xenj.hypervisor.spi.DiskBranching b) {
        diskBranching.addIfAbsent(b);
    }

    public void removeDiskBranching(org.xenj.hypervisor.spi.DiskBranching b) {
        diskBranching.remove(b);
    }

    /** The newest disk-branching service, or null (snapshots of domains with writable disks are then refused). */
    public org.xenj.hypervisor.spi.DiskBranching diskBranching() {
        Object[] all = diskBranching.toArray();
        return all.length == 0 ? null : (org.xenj.hypervisor.spi.DiskBranching) all[all.length - 1];
    }
}
