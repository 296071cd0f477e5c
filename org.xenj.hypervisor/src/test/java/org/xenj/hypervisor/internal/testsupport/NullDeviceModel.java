package org.xenj.hypervisor.internal.testsupport;

import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.spi.DeviceModel;
import org.xenj.hypervisor.spi.DeviceModelInstance;
import org.xenj.hypervisor.spi.HvmPlatform;

/** A device model that supports every domain and adds no device: the platform alone. */
public final class NullDeviceModel implements DeviceModel {
    @Override
    public String name() {
        return "null";
    }

    @Override
    public boolean supports(DomainConfig config) {
        return true;
    }

    @Override
    public DeviceModelInstance attach(HvmPlatform platform) {
        return new DeviceModelInstance() {
            @Override
            public void reset() {
            }

            @Override
            public void detach() {
            }
        };
    }
}
