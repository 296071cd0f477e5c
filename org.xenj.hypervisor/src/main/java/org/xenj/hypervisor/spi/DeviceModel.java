package org.xenj.hypervisor.spi;

import org.osgi.annotation.versioning.ConsumerType;
import org.xenj.hypervisor.api.DomainConfig;

/**
 * An HVM device model (the qemu-dm of Xen), registered as an OSGi service. The hypervisor
 * attaches it to every HVM domain it {@link #supports}; a domain whose device model is absent
 * stays paused until one appears.
 */
@ConsumerType
public interface DeviceModel {

    String name();

    boolean supports(DomainConfig config);

    /** Plugs this model's devices into a domain's platform, before its first instruction. */
    DeviceModelInstance attach(HvmPlatform platform);
}
