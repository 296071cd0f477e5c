package org.xenj.hypervisor.internal.domain;

import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.internal.pool.DomainDirectory;
import org.xenj.hypervisor.internal.sched.SchedDomain;

/** The cpupools' view of the core's domains: the scheduling side of a live guest, and names for messages. */
final class CoreDomainDirectory implements DomainDirectory {

    private final HypervisorCore core;

    CoreDomainDirectory(HypervisorCore core) {
        this.core = core;
    }

    @Override
    public SchedDomain schedDomain(int domid) {
        DomainImpl d = core.requireGuest(domid);
        if (d.phase == DomainImpl.Phase.DYING) {
            throw new HypervisorException("domain " + domid + " is being destroyed");
        }
        return d.sched;
    }

    @Override
    public String domainName(int domid) {
        DomainImpl d = core.domain(domid);
        return d == null ? "?" : d.name;
    }
}
