package org.xenj.hypervisor.internal.save;

/** A save stream that cannot be restored: another version, a damaged or missing record. The message says which. */
public final class SaveFormatException extends Exception {

    private static final long serialVersionUID = 1L;

    public SaveFormatException(String message) {
        super(message);
    }

    public SaveFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
