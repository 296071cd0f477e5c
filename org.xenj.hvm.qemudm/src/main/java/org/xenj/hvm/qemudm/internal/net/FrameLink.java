package org.xenj.hvm.qemudm.internal.net;

/**
 * Where an emulated NIC's transmitted frames go: a virtual switch port in a domain, a test's list
 * in unit tests. The NIC's receive side is its own {@code receive(byte[], int)}, which whoever owns
 * the link calls on the NIC's executor.
 */
@FunctionalInterface
public interface FrameLink {

    /** A link to nowhere: frames are dropped (no switch is running). */
    FrameLink NONE = (frame, length) -> false;

    /**
     * Sends the first {@code length} bytes of {@code frame} (destination, source, EtherType,
     * payload; no FCS). The link takes the array over: the NIC never touches it again. Never blocks.
     * Returns false when the frame was dropped.
     */
    boolean send(byte[] frame, int length);
}
