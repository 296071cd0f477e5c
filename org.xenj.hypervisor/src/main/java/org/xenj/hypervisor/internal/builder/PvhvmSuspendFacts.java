package org.xenj.hypervisor.internal.builder;

import java.util.ArrayList;
import java.util.List;

import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.internal.hypercall.HvmXenAbi;
import org.xenj.hypervisor.internal.hypercall.XenDomain;
import org.xenj.hypervisor.internal.save.PvhvmSuspendState;
import org.xenj.hypervisor.internal.xenabi.XenAbi;

/**
 * Takes a suspended PVHVM domain's Xen facts for the save stream, and checks on restore that the
 * new domain offers the guest what it will look for when its suspend hypercall returns 0: Linux
 * re-binds the xenstore and console event channels by the port numbers it kept
 * ({@code rebind_evtchn_irq}), and finds the rings at the pfns it kept, so both must be the same.
 */
final class PvhvmSuspendFacts {

    private PvhvmSuspendFacts() {
    }

    static PvhvmSuspendState of(HvmXenAbi abi) {
        XenDomain d = abi.domain();
        List<Integer> xen = new ArrayList<>();
        java.util.BitSet set = xenFrames(abi);
        set.stream().forEach(xen::add);
        return new PvhvmSuspendState(d.suspendVcpu, abi.hypercallPageGpa(), d.storePort, d.consolePort,
                d.hvmParams[XenAbi.HVM_PARAM_STORE_PFN], d.hvmParams[XenAbi.HVM_PARAM_CONSOLE_PFN],
                xen.stream().mapToInt(Integer::intValue).toArray());
    }

    /** The guest frames whose machine frames are Xen's own (shared_info, grant frames, rings). */
    static java.util.BitSet xenFrames(HvmXenAbi abi) {
        XenDomain d = abi.domain();
        java.util.BitSet xen = new java.util.BitSet();
        long limit = d.memory.gfnLimit();
        for (long g = 0; g < limit; g++) {
            int mfn = d.memory.mfn(g);
            if (mfn >= 0 && d.isSpecialFrame(mfn)) {
                xen.set((int) g);
            }
        }
        return xen;
    }

    static void checkFits(HvmXenAbi abi, PvhvmSuspendState s) {
        if (abi == null) {
            throw new HypervisorException("the image holds a PVHVM guest, but the restored domain has no Xen ABI (xen_platform_pci=0?)");
        }
        XenDomain d = abi.domain();
        long storePfn = d.hvmParams[XenAbi.HVM_PARAM_STORE_PFN], consolePfn = d.hvmParams[XenAbi.HVM_PARAM_CONSOLE_PFN];
        if (d.storePort != s.storePort() || d.consolePort != s.consolePort() || storePfn != s.storePfn() || consolePfn != s.consolePfn()) {
            throw new HypervisorException("the new domain's xenstore/console rings are at pfn " + storePfn + "/" + consolePfn + " ports "
                    + d.storePort + "/" + d.consolePort + ", the guest kept (its PVHVM_SUSPEND record says) pfn " + s.storePfn() + "/" + s.consolePfn() + " ports "
                    + s.storePort() + "/" + s.consolePort() + ": it could not reconnect");
        }
        if (s.suspendVcpu() >= d.vcpus.length) {
            throw new HypervisorException("the image's suspend vCPU " + s.suspendVcpu() + " does not exist here");
        }
    }
}
