package org.xenj.hypervisor.spi.backend;

import org.osgi.annotation.versioning.ProviderType;

/** Domain 0's end of an interdomain event channel with the frontend. */
@ProviderType
public interface EventChannel {

    /** Domain 0's port number. */
    int localPort();

    /** The frontend's port number. */
    int remotePort();

    /** Signals the frontend (EVTCHNOP_send). Does nothing once closed. */
    void notifyRemote();

    /** Closes the port; no more events are delivered. Idempotent. */
    void close();
}
