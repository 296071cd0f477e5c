package org.xenj.hypervisor.spi.backend;

/**
 * A request the hypervisor refused on a backend's behalf: a xenstore error (the message starts
 * with Xen's errno name, e.g. {@code ENOENT}), a grant the frontend did not give, an access to an
 * unmapped or read-only page, or a context that is detached.
 */
public class BackendException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public BackendException(String message) {
        super(message);
    }

    public BackendException(String message, Throwable cause) {
        super(message, cause);
    }
}
