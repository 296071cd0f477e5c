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

    /** Detaches the port: it receives nothing more and its learned addresses are forgotten. Idempotent. */
    void close();

    boolean isOpen();
}
