package org.xenj.hypervisor.internal.hypercall;

/**
 * A hypercall touched guest memory it may not: unmapped, not the domain's, or read-only for a
 * write. Turned into {@code -EFAULT} by the dispatcher. Stackless and shared: a guest can raise
 * it millions of times (the fuzz test does) without the hypervisor allocating.
 */
public final class GuestFault extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public static final GuestFault INSTANCE = new GuestFault();

    private GuestFault() {
        super("bad guest address", null, false, false);
    }
}
