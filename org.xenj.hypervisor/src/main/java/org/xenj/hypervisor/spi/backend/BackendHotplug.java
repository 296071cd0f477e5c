package org.xenj.hypervisor.spi.backend;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The hypervisor's side of hot-plug, a service it registers for backends: xl's
 * {@code block-attach} and {@code network-attach} work on a domain created without any disk or
 * vif, because Domain 0's backend of that kind serves every domain. Here a {@link Backend} is
 * attached to the domains whose configuration names its kind; a backend's own hot-plug service
 * (blkback's, netback's) asks for the others with {@link #serve}.
 */
@ProviderType
public interface BackendHotplug {

    /**
     * Makes the backend of {@code kind} serve domain {@code domid} if none does yet: the kind joins
     * those the domain asks for (so a backend of the kind registered later serves it too, and the
     * next of the kind takes over when this one leaves), the newest registered backend of the kind
     * is attached, and the call returns once its {@link Backend#attach} has run on its executor.
     * Returns at once when a backend of the kind already serves the domain. Never call it from a
     * backend's executor (it waits for one).
     *
     * @throws IllegalArgumentException the domain is not running or has no Xen ABI (event
     *                                  channels, grants, xenstore), or {@code kind} is no kind name
     * @throws IllegalStateException    no backend of the kind is registered, or its attach failed
     *                                  or did not finish in time
     */
    void serve(int domid, String kind);
}
