package org.xenj.hypervisor.internal.hypercall;

import static org.xenj.hypervisor.internal.xenabi.XenAbi.*;

import org.xenj.hypervisor.internal.mem.PvPageTables;

/**
 * VCPUOP_initialise, VCPUOP_up and VCPUOP_down for the secondary vCPUs of a PV domain, as Linux's
 * {@code cpu_initialize_context} and CPU hot-plug use them. The context is Xen's 32-bit
 * {@code struct vcpu_guest_context} (public/arch-x86/xen-x86_32.h, 4-byte packing): everything is
 * read and checked before anything changes, the page-table base and GDT frames are validated and
 * typed as the boot vCPU's are (NEW_BASEPTR, set_gdt), and the registers go to the vCPU's own thread
 * ({@link XenVcpu#pendingStart}); no other thread touches its CPU.
 */
final class VcpuContextOps {

    // offsets in struct vcpu_guest_context (x86_32)
    static final int FPU_CTXT = 0, FLAGS = 512, USER_REGS = 516, TRAP_CTXT = 584, LDT_BASE = 2632, LDT_ENTS = 2636,
            GDT_FRAMES = 2640, GDT_ENTS = 2704, KERNEL_SS = 2708, KERNEL_SP = 2712, CTRLREG = 2716, EVENT_CS = 2780,
            EVENT_EIP = 2784, FAILSAFE_CS = 2788, FAILSAFE_EIP = 2792, VM_ASSIST = 2796, SIZE = 2800;
    // offsets in struct cpu_user_regs (x86_32)
    static final int R_EBX = 0, R_ECX = 4, R_EDX = 8, R_ESI = 12, R_EDI = 16, R_EBP = 20, R_EAX = 24, R_EIP = 32, R_CS = 36,
            R_EFLAGS = 40, R_ESP = 44, R_SS = 48, R_ES = 52, R_DS = 56, R_FS = 60, R_GS = 64;
    /** EFLAGS bits a PV guest may set (the arithmetic flags, TF, DF, OF, AC, ID); IF and IOPL are Xen's. */
    private static final int EFLAGS_GUEST = 0x00250fd5;

    private VcpuContextOps() {
    }

    /** Xen's {@code xen_cr3_to_pfn} for 32-bit PAE guests: the frame number is rotated by 12. */
    static int cr3ToMfn(int cr3) {
        return cr3 >>> 12 | cr3 << 20;
    }

