package org.xenj.hypervisor.spi.hypercall;

import org.osgi.annotation.versioning.ProviderType;

/** One invocation of a {@link HypercallExtension}: caller, arguments, caller's memory. */
@ProviderType
public interface HypercallCall {

    int domid();

    int vcpu();

    /** Argument {@code i} (0..4 = EBX, ECX, EDX, ESI, EDI). */
    int arg(int i);

    /** Reads the caller's memory at a guest pointer; throws {@link GuestMemoryFault} if the guest may not. */
    void read(int guestAddress, byte[] dst, int off, int len);

    /** Writes the caller's memory at a guest pointer; throws {@link GuestMemoryFault} if the guest may not. */
    void write(int guestAddress, byte[] src, int off, int len);
}
