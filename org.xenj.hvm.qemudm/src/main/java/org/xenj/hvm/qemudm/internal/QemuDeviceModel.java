package org.xenj.hvm.qemudm.internal;

import org.osgi.service.component.annotations.Component;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.spi.DeviceModel;
import org.xenj.hypervisor.spi.DeviceModelInstance;
import org.xenj.hypervisor.spi.HvmPlatform;

/**
 * xenj's qemu-dm: the emulated PC devices an HVM domain sees besides those the hypervisor keeps
 * (PIC, PIT, RTC, APICs). Registered as a {@link DeviceModel} service; one {@link PcDevices}
 * per attached domain.
 */
@Component(service = DeviceModel.class)
public final class QemuDeviceModel implements DeviceModel {

    @Override
    public String name() {
        return "qemu-dm";
    }

    @Override
    public boolean supports(DomainConfig config) {
        return config.type() == DomainType.HVM;
    }

    /** The PC's serial line (COM1 as the domain console) and keyboard controller are ours. */
    @Override
    public java.util.Set<String> claims() {
        return java.util.Set.of("serial", "keyboard");
    }

    @Override
    public DeviceModelInstance attach(HvmPlatform platform) {
        return PcDevices.attach(platform);
    }

    /** The hand-over from a previous qemu-dm (bundle update): its record, version-checked, or refused. */
    @Override
    public DeviceModelInstance attach(HvmPlatform platform, byte[] state) {
        PcDevicesState s;
        try {
            s = PcDevicesState.fromBytes(state);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("qemu-dm cannot take over: " + e.getMessage(), e);
        }
        return PcDevices.attach(platform, s);
    }
}
