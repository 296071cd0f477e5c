package org.xenj.dom0.vswitch.api;

import java.util.List;
import java.util.concurrent.Executor;

import org.osgi.annotation.versioning.ProviderType;

/** One learning bridge. All methods are thread-safe. */
@ProviderType
public interface Bridge {

    /** Frames a port's queue holds by default before further frames to it are dropped. */
    int DEFAULT_QUEUE_CAPACITY = 512;

    String name();

    /**
     * Attaches a port. Frames for it are handed to {@code receiver} on {@code executor}, one task
     * per frame, at most {@code queueCapacity} waiting; the executor should run them in order (a
     * single thread). {@code name} identifies the port in listings (e.g. {@code vif3.0}); it need
     * not be unique.
     */
    Port attach(String name, Executor executor, int queueCapacity, FrameReceiver receiver);

    /** {@link #attach(String, Executor, int, FrameReceiver)} with {@link #DEFAULT_QUEUE_CAPACITY}. */
    default Port attach(String name, Executor executor, FrameReceiver receiver) {
        return attach(name, executor, DEFAULT_QUEUE_CAPACITY, receiver);
    }

    /** The ports attached now. */
    List<Port> ports();

    /** The learned addresses that have not aged out. */
    List<MacEntry> macTable();

    /** How long a learned address lives without traffic from it, in milliseconds (300 000 by default, as Linux's bridge). */
    long ageingMillis();

    /**
     * Joins the host TAP device {@code tapName} (created if missing) to this bridge, so the host or
     * a network namespace it is moved into reaches the guests. Returns the attachment's state as
     * {@link #hostLink()} reports it; when a TAP cannot be opened here the bridge goes on working
     * between its other ports and the reason is logged once.
     */
    String attachTap(String tapName);

    /** The host attachment: {@code none}, {@code tap <name>}, or {@code tap <name> unavailable: <reason>}. */
    String hostLink();
}
