package org.xenj.hypervisor.internal.pv;

import org.xenj.hypervisor.internal.dom0.PvDomainServices;

import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.internal.hypercall.GuestRegisters;
import org.xenj.hypervisor.internal.hypercall.HypercallContext;
import org.xenj.hypervisor.internal.hypercall.XenDomain;
import org.xenj.hypervisor.internal.hypercall.XenHost;
import org.xenj.hypervisor.internal.mem.MachineMemory;

/** A machine with PV domains built by the real start-of-day code around a tiny synthetic kernel. */
public final class PvFixture {

    public static final long VIRT_BASE = 0xC0000000L;
    public static final int PAGES = 1024; // 4 MiB

    public final MachineMemory machine = new MachineMemory(64L << 20);
    public final XenHost host = new XenHost(machine);

    /** A built PV domain with its context, boot state and a hypercall context for vCPU 0. */
    public final class Dom {
        public final TestContext ctx;
        public final XenDomain xen;
        public final PvBootState boot;
        public final HypercallContext hc;
        public final PvDomainServices services;
        public final GuestRegisters.Plain regs = new GuestRegisters.Plain();

        Dom(int domid) {
            this(domid, hltKernel());
        }

        Dom(int domid, byte[] code) {
            this(domid, code, 1);
        }

        Dom(int domid, byte[] code, int vcpus) {
            ctx = new TestContext(machine, domid, DomainType.PV);
            int[] p2m = ctx.memory.populateIdentity(PAGES);
            xen = host.createDomain(ctx, true, vcpus, PAGES + 64);
            PvDomainServices.allocatePorts(xen);
            ElfKernel k = new ElfKernel(TestElf.kernel(VIRT_BASE, code, code.length, VIRT_BASE + 4096));
            boot = PvStartOfDay.build(xen, k, p2m, "console=hvc0");
            services = new PvDomainServices(host, xen, "test" + domid);
            hc = new HypercallContext(xen, 0, regs);
            regs.gpr[GuestRegisters.ESP] = boot.esp();
            regs.cs = boot.cs();
            regs.ss = boot.ds();
        }

        /** A writable scratch page in the initial mapping (above the boot stack). */
        public int scratch(int page) {
            return boot.esp() + page * 4096;
        }

        public int call(int nr, int a1, int a2, int a3, int a4, int a5) {
            return host.dispatcher.dispatch(hc, nr, a1, a2, a3, a4, a5);
        }

        public int call(int nr, int a1, int a2) {
            return call(nr, a1, a2, 0, 0, 0);
        }

        /** Machine frame of pseudo-physical page {@code pfn}. */
        public int mfnOfPfn(int pfn) {
            return hc.memory.read32(boot.p2mVa() + 4 * pfn);
        }

        /** Machine frame mapped at virtual {@code va} (through the L1). */
        public int mfnOfVa(int va) {
            return mfnOfPfn((int) ((va & 0xffffffffL) - VIRT_BASE) >>> 12);
        }
    }

    public Dom pv(int domid) {
        return new Dom(domid);
    }

    /** A PV domain whose kernel image starts with {@code code} (3 pages; page 1 becomes the hypercall page). */
    public Dom pv(int domid, byte[] code) {
        return new Dom(domid, code);
    }

    /** As {@link #pv(int, byte[])} with {@code vcpus} vCPUs (vCPU 0 boots; the others wait for VCPUOP_initialise/up). */
    public Dom pv(int domid, byte[] code, int vcpus) {
        return new Dom(domid, code, vcpus);
    }

    private static byte[] hltKernel() {
        byte[] code = new byte[3 * 4096];
        code[0] = (byte) 0xf4; // hlt
        return code;
    }
}
