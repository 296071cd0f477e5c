package org.xenj.hypervisor.spi.hypercall;

/** A guest pointer passed to a hypercall is not accessible to the guest (answered -EFAULT). */
public final class GuestMemoryFault extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public GuestMemoryFault() {
        super("bad guest address", null, false, false);
    }
}
