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
}
