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

    /** The guest's RAM as the builder laid it out, pfn -> mfn (a save names its frames by it). */
    private final int[] p2m;

    PvGuest(XenHost host, XenDomain domain, PvBootState boot, PvDomainServices services, int[] p2m) {
        this.host = host;
        this.p2m = p2m.clone();
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

    int[] p2m() {
        return p2m.clone();
    }

    @Override
    public String saveRefusal() {
        return PvSaveRestore.refusal(this);
    }

    @Override
    public org.xenj.hypervisor.internal.save.MachineImage saveMachine() {
        return PvSaveRestore.save(this);
    }

    @Override
    public void prepareRestore(org.xenj.hypervisor.internal.save.MachineImage image) {
        PvSaveRestore.prepare(this, image);
    }

    @Override
    public void restoreMachine(org.xenj.hypervisor.internal.save.MachineImage image) {
        PvSaveRestore.restore(this, image);
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
