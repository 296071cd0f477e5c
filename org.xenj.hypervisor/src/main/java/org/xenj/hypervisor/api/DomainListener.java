package org.xenj.hypervisor.api;

import org.osgi.annotation.versioning.ConsumerType;

/** Told of domain life-cycle changes; called on a hypervisor thread, must not block. */
@ConsumerType
public interface DomainListener {
    default void created(Domain domain) {
    }

    default void stateChanged(Domain domain, DomainState previous) {
    }

    default void destroyed(int domid, String name) {
    }
}
