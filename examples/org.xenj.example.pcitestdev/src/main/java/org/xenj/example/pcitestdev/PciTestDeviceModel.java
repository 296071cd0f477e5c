package org.xenj.example.pcitestdev;

import java.util.Set;

import org.osgi.service.component.annotations.Component;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.spi.DeviceModel;
import org.xenj.hypervisor.spi.DeviceModelInstance;
import org.xenj.hypervisor.spi.HvmPlatform;
import org.xenj.hypervisor.spi.pci.PciSlot;

/**
 * A device provider from outside the project: with {@code pci_testdev=1} in a domain's xl.cfg it
 * puts a {@link PciTestDevice} on the domain's PCI bus, next to qemu-dm's devices. Nothing but the
 * exported packages {@code org.xenj.hypervisor.api}, {@code .spi} and {@code .spi.pci} is used.
 */
@Component(service = DeviceModel.class)
public final class PciTestDeviceModel implements DeviceModel {

    public static final String KEY = "pci_testdev";

    @Override
    public String name() {
        return "pci-testdev";
    }

    @Override
    public boolean supports(DomainConfig config) {
        String v = config.raw().get(KEY);
        return config.type() == DomainType.HVM && v != null && v.trim().replace("\"", "").equals("1");
    }

    @Override
    public Set<String> claims() {
        return Set.of(KEY);
    }

    @Override
    public DeviceModelInstance attach(HvmPlatform platform) {
        PciTestDevice device = new PciTestDevice(platform);
        PciSlot slot = platform.plugPci(-1, 0, device); // first free slot
        device.pluggedAt(slot);
        platform.log(String.format("pci-testdev at 00:%02x.0", slot.bdf() >> 3));
        return new DeviceModelInstance() {
            @Override
            public void reset() {
                device.reset();
            }

            @Override
            public void detach() {
                platform.unplugPci(slot);
            }
        };
    }
}
