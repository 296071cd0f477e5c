package org.xenj.hypervisor.internal.hypercall;

import org.xenj.hypervisor.internal.mem.MachineFrames;
import org.xenj.hypervisor.internal.mem.PageWalker;

import org.xenj.hypervisor.internal.cpu.Cpu;
import org.xenj.hypervisor.internal.mem.DomainMemory;

/**
 * HVM view as Xen has it: hypercall pointers are linear addresses of the calling vCPU, translated
 * through the guest's own paging (none, 2-level with 4 MiB pages, or PAE with 2 MiB pages) read
 * from guest-physical memory by the CPU's own {@link PageWalker} rules (supervisor access,
 * accessed/dirty bits set as Xen's guest walk does), then through the p2m. A fault of the walk or
 * a final address that is not RAM is -EFAULT. Without a CPU attached (tests),
 * or with paging off, addresses are guest-physical.
 */
public final class HvmLinearMemory extends TranslatingGuestMemory {

    private final DomainMemory memory;
    private final PageWalker walker;
    /** The CPU making the current hypercall (its CR0/CR3/CR4); set by the hypercall entry. */
    private Cpu cpu;

    public HvmLinearMemory(DomainMemory memory) {
        super(memory.machine());
        this.memory = memory;
        this.walker = new PageWalker(new PageWalker.TableMemory() {
            @Override
            public long readEntry(long gpa, boolean wide) {
                long ma = machineAddress(gpa, false);
                if (ma < 0) {
                    return 0; // a table outside RAM reads as not present
                }
                return wide ? MachineFrames.read64(machine, ma) : MachineFrames.read32(machine, ma) & 0xffffffffL;
            }

            @Override
            public void writeEntryLow(long gpa, int value) {
                long ma = machineAddress(gpa, true);
                if (ma >= 0) {
                    MachineFrames.write32(machine, ma, value);
                }
            }
        }, PageWalker.Options.HVM_HYPERCALL);
    }

    void attach(Cpu cpu) {
        this.cpu = cpu;
    }

    /** Through the p2m; for a write a shared frame is unshared first (MachineFrames refuses shared frames). */
    private long machineAddress(long gpa, boolean write) {
        int mfn = memory.mfn(gpa >>> 12);
        if (write && mfn != DomainMemory.INVALID_MFN && memory.machine().owner(mfn) == org.xenj.hypervisor.internal.mem.MachineMemory.SHARED) {
            mfn = memory.unshare(gpa >>> 12, null);
        }
        return mfn == DomainMemory.INVALID_MFN ? -1 : ((long) mfn << 12) | (gpa & 0xfff);
    }

    @Override
    protected long translate(int va, boolean write) {
        long lin = va & 0xffffffffL;
        Cpu c = cpu;
        if (c == null || (c.getCr0() & Cpu.CR0_PG) == 0) {
            return machineAddress(lin, write);
        }
        int cr4 = c.getCr4();
        walker.nxe = c.noExecuteEnabled(); // else a kernel's NX data pages would read as reserved-bit faults
        // a hypercall runs at CPL 0: supervisor rights, CR0.WP as the guest set it
        long gpa = walker.walk(c.getCr3() & 0xffffffffL, (cr4 & Cpu.CR4_PAE) != 0, (cr4 & Cpu.CR4_PSE) != 0,
                (c.getCr0() & Cpu.CR0_WP) != 0, va, write, false);
        return gpa == PageWalker.FAULT ? -1 : machineAddress(gpa, write);
    }
}
