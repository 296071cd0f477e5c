package org.xenj.hypervisor.internal.builder;

import java.util.ArrayList;
import java.util.List;

import org.xenj.hypervisor.internal.exec.Guest;
import org.xenj.hypervisor.internal.exec.VCpuExecutor;
import org.xenj.hypervisor.internal.platform.HvmPlatformImpl;
import org.xenj.hypervisor.spi.DeviceModel;
import org.xenj.hypervisor.spi.DeviceModelInstance;

/**
 * A built HVM guest: its platform, one device instance per serving device model, and its vCPUs.
 * A model's place can be vacated (its bundle stops: state taken, devices detached) and filled again
 * by a model of the same name with that state — the hand-over the domain core drives.
 */
final class HvmGuest implements Guest {

    private final HvmPlatformImpl platform;
    /** Per place: the serving model (null while vacant), its name, and its devices. */
    private final List<DeviceModel> models;
    private final List<String> names = new ArrayList<>();
    private final List<DeviceModelInstance> devices;
    private final VCpuExecutor[] executors;

    HvmGuest(HvmPlatformImpl platform, List<DeviceModel> models, List<DeviceModelInstance> devices, VCpuExecutor[] executors) {
        this.platform = platform;
        this.models = new ArrayList<>(models);
        models.forEach(m -> names.add(m.name()));
        this.devices = new ArrayList<>(devices);
        this.executors = executors;
    }

    @Override
    public VCpuExecutor executor(int vcpu) {
        return executors[vcpu];
    }

    HvmPlatformImpl platform() {
        return platform;
    }

    @Override
    public synchronized boolean usesDeviceModel(DeviceModel model) {
        return models.contains(model);
    }

    @Override
    public synchronized byte[] detachDeviceModel(DeviceModel model) {
        int i = models.indexOf(model);
        if (i < 0) {
            throw new IllegalArgumentException(model.name() + " serves no device of this guest");
        }
        DeviceModelInstance d = devices.get(i);
        byte[] state;
        try {
            state = d.saveState();
        } finally {
            models.set(i, null);
            devices.set(i, null);
            platform.pciBus().keepHeaders(); // the next instance's functions keep their BARs
            d.detach();
        }
        return state;
    }

    @Override
    public synchronized void attachDeviceModel(DeviceModel model, byte[] state) {
        for (int i = 0; i < models.size(); i++) {
            if (models.get(i) == null && names.get(i).equals(model.name())) {
                try {
                    devices.set(i, model.attach(platform, state));
                } finally {
                    platform.pciBus().dropKeptHeaders();
                }
                models.set(i, model);
                return;
            }
        }
        throw new IllegalArgumentException("no vacant place for device model " + model.name());
    }

    @Override
    public String debugState() {
        return platform.debugState();
    }

    @Override
    public void destroy() {
        platform.destroy();
        List<DeviceModelInstance> live;
        synchronized (this) {
            live = new ArrayList<>(devices);
        }
        live.stream().filter(d -> d != null).forEach(DeviceModelInstance::detach);
    }
}
