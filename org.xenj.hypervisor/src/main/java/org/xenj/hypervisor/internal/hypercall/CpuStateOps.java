package org.xenj.hypervisor.internal.hypercall;

import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.TRAP_INFO_SIZE;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.*;

import org.xenj.hypervisor.internal.mem.PvPageTables;

/**
 * The PV vCPU's virtual hardware state: trap table, callbacks, ring-1 stack, GDT, descriptors,
 * iret and the FPU task-switch flag. Selectors naming ring 0 (the hypervisor's) are moved to
 * ring 1, as Xen does.
 */
final class CpuStateOps {

    private static final int MAX_TRAP_ENTRIES = 1024;

    private CpuStateOps() {
    }

    /** A guest code/stack selector with RPL 0 becomes RPL 1; the null selector stays null. */
    static int guestSelector(int sel) {
        sel &= 0xffff;
        return (sel & 3) == 0 && (sel & ~3) != 0 ? sel | 1 : sel;
    }

    static int setTrapTable(HypercallContext c, int traps, int a2, int a3, int a4, int a5) {
        if (!c.domain.pv) {
            return -ENOSYS;
        }
        XenVcpu v = c.vcpu;
        if (traps == 0) {
            java.util.Arrays.fill(v.trapEip, 0);
            java.util.Arrays.fill(v.trapCs, 0);
            java.util.Arrays.fill(v.trapFlags, 0);
            return 0;
        }
        int[] vec = new int[MAX_TRAP_ENTRIES];
        int[] flags = new int[MAX_TRAP_ENTRIES];
        int[] cs = new int[MAX_TRAP_ENTRIES];
        int[] eip = new int[MAX_TRAP_ENTRIES];
        int n = 0;
        for (;; n++) {
            if (n == MAX_TRAP_ENTRIES) {
                return -EINVAL;
            }
            int e = traps + n * TRAP_INFO_SIZE;
            eip[n] = c.memory.read32(e + 4);
            if (eip[n] == 0) {
                break;
            }
            vec[n] = c.memory.read8(e);
            flags[n] = c.memory.read8(e + 1);
            cs[n] = guestSelector(c.memory.read16(e + 2));
        }
        for (int i = 0; i < n; i++) {
            v.trapCs[vec[i]] = cs[i];
            v.trapEip[vec[i]] = eip[i];
            v.trapFlags[vec[i]] = flags[i];
        }
        return 0;
    }

    static int setCallbacks(HypercallContext c, int evCs, int evEip, int fsCs, int fsEip, int a5) {
        c.vcpu.eventCs = guestSelector(evCs);
        c.vcpu.eventEip = evEip;
        c.vcpu.failsafeCs = guestSelector(fsCs);
        c.vcpu.failsafeEip = fsEip;
        return 0;
    }

    static int callbackOp(HypercallContext c, int cmd, int arg, int a3, int a4, int a5) {
        switch (cmd) {
            case CALLBACKOP_REGISTER -> {
                int type = c.memory.read16(arg);
                int flags = c.memory.read16(arg + 2);
                int cs = guestSelector(c.memory.read32(arg + 4));
                int eip = c.memory.read32(arg + 8);
                switch (type) {
                    case CALLBACKTYPE_EVENT -> {
                        c.vcpu.eventCs = cs;
                        c.vcpu.eventEip = eip;
                    }
                    case CALLBACKTYPE_FAILSAFE -> {
                        c.vcpu.failsafeCs = cs;
                        c.vcpu.failsafeEip = eip;
                        c.vcpu.failsafeMasksEvents = (flags & 1) != 0;
                    }
                    case CALLBACKTYPE_NMI -> c.vcpu.nmiEip = eip;
                    default -> {
                        return -EINVAL;
                    }
                }
                return 0;
            }
            case CALLBACKOP_UNREGISTER -> {
                int type = c.memory.read16(arg);
                if (type == CALLBACKTYPE_NMI) {
                    c.vcpu.nmiEip = 0;
                    return 0;
                }
                return -EINVAL; // event and failsafe callbacks cannot be unregistered
            }
            default -> {
                return -ENOSYS;
            }
        }
    }

    static int stackSwitch(HypercallContext c, int ss, int esp, int a3, int a4, int a5) {
        int sel = guestSelector(ss);
        if ((sel & 3) == 0) {
            return -EINVAL; // a null stack selector
        }
        c.vcpu.kernelSs = sel;
        c.vcpu.kernelSp = esp;
        return 0;
    }

