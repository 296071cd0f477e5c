package org.xenj.hypervisor.internal.hypercall;

import org.xenj.hypervisor.internal.mem.MachineFrames;
import org.xenj.hypervisor.internal.mem.PageWalker;

import static org.xenj.hypervisor.internal.xenabi.XenAbi.HYPERVISOR_VIRT_START;

import org.xenj.hypervisor.internal.mem.DomainMemory;

/**
 * PV view: guest pointers are virtual addresses translated by the shared {@link PageWalker} over
 * the vCPU's current PAE page tables (machine addresses, validated by the hypervisor). The final frame must
 * be in the domain's p2m (its own frames and grants it mapped); writes need RW at every level.
 */
public final class PvVirtualMemory extends TranslatingGuestMemory {

    private final DomainMemory memory;
    private final XenVcpu vcpu;
    private final PageWalker walker;

    public PvVirtualMemory(DomainMemory memory, XenVcpu vcpu) {
        super(memory.machine());
        this.memory = memory;
        this.vcpu = vcpu;
        this.walker = new PageWalker(new PageWalker.TableMemory() {
            @Override
            public long readEntry(long address, boolean wide) {
                // a table in a frame the domain does not own reads as not present
                return mine(address >>> 12) ? MachineFrames.read64(machine, address) : 0;
            }

            @Override
            public void writeEntryLow(long address, int value) {
                throw new IllegalStateException("PV walks leave accessed/dirty bits to the guest");
            }
        }, PageWalker.Options.PV);
    }

    private boolean mine(long mfn) {
        return mfn >= 0 && mfn <= Integer.MAX_VALUE && memory.mfn(mfn) == mfn;
    }

    private long walk(int va, boolean write) {
        // PV page tables are always PAE here; writes need RW at every level (WP behaviour)
        return walker.walk(vcpu.cr3, true, false, true, va, write, false);
    }

    /** Machine address of the L1 entry mapping {@code va}, or -1 if an upper level is missing. */
    public long l1EntryAddress(int va) {
        long pa = walk(va, false);
        boolean reachedL1 = pa != PageWalker.FAULT || walker.faultLevel == 1;
        return reachedL1 && mine(walker.lastEntryAddress >>> 12) ? walker.lastEntryAddress : -1;
    }

    @Override
    protected long translate(int va, boolean write) {
        if (write && Integer.compareUnsigned(va, HYPERVISOR_VIRT_START) >= 0) {
            return -1;
        }
        long pa = walk(va, write);
        if (pa == PageWalker.FAULT || !mine(pa >>> 12)) {
            return -1;
        }
        return pa;
    }
}
