package org.xenj.hypervisor.internal.pv;

import org.xenj.hypervisor.internal.dom0.PvDomainServices;

import org.xenj.hypervisor.api.ShutdownReason;
import org.xenj.hypervisor.internal.exec.Guest;
import org.xenj.hypervisor.internal.exec.VCpuExecutor;
import org.xenj.hypervisor.internal.hypercall.XenDomain;
import org.xenj.hypervisor.internal.hypercall.XenHost;
import org.xenj.hypervisor.internal.xenstore.XenStore;

/** A running PV domain: its vCPUs on the IA-32 CPU and Dom0's console/xenstore ends. */
public final class PvGuest implements Guest {

    private final XenHost host;
    private final XenDomain domain;
    private final PvVcpu[] vcpus;
    private final PvDomainServices services;

    PvGuest(XenHost host, XenDomain domain, PvBootState boot, PvDomainServices services) {
        this.host = host;
        this.domain = domain;
        this.services = services;
        this.vcpus = new PvVcpu[domain.vcpus.length];
        for (int i = 0; i < vcpus.length; i++) {
            vcpus[i] = new PvVcpu(domain, i, boot);
        }
    }

    @Override
    public VCpuExecutor executor(int vcpu) {
        return vcpu >= 0 && vcpu < vcpus.length ? vcpus[vcpu].scheduled() : null;
    }

    public PvVcpu vcpu(int i) {
        return vcpus[i];
    }

    public XenDomain domain() {
        return domain;
    }

    public PvDomainServices services() {
        return services;
    }

    /** Asks the guest to shut down the PV way: {@code control/shutdown} in its xenstore home. */
    @Override
    public boolean requestGuestShutdown(ShutdownReason reason) {
        String word = switch (reason) {
            case POWEROFF -> "poweroff";
            case REBOOT -> "reboot";
            case SUSPEND -> "suspend";
            default -> null;
        };
        if (word == null) {
            return false;
        }
        host.store.write(0, XenStore.domainPath(domain.domid) + "/control/shutdown", word);
        return true;
    }

    @Override
    public void destroy() {
        services.close();
        host.destroyDomain(domain.domid);
    }
}