    static int setGdt(HypercallContext c, int frameList, int entries, int a3, int a4, int a5) {
        XenDomain d = c.domain;
        if (!d.pv) {
            return -ENOSYS;
        }
        if (entries < 0 || entries > FIRST_RESERVED_GDT_ENTRY) {
            return -EINVAL;
        }
        int nr = (entries * 8 + 4095) / 4096;
        int[] frames = new int[nr];
        for (int i = 0; i < nr; i++) {
            frames[i] = c.memory.read32(frameList + 4 * i);
        }
        return loadGdt(d, c.vcpu, frames, entries);
    }

    /**
     * Makes {@code frames} (machine frames, validated as descriptor pages) vCPU {@code v}'s GDT of
     * {@code entries} entries, releasing the old one's; set_gdt, and VCPUOP_initialise for another vCPU.
     */
    static int loadGdt(XenDomain d, XenVcpu v, int[] frames, int entries) {
        int nr = frames.length;
        synchronized (d.mmuLock) {
            PvPageTables pt = d.pageTables;
            for (int i = 0; i < nr; i++) {
                int rc = pt.getType(frames[i], PvPageTables.DESC);
                if (rc != 0) {
                    for (int j = 0; j < i; j++) {
                        pt.putType(frames[j]);
                    }
                    return rc;
                }
            }
            for (int i = 0; i < (v.gdtEntries * 8 + 4095) / 4096; i++) {
                pt.putType(v.gdtFrames[i]);
            }
            java.util.Arrays.fill(v.gdtFrames, 0);
            System.arraycopy(frames, 0, v.gdtFrames, 0, nr);
            v.gdtEntries = entries;
            if (d.hypervisorArea != null) {
                d.hypervisorArea.mapGdt(v.id, frames);
            }
            v.tlbFlushRequested = true;
        }
        return 0;
    }

    static int updateDescriptor(HypercallContext c, int maLo, int maHi, int dLo, int dHi, int a5) {
        XenDomain d = c.domain;
        if (!d.pv) {
            return -ENOSYS;
        }
        long ma = (long) maHi << 32 | maLo & 0xffffffffL;
        long desc = (long) dHi << 32 | dLo & 0xffffffffL;
        synchronized (d.mmuLock) {
            return d.pageTables.updateDescriptor(ma, desc);
        }
    }

    /**
     * HYPERVISOR_iret: the hypercall page's iret stub pushed EAX; the frame on the guest stack is
     * EAX, EIP, CS, EFLAGS (and ESP, SS when returning to ring 3). EFLAGS.IF becomes the event
     * mask; the real IF stays set and IOPL stays 0.
     */
    static int iret(HypercallContext c, int a1, int a2, int a3, int a4, int a5) {
        GuestRegisters r = c.registers;
        if (r == null || !c.domain.pv) {
            return -ENOSYS;
        }
        int sp = r.get(GuestRegisters.ESP);
        int eax = c.memory.read32(sp);
        int eip = c.memory.read32(sp + 4);
        int cs = guestSelector(c.memory.read32(sp + 8));
        int eflags = c.memory.read32(sp + 12);
        if ((cs & 3) == 0) {
            return -EINVAL;
        }
        int newSp;
        int ss;
        if ((cs & 3) == 3) {
            newSp = c.memory.read32(sp + 16);
            ss = guestSelector(c.memory.read32(sp + 20));
        } else {
            newSp = sp + 16;
            ss = r.ss();
        }
        c.domain.events.setUpcallMask(c.vcpu.id, (eflags & 0x200) == 0);
        try {
            r.loadSegments(cs, ss);
        } catch (IllegalArgumentException badSelector) {
            c.vcpu.failsafeRequested = true; // as Xen: a frame that cannot be loaded goes to the failsafe callback
            return eax;
        }
        r.setEip(eip);
        r.setEflags(eflags & ~0x3000 | 0x200);
        r.set(GuestRegisters.ESP, newSp);
        return eax; // the dispatcher's result is EAX: restore the guest's
    }

    static int fpuTaskswitch(HypercallContext c, int set, int a2, int a3, int a4, int a5) {
        c.vcpu.fpuTaskSwitched = set != 0;
        return 0;
    }
}
