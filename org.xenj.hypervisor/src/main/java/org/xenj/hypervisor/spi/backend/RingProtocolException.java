package org.xenj.hypervisor.spi.backend;

/**
 * The peer broke the shared-ring protocol (an index that moved by more than the ring holds). The
 * ring's content can no longer be trusted: the usual answer is to stop serving that ring.
 */
public class RingProtocolException extends BackendException {

    private static final long serialVersionUID = 1L;

    public RingProtocolException(String message) {
        super(message);
    }
}
