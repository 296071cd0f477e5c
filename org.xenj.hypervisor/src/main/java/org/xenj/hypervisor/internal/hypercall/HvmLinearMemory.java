package org.xenj.hypervisor.internal.hypercall;

import org.xenj.hypervisor.internal.mem.MachineFrames;

import org.xenj.hypervisor.internal.cpu.Cpu;
import org.xenj.hypervisor.internal.mem.DomainMemory;

/**
 * HVM view as Xen has it: hypercall pointers are linear addresses of the calling vCPU, translated
 * through the guest's own paging (none, 2-level with 4 MiB pages, or PAE with 2 MiB pages) read
 * from guest-physical memory, then through the p2m. Writes need RW at every level; a non-present
 * entry or a final address that is not RAM is a fault (-EFAULT). Without a CPU attached (tests),
 * or with paging off, addresses are guest-physical.
 */
public final class HvmLinearMemory extends TranslatingGuestMemory {

    private static final int P = 1;
    private static final int RW = 2;
    private static final int PS = 0x80;
    private static final long PAE_ADDR = 0x000F_FFFF_FFFF_F000L;

    private final DomainMemory memory;
    /** The CPU making the current hypercall (its CR0/CR3/CR4); set by the hypercall entry. */
    private Cpu cpu;

    public HvmLinearMemory(DomainMemory memory) {
        super(memory.machine());
        this.memory = memory;
    }

    void attach(Cpu cpu) {
        this.cpu = cpu;
    }

    private long machineAddress(long gpa) {
        int mfn = memory.mfn(gpa >>> 12);
        return mfn == DomainMemory.INVALID_MFN ? -1 : ((long) mfn << 12) | (gpa & 0xfff);
    }

    /** A page-table entry at guest-physical {@code gpa}; 0 (not present) if that is not RAM. */
    private long entry(long gpa, boolean wide) {
        long ma = machineAddress(gpa);
        if (ma < 0) {
            return 0;
        }
        return wide ? MachineFrames.read64(machine, ma) : MachineFrames.read32(machine, ma) & 0xffffffffL;
    }

    @Override
    protected long translate(int va, boolean write) {
        long lin = va & 0xffffffffL;
        Cpu c = cpu;
        if (c == null || (c.getCr0() & Cpu.CR0_PG) == 0) {
            return machineAddress(lin);
        }
        long gpa = (c.getCr4() & Cpu.CR4_PAE) != 0 ? walkPae(c.getCr3(), lin, write) : walk2Level(c, lin, write);
        return gpa < 0 ? -1 : machineAddress(gpa);
    }

    private long walkPae(int cr3, long lin, boolean write) {
        long pdpte = entry((cr3 & 0xffffffe0L) + 8 * (lin >>> 30), true);
        if ((pdpte & P) == 0) {
            return -1;
        }
        long pde = entry((pdpte & PAE_ADDR) + 8 * ((lin >>> 21) & 511), true);
        if ((pde & P) == 0 || write && (pde & RW) == 0) {
            return -1;
        }
        if ((pde & PS) != 0) {
            return (pde & 0x000F_FFFF_FFE0_0000L) | (lin & 0x1f_ffff);
        }
        long pte = entry((pde & PAE_ADDR) + 8 * ((lin >>> 12) & 511), true);
        if ((pte & P) == 0 || write && (pte & RW) == 0) {
            return -1;
        }
        return (pte & PAE_ADDR) | (lin & 0xfff);
    }

    private long walk2Level(Cpu c, long lin, boolean write) {
        long pde = entry((c.getCr3() & 0xfffff000L) + 4 * (lin >>> 22), false);
        if ((pde & P) == 0 || write && (pde & RW) == 0) {
            return -1;
        }
        if ((pde & PS) != 0 && (c.getCr4() & Cpu.CR4_PSE) != 0) {
            return (pde & 0xffc00000L) | (lin & 0x3f_ffff);
        }
        long pte = entry((pde & 0xfffff000L) + 4 * ((lin >>> 12) & 1023), false);
        if ((pte & P) == 0 || write && (pte & RW) == 0) {
            return -1;
        }
        return (pte & 0xfffff000L) | (lin & 0xfff);
    }
}
