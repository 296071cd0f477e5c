package org.xenj.pool.internal.record;

/** A record in the engine that is not one this xenj can read: the message names the field and the problem. */
public final class RecordException extends Exception {

    private static final long serialVersionUID = 1L;

    public RecordException(String message) {
        super(message);
    }

    public RecordException(String message, Throwable cause) {
        super(message, cause);
    }
}
