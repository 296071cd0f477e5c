package org.xenj.dom0.vswitch.api;

import org.osgi.annotation.versioning.ProviderType;

/** A bridge port: what a NIC (PV vif, emulated card, TAP) sends through and is counted on. */
@ProviderType
public interface Port {

    String name();

    /** The bridge this port belongs to. */
    Bridge bridge();

    /**
     * Sends the first {@code length} bytes of {@code frame} (an Ethernet frame: destination MAC,
     * source MAC, EtherType, payload; no FCS) into the bridge. The switch takes the array over and
     * does not copy it: the caller must not change it afterwards. Returns false, counting a drop,
     * when the frame is shorter than {@link Frames#HEADER_LENGTH}, longer than
     * {@link Frames#MAX_LENGTH}, or the port is closed. Never blocks and never runs a receiver on
     * the caller's thread.
     */
    boolean send(byte[] frame, int length);

    /** This port's counters now. */
    PortCounters counters();

    /** Frames waiting in this port's queue. */
    int queued();

    /**
     * Keeps the port on its bridge without a receiver, for a hand-over of the NIC behind it (a
     * backend bundle being replaced): from now on frames for it — including those already queued
     * for the receiver and not yet run — wait in order (up to the queue capacity; more are dropped
     * and counted) until a port of the same name is attached to this bridge, which takes them over
     * with the addresses learned here. The receiver is never called again. The default closes.
     *
     * @since 1.2
     */
    default void park() {
        close();
    }

    /** Detaches the port: it receives nothing more and its learned addresses are forgotten. Idempotent. */
    void close();

    boolean isOpen();
}
