package org.xenj.hypervisor.internal.dom0;

import org.xenj.hypervisor.internal.hypercall.XenDomain;
import org.xenj.hypervisor.internal.hypercall.XenHost;
import org.xenj.hypervisor.internal.xenabi.XenAbi;

/**
 * What Xen's toolstack gives an HVM domain before it starts: a xenstore ring page and a console
 * ring page in its physmap, each with an unbound event channel to Domain 0, announced through
 * HVM_PARAM_STORE_PFN/EVTCHN and HVM_PARAM_CONSOLE_PFN/EVTCHN, and the domain introduced in
 * xenstore. The pages sit just above the guest's RAM (Xen puts them in its special-page area
 * below 0xff000000; the guest learns the place from the params either way), outside the e820
 * RAM, so the guest maps them as I/O memory and never hands them to its allocator.
 */
public final class HvmStoreAndConsole {

    private HvmStoreAndConsole() {
    }

    /** Sets the pages, ports and params up; returns Dom0's services for the domain. Console input stays with the serial line. */
    public static PvDomainServices setUp(XenHost host, XenDomain d) {
        return setUp(host, d, false);
    }

    /**
     * As above; {@code consoleInput} true makes the console ring the domain's console input too
     * (PVH: hvc0 is the only console, there is no serial line).
     */
    public static PvDomainServices setUp(XenHost host, XenDomain d, boolean consoleInput) {
        long gfn = d.memory.gfnLimit();
        d.setPseudoPhysPages(d.memory.populatedFrames()); // memory/target: the balloon keeps what it has
        d.storeMfn = d.allocateSpecialFrame();
        d.consoleMfn = d.allocateSpecialFrame();
        synchronized (d.mmuLock) {
            d.memory.mapFrame(gfn, d.storeMfn);
            d.memory.mapFrame(gfn + 1, d.consoleMfn);
        }
        PvDomainServices.allocatePorts(d);
        d.hvmParams[XenAbi.HVM_PARAM_STORE_PFN] = gfn;
        d.hvmParams[XenAbi.HVM_PARAM_STORE_EVTCHN] = d.storePort;
        d.hvmParams[XenAbi.HVM_PARAM_CONSOLE_PFN] = gfn + 1;
        d.hvmParams[XenAbi.HVM_PARAM_CONSOLE_EVTCHN] = d.consolePort;
        return new PvDomainServices(host, d, d.context.config().name(), consoleInput);
    }
}
