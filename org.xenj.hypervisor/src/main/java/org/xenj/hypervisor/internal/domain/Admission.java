package org.xenj.hypervisor.internal.domain;

import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.spi.DeviceModel;

/** What a new domain's configuration must pass before the core gives it memory and a domid. */
final class Admission {

    private Admission() {
    }

    static void validateName(String name, Iterable<DomainImpl> domains) {
        if (name == null || !name.matches("[A-Za-z0-9_.+:@-]{1,64}")) {
            throw new HypervisorException("bad domain name '" + name + "': use 1-64 letters, digits or _ . + : @ -");
        }
        if (name.matches("[0-9]+")) {
            throw new HypervisorException("bad domain name '" + name + "': a name cannot be only digits (it would read as an id)");
        }
        for (DomainImpl d : domains) {
            if (d.name.equals(name) && d.phase != DomainImpl.Phase.GONE) {
                throw new HypervisorException("a domain named '" + name + "' already exists (id " + d.id + ")");
            }
        }
    }

    /**
     * The guest types that wait, paused, for their builder (one being updated). PVH is not among
     * them: without its builder a PVH domain is refused at once, never left paused.
     */
    private static final java.util.Set<DomainType> BUILT_IN_TYPES = java.util.EnumSet.of(DomainType.HVM, DomainType.PV,
            DomainType.WORKLOAD);

    /**
     * A type nothing here can build is refused at once with the reason, never left paused for ever:
     * waiting is for a built-in builder that is being updated, not for one that does not exist.
     */
    static void refuseUnbuildableType(DomainConfig config, Plugins plugins) {
        if (plugins.builderFor(config.type()) == null && !BUILT_IN_TYPES.contains(config.type())) {
            throw new HypervisorException("cannot create domain '" + config.name() + "': type "
                    + config.type().name().toLowerCase(java.util.Locale.ROOT)
                    + " is not supported here (no guest builder for it is installed; xenj builds hvm, pv, pvh and workload)");
        }
    }

    /** What the domain waits for before it can be built, or null. */
    static String missingPlugin(DomainConfig config, Plugins plugins) {
        if (plugins.builderFor(config.type()) == null) {
            return "a " + config.type() + " guest builder";
        }
        if (config.type() == DomainType.HVM) {
            for (DeviceModel m : plugins.deviceModels()) {
                try {
                    if (m.supports(config)) {
                        return null;
                    }
                } catch (RuntimeException e) {
                    // a broken model supports nothing
                }
            }
            return "a device model";
        }
        return null;
    }
}
