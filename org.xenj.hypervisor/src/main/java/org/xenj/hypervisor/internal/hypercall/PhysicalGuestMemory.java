package org.xenj.hypervisor.internal.hypercall;

import org.xenj.hypervisor.internal.mem.DomainMemory;

/**
 * HVM view: hypercall pointers are guest-physical addresses, translated by the domain's p2m.
 * (Xen translates HVM pointers through the guest's paging; our HVM kernels pass them with paging
 * identity-mapped or use physical buffers, which is what this view serves.)
 */
public final class PhysicalGuestMemory extends TranslatingGuestMemory {

    private final DomainMemory memory;

    public PhysicalGuestMemory(DomainMemory memory) {
        super(memory.machine());
        this.memory = memory;
    }

    @Override
    protected long translate(int va, boolean write) {
        long gfn = (va & 0xffffffffL) >>> 12;
        int mfn = memory.mfn(gfn);
        if (write && mfn != DomainMemory.INVALID_MFN && memory.machine().owner(mfn) == org.xenj.hypervisor.internal.mem.MachineMemory.SHARED) {
            mfn = memory.unshare(gfn, null); // MachineFrames refuses shared frames
        }
        return mfn == DomainMemory.INVALID_MFN ? -1 : ((long) mfn << 12) | (va & 0xfff);
    }
}
