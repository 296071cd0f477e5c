package org.xenj.hypervisor.internal.pool;

import org.xenj.hypervisor.internal.sched.SchedDomain;

/** How the pool manager finds domains it is asked about; implemented by the domain layer. */
public interface DomainDirectory {

    /** The scheduling side of a live guest domain; throws HypervisorException if there is none. */
    SchedDomain schedDomain(int domid);

    /** Display name for messages. */
    String domainName(int domid);
}
