package org.xenj.hvm.qemudm.internal;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.xenj.dom0.block.api.BlockImages;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.spi.DeviceModel;
import org.xenj.hypervisor.spi.DeviceModelInstance;
import org.xenj.hypervisor.spi.HvmPlatform;

/**
 * xenj's qemu-dm: the emulated PC devices an HVM domain sees besides those the hypervisor keeps
 * (PIC, PIT, RTC, APICs). Registered as a {@link DeviceModel} service; one {@link PcDevices}
 * per attached domain. The block layer ({@link BlockImages}) opens the IDE disks' images; it is
 * optional and dynamic, so that qemu-dm serves domains without disks while it is absent and is not
 * restarted (which would hand every domain's devices over) when it comes or goes.
 */
@Component(service = DeviceModel.class)
public final class QemuDeviceModel implements DeviceModel {

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile BlockImages blockImages;

    public QemuDeviceModel() {
    }

    /** Outside OSGi (tests, in-process boots): with this block layer. */
    public QemuDeviceModel(BlockImages blockImages) {
        this.blockImages = blockImages;
    }

    @Override
    public String name() {
        return "qemu-dm";
    }

    @Override
    public boolean supports(DomainConfig config) {
        return config.type() == DomainType.HVM;
    }

    /** The PC's serial line (COM1 as the domain console), keyboard controller and IDE disks are ours. */
    @Override
    public java.util.Set<String> claims() {
        return java.util.Set.of("serial", "keyboard", "disk");
    }

    @Override
    public DeviceModelInstance attach(HvmPlatform platform) {
        return PcDevices.attach(platform, blockImages);
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
        return PcDevices.attach(platform, blockImages, s);
    }
}
