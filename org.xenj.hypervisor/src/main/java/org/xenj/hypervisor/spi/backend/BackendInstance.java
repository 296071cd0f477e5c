package org.xenj.hypervisor.spi.backend;

import org.osgi.annotation.versioning.ConsumerType;

/** A backend serving one domain. */
@ConsumerType
public interface BackendInstance {

    /**
     * Stops serving the domain (it is being destroyed, or the backend's bundle leaves). Runs on
     * the backend's executor; the hypervisor closes whatever the context still holds afterwards.
     */
    void detach();
}
