package org.xenj.hypervisor.internal.xenstore;

/** A xenstore request failed with one of the error names of io/xs_wire.h (ENOENT, EACCES, EAGAIN...). */
public final class XsException extends RuntimeException {

    private static final long serialVersionUID = 1L;
    private final String errno;

    public XsException(String errno) {
        super(errno, null, false, false);
        this.errno = errno;
    }

    public String errno() {
        return errno;
    }
}
