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

    /**
     * Quiesces this instance for a hand-over and returns its state as the backend's own versioned
     * record: no request is taken from a ring any more, every request already taken has been
     * answered and its response pushed, and the record holds every bit the next instance needs to
     * carry on (ring references and indices, event channel ports, negotiated features, xenstore
     * states, counters). Called from a hypervisor thread, not the executor — which keeps running so
     * that in-flight work can finish there; {@link #detach} follows on the executor, and must then
     * leave xenstore and the frontend as they are. May block for a bounded time; null or an
     * exception: this instance cannot be handed over (it is detached as before and the next
     * backend starts afresh).
     *
     * @since 1.1
     */
    default byte[] saveState() {
        return null;
    }
}
