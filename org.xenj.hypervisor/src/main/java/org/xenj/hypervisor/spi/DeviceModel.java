package org.xenj.hypervisor.spi;

import org.osgi.annotation.versioning.ConsumerType;
import org.xenj.hypervisor.api.DomainConfig;

/**
 * A provider of emulated devices for HVM domains (qemu-dm is one), registered as an OSGi service.
 * Several providers can serve one domain: the hypervisor attaches every provider that
 * {@link #supports} the domain's config, unless a key it {@link #claims} is already served by a
 * provider attached before it (newest registered first), which is then left out with a log line.
 * A domain that no provider supports stays paused until one appears.
 */
@ConsumerType
public interface DeviceModel {

    String name();

    boolean supports(DomainConfig config);

    /**
     * The xl.cfg keys whose devices this provider serves ({@code "disk"}, {@code "vif"},
     * {@code "vga"}/{@code "stdvga"}, {@code "serial"}, {@code "usb"}...): one provider per key in
     * a domain. Empty (the default) for providers of extra devices that collide with no one.
     */
    default java.util.Set<String> claims() {
        return java.util.Set.of();
    }

    /** Plugs this model's devices into a domain's platform, before its first instruction. */
    DeviceModelInstance attach(HvmPlatform platform);
}
