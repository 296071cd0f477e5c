package org.xenj.dom0.vswitch.api;

import org.osgi.annotation.versioning.ConsumerType;

/** What a port's owner does with a frame the bridge delivers to it. */
@ConsumerType
@FunctionalInterface
public interface FrameReceiver {

    /**
     * One frame: the first {@code length} bytes of {@code frame}. The array is the sender's own,
     * shared with every other port the frame reaches (the switch copies nothing, so a receiver can
     * copy straight from it into a guest's buffer): read it, copy from it, keep it if need be, but
     * never change it. Runs on the executor the port was attached with; an exception is counted as
     * a drop.
     */
    void receive(byte[] frame, int length);
}
