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

    /**
     * Plugs this model's devices into a running (paused) domain in the state a previous instance of
     * a model of the same name saved ({@link DeviceModelInstance#saveState}): the hand-over when the
     * model's bundle is updated or replaced. A record this model cannot read must be refused with an
     * exception (the domain then stays paused), never silently reset.
     *
     * @since 1.2
     */
    default DeviceModelInstance attach(HvmPlatform platform, byte[] state) {
        throw new UnsupportedOperationException(name() + " cannot take over devices from a saved state");
    }
}
