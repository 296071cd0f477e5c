package org.xenj.hypervisor.internal.hypercall;

import org.xenj.hypervisor.internal.cpu.Cpu;
import org.xenj.hypervisor.internal.cpu.CpuidHook;
import org.xenj.hypervisor.internal.cpu.HypercallHandler;
import org.xenj.hypervisor.internal.exec.GuestContext;
import org.xenj.hypervisor.internal.pv.HypercallPage;
import org.xenj.hypervisor.internal.pv.XenCpuidLeaves;
import org.xenj.hypervisor.internal.xenabi.XenAbi;
import org.xenj.hypervisor.spi.IoHandler;

/**
 * Xen's ABI for an HVM domain, for the HVM platform to plug into its CPUs: the hypervisor CPUID
 * leaves (and the "hypervisor present" bit), the hypercall MSR that fills a page with
 * {@code vmcall} stubs, {@code vmcall}/{@code vmmcall} dispatch to the hypercall table (pointers
 * are guest-physical), HVM params the toolstack sets (store/console pfn and ports), and the debug
 * ports 0x12/0xe9. Event channels, grant tables and memory_op work as for PV.
 */
public final class HvmXenAbi {

    private final XenHost host;
    private final XenDomain domain;
    private final HypercallContext[] contexts;

    public HvmXenAbi(GuestContext context, int vcpus) {
        this.host = XenHosts.forMachine(context.memory().machine());
        long maxPages = Math.max(context.config().maxMemoryMiB(), context.config().memoryMiB()) << 8;
        this.domain = host.createDomain(context, false, vcpus, maxPages);
        this.contexts = new HypercallContext[vcpus];
        for (int i = 0; i < vcpus; i++) {
            contexts[i] = new HypercallContext(domain, i, null);
        }
    }

    public XenDomain domain() {
        return domain;
    }

    /** The hypercall handler to install on vCPU {@code vcpu}'s CPU. */
    public HypercallHandler hypercallHandler(int vcpu) {
        HypercallContext hc = contexts[vcpu];
        return (Cpu cpu, int kind) -> {
            if (kind != HypercallHandler.VMCALL) {
                return false;
            }
            if (cpu.getCpl() != 0) {
                cpu.setReg32(0, -XenAbi.EPERM); // Xen refuses hypercalls from HVM user mode
                return true;
            }
            int rc = host.dispatcher.dispatch(hc, cpu.getReg32(0), cpu.getReg32(3), cpu.getReg32(1), cpu.getReg32(2),
                    cpu.getReg32(6), cpu.getReg32(7));
            cpu.setReg32(0, rc);
            return true;
        };
    }

    /** The CPUID hook for vCPU {@code vcpu}: hypervisor bit and Xen's leaves. */
    public CpuidHook cpuidHook(int vcpu) {
        return (leaf, subleaf, regs) -> {
            if (leaf == 1) {
                regs[2] |= 1 << 31;
            }
            XenCpuidLeaves.query(leaf, subleaf, domain.domid, vcpu, regs);
        };
    }

    /**
     * WRMSR of the hypercall MSR: value = guest-physical page address | page index (only page 0
     * exists). Returns false (the CPU raises #GP) for other MSRs or a page that is not RAM.
     */
    public boolean writeMsr(int msr, long value) {
        if (msr != XenCpuidLeaves.HYPERCALL_MSR || (value & 0xfff) != 0) {
            return false;
        }
        long gfn = value >>> 12;
        int mfn = domain.memory.mfn(gfn);
        if (mfn < 0 || domain.machine.owner(mfn) != domain.domid) {
            return false;
        }
        HypercallPage.writeHvm(domain.machine, (long) mfn << 12);
        return true;
    }

    /** Sets an HVM param as the toolstack does (store/console pfn and event channel, callback). */
    public void setParam(int index, long value) {
        if (index < 0 || index >= XenAbi.HVM_NR_PARAMS) {
            throw new IllegalArgumentException("HVM param " + index + " does not exist");
        }
        domain.hvmParams[index] = value;
    }

    /** An I/O handler for ports 0x12 and 0xe9: bytes written become lines of the domain's log. */
    public IoHandler debugPort() {
        return new XenDebugPort(domain.context);
    }

    public void destroy() {
        host.destroyDomain(domain.domid);
    }
}
