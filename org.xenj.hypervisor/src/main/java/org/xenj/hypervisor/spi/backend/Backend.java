package org.xenj.hypervisor.spi.backend;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * A Domain 0 backend driver, registered as an OSGi service with the property {@link #KIND}
 * naming the device kind it serves ({@code vbd}, {@code vif}, ...). The hypervisor attaches it to
 * every domain whose configuration asks for that kind: {@code vbd} when the domain has
 * {@code disk} entries, {@code vif} when it has {@code vif} entries, and any kind listed in the
 * xenj key {@code backends} (e.g. {@code backends = ["pvtest"]}), and any domain a hot-plug asked
 * {@link BackendHotplug#serve} for. One backend per kind serves a
 * domain; when it leaves, the newest other backend of that kind takes the domain over.
 *
 * <p>{@link #attach} and everything it registers run on a single-threaded executor the
 * hypervisor keeps for this backend and this domain ({@link BackendContext#executor()}), never on
 * a guest vCPU thread. An exception thrown from any of them detaches the backend from that domain
 * (its event channels closed, grants unmapped, watches removed) with a dmesg line; other domains
 * are unaffected.
 */
@ConsumerType
public interface Backend {

    /** Service property: the device kind served, e.g. {@code vbd}. */
    String KIND = "xenj.backend.kind";

    /** Starts serving one domain; the returned instance is detached when the domain or the backend goes. */
    BackendInstance attach(BackendContext context) throws Exception;

    /**
     * Takes over a domain that a previous instance of a backend of this kind served, in the state
     * it saved ({@link BackendInstance#saveState}): the hand-over when a backend bundle is stopped,
     * updated or replaced while the domain runs. The new instance maps the rings again, binds the
     * frontend's ports again and serves on from the recorded indices without touching the
     * frontend's xenstore state (the frontend must not see a reconnect). A record this backend
     * cannot read must be refused with an exception, never silently reset: the domain's devices
     * then wait for another backend of the kind.
     *
     * @since 1.1
     */
    default BackendInstance attach(BackendContext context, byte[] state) throws Exception {
        throw new UnsupportedOperationException(getClass().getName() + " cannot take over devices from a saved state");
    }
}
