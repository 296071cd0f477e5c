package org.xenj.hypervisor.internal.domain;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.xenj.hypervisor.spi.DeviceModel;

/**
 * Hands a running domain's devices from a device model that goes away (its bundle stops or is
 * updated) to the next model of the same name, as schedulers are handed over: the domain is paused
 * and quiesced, the old instance's state record is taken and its devices detached; when a model of
 * that name appears, it attaches with the record and the domain runs on. Without one the domain
 * stays paused. Each step and the pause time are in the hypervisor log.
 */
final class DeviceModelHandOver {

    /** A domain's devices waiting for a model named {@code model}. */
    private record Pending(String model, byte[] state, long pausedAtNanos) {
    }

    private final HypervisorCore core;
    private final Map<Integer, Pending> pending = new ConcurrentHashMap<>();

    DeviceModelHandOver(HypervisorCore core) {
        this.core = core;
    }

    /** On the unbinding thread, while the model's code can still run: take every domain's devices off it. */
    void modelGoing(DeviceModel model, Iterable<DomainImpl> domains) {
        for (DomainImpl d : domains) {
            if (d.phase != DomainImpl.Phase.LIVE || d.guest == null || !d.guest.usesDeviceModel(model)) {
                continue;
            }
            long t0 = System.nanoTime();
            synchronized (core) {
                d.awaitingDevices = true;
                core.applyActive(d);
            }
            if (!core.awaitQuiescent(d)) {
                core.log("d" + d.id + ": device model " + model.name() + " going away, but the vCPUs did not stop in time");
            }
            try {
                byte[] state = d.guest.detachDeviceModel(model);
                if (state == null) {
                    core.log("d" + d.id + ": device model " + model.name() + " went away without a state record: "
                            + "the domain stays paused (its devices cannot be handed over)");
                    continue;
                }
                pending.put(d.id, new Pending(model.name(), state, t0));
                core.log("d" + d.id + ": device model " + model.name() + " going away: paused, state taken (" + state.length
                        + " bytes), waiting for the next " + model.name());
            } catch (RuntimeException | LinkageError e) {
                core.log("d" + d.id + ": device model " + model.name() + " failed to give up its devices (" + e
                        + "): the domain stays paused");
            }
        }
    }

    /** A model appeared: domains waiting for one of its name take it, with their state. */
    void modelsChanged(Iterable<DeviceModel> models) {
        for (Map.Entry<Integer, Pending> e : pending.entrySet()) {
            DomainImpl d = core.domainOrNull(e.getKey());
            Pending p = e.getValue();
            if (d == null || d.phase != DomainImpl.Phase.LIVE || d.guest == null) {
                pending.remove(e.getKey());
                continue;
            }
            for (DeviceModel m : models) {
                if (!m.name().equals(p.model())) {
                    continue;
                }
                try {
                    d.guest.attachDeviceModel(m, p.state());
                } catch (RuntimeException | LinkageError ex) {
                    core.log("d" + d.id + ": device model " + m.name() + " refused the handed-over state (" + ex
                            + "): the domain stays paused");
                    break;
                }
                pending.remove(e.getKey());
                // logged before the domain may run again, so the line is there once its vCPUs are
                core.log(String.format("d%d: device model %s handed over, domain paused %.1f ms", d.id, m.name(),
                        (System.nanoTime() - p.pausedAtNanos()) / 1e6));
                synchronized (core) {
                    d.awaitingDevices = false;
                    core.applyActive(d);
                }
                break;
            }
        }
    }

    /** The domain is gone: nothing waits for it. */
    void forget(int domid) {
        pending.remove(domid);
    }
}
