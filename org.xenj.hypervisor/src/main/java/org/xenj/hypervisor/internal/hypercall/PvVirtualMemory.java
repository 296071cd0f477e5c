package org.xenj.hypervisor.internal.hypercall;

import org.xenj.hypervisor.internal.mem.MachineFrames;

import static org.xenj.hypervisor.internal.xenabi.XenAbi.HYPERVISOR_VIRT_START;

import org.xenj.hypervisor.internal.mem.DomainMemory;

/**
 * PV view: guest pointers are virtual addresses translated by a software walk of the vCPU's
 * current PAE page tables (machine addresses, validated by the hypervisor). The final frame must
 * be in the domain's p2m (its own frames and grants it mapped); writes need RW at every level.
 */
public final class PvVirtualMemory extends TranslatingGuestMemory {

    private static final long P = 1;
    private static final long RW = 2;
    private static final long PS = 0x80;
    private static final long ADDR = 0x000F_FFFF_FFFF_F000L;

    private final DomainMemory memory;
    private final XenVcpu vcpu;

    public PvVirtualMemory(DomainMemory memory, XenVcpu vcpu) {
        super(memory.machine());
        this.memory = memory;
        this.vcpu = vcpu;
    }

    private boolean mine(long mfn) {
        return mfn >= 0 && mfn <= Integer.MAX_VALUE && memory.mfn(mfn) == mfn;
    }

    private long entry(long tableMfn, int index) {
        if (!mine(tableMfn)) {
            return 0;
        }
        return MachineFrames.read64(machine, (tableMfn << 12) + 8L * index);
    }

    /** Machine address of the L1 entry mapping {@code va}, or -1 if an upper level is missing. */
    public long l1EntryAddress(int va) {
        long cr3 = vcpu.cr3;
        long l3 = entry(cr3 >>> 12, (int) ((cr3 & 0xfe0) >>> 3) + (va >>> 30));
        if ((l3 & P) == 0) {
            return -1;
        }
        long l2 = entry((l3 & ADDR) >>> 12, (va >>> 21) & 511);
        if ((l2 & P) == 0 || (l2 & PS) != 0 || !mine((l2 & ADDR) >>> 12)) {
            return -1;
        }
        return (l2 & ADDR) + 8L * ((va >>> 12) & 511);
    }

    @Override
    protected long translate(int va, boolean write) {
        if (write && Integer.compareUnsigned(va, HYPERVISOR_VIRT_START) >= 0) {
            return -1;
        }
        long cr3 = vcpu.cr3;
        long l3 = entry(cr3 >>> 12, (int) ((cr3 & 0xfe0) >>> 3) + (va >>> 30));
        if ((l3 & P) == 0) {
            return -1;
        }
        long l2 = entry((l3 & ADDR) >>> 12, (va >>> 21) & 511);
        if ((l2 & P) == 0 || (l2 & PS) != 0 || write && (l2 & RW) == 0) {
            return -1;
        }
        long l1 = entry((l2 & ADDR) >>> 12, (va >>> 12) & 511);
        if ((l1 & P) == 0 || write && (l1 & RW) == 0) {
            return -1;
        }
        long mfn = (l1 & ADDR) >>> 12;
        if (!mine(mfn)) {
            return -1;
        }
        return (mfn << 12) | (va & 0xfff);
    }
}
