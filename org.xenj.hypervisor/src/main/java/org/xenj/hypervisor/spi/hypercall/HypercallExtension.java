package org.xenj.hypervisor.spi.hypercall;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * A hypercall contributed by another bundle (an OSGi service). It runs on the calling vCPU's
 * thread and must not block. Return a value >= 0 or a negative Xen errno; a
 * {@link GuestMemoryFault} thrown by the call's memory accessors becomes -EFAULT.
 */
@ConsumerType
public interface HypercallExtension {

    /** The hypercall number served (one of those Xen's table leaves free, e.g. 48..55). */
    int number();

    int invoke(HypercallCall call);
}
