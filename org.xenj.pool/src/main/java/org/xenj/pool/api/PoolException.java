package org.xenj.pool.api;

/** A pool operation refused or failed; the message says why, for a user. */
public class PoolException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public PoolException(String message) {
        super(message);
    }

    public PoolException(String message, Throwable cause) {
        super(message, cause);
    }
}
