package org.xenj.hypervisor.internal.domain;

import org.xenj.hypervisor.spi.DeviceModel;
import org.xenj.hypervisor.spi.SchedulerType;
import org.xenj.hypervisor.spi.backend.Backend;
import org.xenj.hypervisor.spi.hypercall.HypercallExtension;

/** What the core does when plugins come and go: schedulers, builders, device models, extensions, backends. */
final class CorePluginListener implements Plugins.Listener {

    private final HypervisorCore core;

    CorePluginListener(HypervisorCore core) {
        this.core = core;
    }

    @Override
    public void schedulerAdded(SchedulerType t) {
        core.pools().typeAdded(t);
    }

    @Override
    public void schedulerRemoved(SchedulerType t) {
        core.pools().typeRemoved(t);
    }

    @Override
    public void buildersChanged() {
        core.onControl(core::buildWaiting);
        core.onControl(() -> core.deviceHandOver().modelsChanged(core.plugins().deviceModels()));
    }

    @Override
    public void deviceModelRemoved(DeviceModel m) {
        core.deviceHandOver().modelGoing(m, core.domainsNow()); // now, while the going model's code still runs
    }

    @Override
    public void extensionAdded(HypercallExtension e) {
        if (!core.xen().dispatcher.addExtension(e)) {
            core.log("hypercall extension " + e.getClass().getName() + ": number " + e.number()
                    + " is taken or out of range, ignored");
        }
    }

    @Override
    public void extensionRemoved(HypercallExtension e) {
        core.xen().dispatcher.removeExtension(e);
    }

    @Override
    public void backendAdded(Backend b, String kind) {
        core.backends().addBackend(b, kind);
    }

    @Override
    public void backendRemoved(Backend b) {
        core.backends().removeBackend(b);
    }
}
