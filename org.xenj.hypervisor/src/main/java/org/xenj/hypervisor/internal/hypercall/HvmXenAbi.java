package org.xenj.hypervisor.internal.hypercall;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLongArray;

import org.xenj.hypervisor.internal.cpu.Cpu;
import org.xenj.hypervisor.internal.cpu.CpuidHook;
import org.xenj.hypervisor.internal.cpu.HypercallHandler;
import org.xenj.hypervisor.internal.exec.GuestContext;
import org.xenj.hypervisor.internal.hypercall.HypercallPage;
import org.xenj.hypervisor.internal.hypercall.XenCpuidLeaves;
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

    /** Sub-command slots counted per hypercall number (xen_version, memory_op, hvm_op, ... commands). */
    private static final int COUNTED_CMDS = 32;
    /** Hypercalls whose first argument is a command worth telling apart in the counts. */
    private static final long CMD_HYPERCALLS = 1L << XenAbi.HC_XEN_VERSION | 1L << XenAbi.HC_MEMORY_OP | 1L << XenAbi.HC_HVM_OP
            | 1L << XenAbi.HC_EVENT_CHANNEL_OP | 1L << XenAbi.HC_SCHED_OP | 1L << XenAbi.HC_VCPU_OP | 1L << XenAbi.HC_GRANT_TABLE_OP
            | 1L << XenAbi.HC_PHYSDEV_OP;

    private final XenHost host;
    private final XenDomain domain;
    private final HypercallContext[] contexts;
    private final HvmLinearMemory[] views;
    /** Calls seen, indexed nr * (COUNTED_CMDS + 1) + (cmd slot or COUNTED_CMDS for "other"). */
    private final AtomicLongArray calls = new AtomicLongArray(XenAbi.HC_TABLE_SIZE * (COUNTED_CMDS + 1));
    private final HvmEventCallback callback;
    private volatile long hypercallPageGpa = -1;
    /** Domain 0's services for this domain (console, xenstore), closed before the Xen state goes. */
    private AutoCloseable services;
    private final java.util.concurrent.atomic.AtomicBoolean destroyed = new java.util.concurrent.atomic.AtomicBoolean();

    public HvmXenAbi(XenHost host, GuestContext context, int vcpus) {
        this(host, context, vcpus, (gsi, level) -> { });
    }

    /** {@code gsiLine} raises the GSI a guest may choose for event upcalls (HVM_PARAM_CALLBACK_IRQ). */
    public HvmXenAbi(XenHost host, GuestContext context, int vcpus, HvmEventCallback.GsiLine gsiLine) {
        this.host = host;
        long maxPages = Math.max(context.config().maxMemoryMiB(), context.config().memoryMiB()) << 8;
        this.domain = host.createDomain(context, false, vcpus, maxPages);
        this.contexts = new HypercallContext[vcpus];
        this.views = new HvmLinearMemory[vcpus];
        for (int i = 0; i < vcpus; i++) {
            views[i] = new HvmLinearMemory(domain.memory);
            contexts[i] = new HypercallContext(domain, i, null, views[i]);
            domain.events.setUpcallMask(i, false); // HVM guests mask upcalls with EFLAGS.IF, not with this byte
        }
        this.callback = new HvmEventCallback(domain, gsiLine);
        domain.upcallHook = callback::syncGsi;
    }

    /**
     * Records Domain 0's services for this domain (set up by the builder, which owns the
     * {@code dom0} package); they are closed first when the domain is destroyed.
     */
    public synchronized void attachServices(AutoCloseable dom0Services) {
        if (services != null) {
            throw new IllegalStateException("domain " + domain.domid + " already has Dom0 services");
        }
        services = dom0Services;
    }

    /** The Xen state of all domains this domain's ABI belongs to. */
    public XenHost host() {
        return host;
    }

    /** How event upcalls reach the CPUs (HVM_PARAM_CALLBACK_IRQ). */
    public HvmEventCallback eventCallback() {
        return callback;
    }

    /** How many hypercalls {@code nr} with first argument {@code cmd} the guest made (cmd -1: all of {@code nr}). */
    public long calls(int nr, int cmd) {
        int base = nr * (COUNTED_CMDS + 1);
        if (cmd >= 0) {
            return calls.get(base + Math.min(cmd, COUNTED_CMDS));
        }
        long n = 0;
        for (int i = 0; i <= COUNTED_CMDS; i++) {
            n += calls.get(base + i);
        }
        return n;
    }

    /** One line per hypercall used, e.g. {@code memory_op(12) cmd 7 x1}; empty if none. */
    public List<String> callSummary() {
        List<String> lines = new ArrayList<>();
        for (int nr = 0; nr < XenAbi.HC_TABLE_SIZE; nr++) {
            StringBuilder b = null;
            for (int cmd = 0; cmd <= COUNTED_CMDS; cmd++) {
                long n = calls.get(nr * (COUNTED_CMDS + 1) + cmd);
                if (n == 0) {
                    continue;
                }
                if (b == null) {
                    b = new StringBuilder("hypercall ").append(nr).append(':');
                }
                if ((CMD_HYPERCALLS & 1L << nr) != 0) {
                    b.append(" cmd ").append(cmd == COUNTED_CMDS ? ">=" + COUNTED_CMDS : String.valueOf(cmd)).append(" x").append(n);
                } else {
                    b.append(" x").append(n);
                }
            }
            if (b != null) {
                lines.add(b.toString());
            }
        }
        return lines;
    }

    private void count(int nr, int cmd) {
        if (nr < 0 || nr >= XenAbi.HC_TABLE_SIZE) {
            return;
        }
        int slot = (CMD_HYPERCALLS & 1L << nr) != 0 && cmd >= 0 && cmd < COUNTED_CMDS ? cmd : COUNTED_CMDS;
        calls.incrementAndGet(nr * (COUNTED_CMDS + 1) + slot);
    }

    public XenDomain domain() {
        return domain;
    }

    /** The hypercall handler to install on vCPU {@code vcpu}'s CPU. */
    public HypercallHandler hypercallHandler(int vcpu) {
        HypercallContext hc = contexts[vcpu];
        HvmLinearMemory view = views[vcpu];
        return (Cpu cpu, int kind) -> {
            if (kind != HypercallHandler.VMCALL) {
                return false;
            }
            if (cpu.getCpl() != 0) {
                cpu.setReg32(0, -XenAbi.EPERM); // Xen refuses hypercalls from HVM user mode
                return true;
            }
            view.attach(cpu); // pointers are linear addresses of this CPU's paging
            int nr = cpu.getReg32(0);
            int a1 = cpu.getReg32(3);
            count(nr, a1);
            int rc = host.dispatcher.dispatch(hc, nr, a1, cpu.getReg32(1), cpu.getReg32(2), cpu.getReg32(6), cpu.getReg32(7));
            cpu.setReg32(0, rc);
            if (nr == XenAbi.HC_SCHED_OP && domain.suspendVcpu == hc.vcpu.id) {
                // SHUTDOWN_suspend: not one more instruction after the call until the toolstack
                // decides what it returns (1 here, 0 in a restored domain); the domain was made
                // inactive during the call, so the executor leaves the pCPU at the block's end
                cpu.endBlock();
            }
            if (nr == XenAbi.HC_MEMORY_OP || nr == XenAbi.HC_GRANT_TABLE_OP) {
                // the p2m may have changed under a cached translation (add_to_physmap, grant maps)
                cpu.flushTlbAll();
            }
            return true;
        };
    }

    /** The CPUID hook for vCPU {@code vcpu}: hypervisor bit and Xen's leaves. */
    public CpuidHook cpuidHook(int vcpu) {
        return (leaf, subleaf, regs) -> {
            if (leaf == 1) {
                regs[2] |= 1 << 31;
            }
            XenCpuidLeaves.query(leaf, subleaf, domain.domid, vcpu, domain.clock.tscHz(), regs);
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
        int mfn = domain.memory.ownFrameForWrite(gfn);
        if (mfn < 0 || domain.machine.owner(mfn) != domain.domid) {
            return false;
        }
        HypercallPage.writeHvm(domain.machine, (long) mfn << 12);
        if (hypercallPageGpa != value) {
            hypercallPageGpa = value;
            domain.context.log(String.format("Xen ABI: hypercall page written at guest-physical 0x%x", value));
        }
        return true;
    }

    /** RDMSR of the hypercall MSR reads 0, as on Xen; returns false for other MSRs. */
    public boolean readMsr(int msr, long[] out) {
        if (msr != XenCpuidLeaves.HYPERCALL_MSR) {
            return false;
        }
        out[0] = 0;
        return true;
    }

    /** Guest-physical address of the last hypercall page the guest asked for, -1 if none. */
    public long hypercallPageGpa() {
        return hypercallPageGpa;
    }

    /**
     * A restore of a PVHVM guest: its hypercall page is in the RAM just loaded, where the saved
     * domain placed it; remembered so the restored guest counts as using Xen's ABI.
     */
    public void restoredHypercallPage(long gpa) {
        hypercallPageGpa = gpa;
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

    /** Tears the domain's Xen state down and logs which hypercalls it used. */
    public void destroy() {
        if (!destroyed.compareAndSet(false, true)) {
            return;
        }
        List<String> summary = callSummary();
        domain.context.log("Xen ABI: " + (summary.isEmpty() ? "no hypercalls" : String.join("; ", summary)));
        domain.upcallHook = null;
        synchronized (this) {
            if (services != null) {
                try {
                    services.close();
                } catch (Exception e) {
                    domain.context.log("Xen ABI: closing Dom0 services failed: " + e);
                }
            }
        }
        host.destroyDomain(domain.domid);
    }
}