    static int initialise(HypercallContext c, XenVcpu v, int ctxt) {
        XenDomain d = c.domain;
        if (!d.pv) {
            return -ENOSYS; // an HVM guest starts its APs with INIT/SIPI through the local APIC
        }
        if (v.initialised) {
            return -EEXIST;
        }
        GuestVirtualMemory m = c.memory;
        int r = ctxt + USER_REGS;
        int cs = CpuStateOps.guestSelector(m.read16(r + R_CS));
        int ss = CpuStateOps.guestSelector(m.read16(r + R_SS));
        if ((cs & 3) == 0 || (ss & 3) == 0 || (cs & ~3) == 0 || (ss & ~3) == 0) {
            return -EINVAL; // a null or ring-0 code/stack selector
        }
        PvVcpuStart start = new PvVcpuStart(m.read32(r + R_EAX), m.read32(r + R_EBX), m.read32(r + R_ECX), m.read32(r + R_EDX),
                m.read32(r + R_ESI), m.read32(r + R_EDI), m.read32(r + R_EBP), m.read32(r + R_ESP), m.read32(r + R_EIP),
                m.read32(r + R_EFLAGS) & EFLAGS_GUEST, cs, ss, CpuStateOps.guestSelector(m.read16(r + R_DS)),
                CpuStateOps.guestSelector(m.read16(r + R_ES)), CpuStateOps.guestSelector(m.read16(r + R_FS)),
                CpuStateOps.guestSelector(m.read16(r + R_GS)));
        int[] trapCs = new int[256], trapEip = new int[256], trapFlags = new int[256];
        for (int i = 0; i < 256; i++) {
            int e = ctxt + TRAP_CTXT + 8 * i;
            int eip = m.read32(e + 4);
            if (eip != 0) {
                int vector = m.read8(e);
                trapFlags[vector] = m.read8(e + 1);
                trapCs[vector] = CpuStateOps.guestSelector(m.read16(e + 2));
                trapEip[vector] = eip;
            }
        }
        int ldtBase = m.read32(ctxt + LDT_BASE), ldtEnts = m.read32(ctxt + LDT_ENTS);
        if ((ldtBase & 0xfff) != 0 || ldtEnts < 0 || ldtEnts > 8192
                || ldtEnts != 0 && Integer.compareUnsigned(ldtBase + ldtEnts * 8, HYPERVISOR_VIRT_START) > 0) {
            return -EINVAL;
        }
        int gdtEnts = m.read32(ctxt + GDT_ENTS);
        if (gdtEnts < 0 || gdtEnts > FIRST_RESERVED_GDT_ENTRY) {
            return -EINVAL;
        }
        int[] gdt = new int[(gdtEnts * 8 + 4095) / 4096];
        for (int i = 0; i < gdt.length; i++) {
            gdt[i] = m.read32(ctxt + GDT_FRAMES + 4 * i);
        }
        int kernelSs = CpuStateOps.guestSelector(m.read32(ctxt + KERNEL_SS));
        int kernelSp = m.read32(ctxt + KERNEL_SP);
        int baseMfn = cr3ToMfn(m.read32(ctxt + CTRLREG + 3 * 4));
        // the page-table base first (nothing to undo if it is refused), then the GDT
        PvPageTables pt = d.pageTables;
        synchronized (d.mmuLock) {
            int rc = pt.getType(baseMfn, PvPageTables.L3);
            if (rc != 0) {
                return rc;
            }
            rc = CpuStateOps.loadGdt(d, v, gdt, gdtEnts);
            if (rc != 0) {
                pt.putType(baseMfn);
                return rc;
            }
            long old = v.cr3;
            v.cr3 = (long) baseMfn << 12;
            if (old != 0) {
                pt.putType((int) (old >>> 12));
            }
        }
        System.arraycopy(trapCs, 0, v.trapCs, 0, 256);
        System.arraycopy(trapEip, 0, v.trapEip, 0, 256);
        System.arraycopy(trapFlags, 0, v.trapFlags, 0, 256);
        v.ldtBase = ldtBase;
        v.ldtEntries = ldtEnts;
        v.kernelSs = kernelSs;
        v.kernelSp = kernelSp;
        v.eventCs = CpuStateOps.guestSelector(m.read32(ctxt + EVENT_CS));
        v.eventEip = m.read32(ctxt + EVENT_EIP);
        v.failsafeCs = CpuStateOps.guestSelector(m.read32(ctxt + FAILSAFE_CS));
        v.failsafeEip = m.read32(ctxt + FAILSAFE_EIP);
        v.tlbFlushRequested = true;
        v.pendingStart = start;
        v.initialised = true;
        return 0;
    }

    /** VCPUOP_up: an initialised vCPU runs (from its context, or on from where VCPUOP_down stopped it). */
    static int up(HypercallContext c, XenVcpu v) {
        if (!c.domain.pv) {
            return -EINVAL; // HVM: INIT/SIPI through the local APIC
        }
        if (!v.initialised) {
            return -EINVAL;
        }
        if (!v.up) {
            v.up = true;
            c.domain.context.waker(v.id).wake();
        }
        return 0;
    }

    /** VCPUOP_down: the vCPU stops (its state kept) until VCPUOP_up; a vCPU may take itself down. */
    static int down(HypercallContext c, XenVcpu v) {
        if (!c.domain.pv) {
            return -EINVAL;
        }
        if (v.up) {
            v.up = false;
            Runnable k = v.kick;
            if (k != null) {
                k.run();
            }
        }
        return 0;
    }
}
