package org.xenj.dom0.vswitch.api;

import java.nio.ByteBuffer;

import org.osgi.annotation.versioning.ConsumerType;

/** What a port's owner does with a frame the bridge delivers to it. */
@ConsumerType
@FunctionalInterface
public interface FrameReceiver {

    /**
     * One frame, as a read-only buffer from position 0 to its length. Other ports may see the same
     * bytes (a flooded frame is not copied per port): read them, copy them out, never change them.
     * Runs on the executor the port was attached with; an exception is counted as a drop.
     */
    void receive(ByteBuffer frame);
}
