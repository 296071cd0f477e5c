package org.xenj.hypervisor.api;

/** A refused or failed management operation; the message is meant for the user. */
public class HypervisorException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public HypervisorException(String message) {
        super(message);
    }

    public HypervisorException(String message, Throwable cause) {
        super(message, cause);
    }
}
