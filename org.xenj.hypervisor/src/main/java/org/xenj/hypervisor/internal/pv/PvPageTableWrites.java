package org.xenj.hypervisor.internal.pv;

import static org.xenj.hypervisor.internal.xenabi.XenAbi.HYPERVISOR_VIRT_START;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.VMASST_TYPE_WRITABLE_PAGETABLES;

import org.xenj.hypervisor.internal.cpu.Cpu;
import org.xenj.hypervisor.internal.cpu.StoreCapture;
import org.xenj.hypervisor.internal.hypercall.PvVirtualMemory;
import org.xenj.hypervisor.internal.hypercall.XenDomain;
import org.xenj.hypervisor.internal.hypercall.XenVcpu;
import org.xenj.hypervisor.internal.mem.MachineFrames;
import org.xenj.hypervisor.internal.mem.PvPageTables;

/**
 * Writable page tables for one PV vCPU, as Xen's {@code pv_ro_page_fault}/{@code ptwr_*} do them:
 * a page fault that is a store by the guest kernel (ring 1) into a present, read-only page whose
 * frame is one of the domain's L1 tables, with {@code VMASST_TYPE_writable_pagetables} on, is not
 * reflected; the instruction is re-executed with its stores to that page captured
 * ({@link Cpu#emulateCapturingStores}), the entries it changed are validated like mmu_update
 * ({@link PvPageTables#emulatedL1Write}) and, if all are acceptable, written; the guest goes on
 * after the instruction. Anything else (L2/L3 or descriptor frames, ring 3, stores Xen's emulator
 * refuses, entries that fail validation) gets the original #PF.
 *
 * <p>Only reached from the #PF delivery hook: the check costs nothing on ordinary stores, which
 * never fault, and page-table pages are always mapped read-only, so their stores always do.
 */
final class PvPageTableWrites extends StoreCapture {

    private static final int PF_P = 1, PF_W = 2, PF_U = 4, PF_RSVD = 8, PF_I = 16;
    private static final long P = 1, RW = 2;
    private static final long ADDR = 0x000F_FFFF_FFFF_F000L;

    private final XenDomain d;
    private final XenVcpu v;
    private final Cpu cpu;
    private final PvVirtualMemory memory;
    private final int[] slots = new int[512];
    private final long[] values = new long[512];
    private final boolean[] fixup = new boolean[512];
    private int l1;
    /** Instructions emulated / refused (diagnostics and tests). */
    long emulated, refused;

    PvPageTableWrites(XenDomain d, XenVcpu v, Cpu cpu, PvVirtualMemory memory) {
        this.d = d;
        this.v = v;
        this.cpu = cpu;
        this.memory = memory;
    }

    /**
     * For a #PF with {@code errorCode} at the CPU's CR2: -1 if it is no page-table write (reflect
     * it), else {@link Cpu#EMULATED}, {@link Cpu#REFUSED} (reflect the original fault) or
     * {@link Cpu#FAULTED} (reflect the CPU's last exception instead).
     */
    int handle(int errorCode) {
        if ((d.vmAssist & 1 << VMASST_TYPE_WRITABLE_PAGETABLES) == 0 || cpu.getCpl() != 1
                || (errorCode & (PF_P | PF_W | PF_U | PF_RSVD | PF_I)) != (PF_P | PF_W)) {
            return -1;
        }
        int cr2 = cpu.getCr(2);
        if (Integer.compareUnsigned(cr2, HYPERVISOR_VIRT_START) >= 0) {
            return -1;
        }
        synchronized (d.mmuLock) {
            long ptr = memory.l1EntryAddress(cr2);
            if (ptr < 0) {
                return -1;
            }
            long pte = MachineFrames.read64(d.machine, ptr);
            long mfn = (pte & ADDR) >>> 12;
            PvPageTables pt = d.pageTables;
            if ((pte & (P | RW)) != P || !pt.owns(mfn) || pt.typeOf((int) mfn) != PvPageTables.L1) {
                return -1;
            }
            l1 = (int) mfn;
            MachineFrames.copyOut(d.machine, (long) l1 << 12, data(), 0, 4096);
            begin(cr2);
            int r = cpu.emulateCapturingStores(this);
            if (r == Cpu.EMULATED) {
                emulated++;
            } else if (r == Cpu.REFUSED) {
                refused++;
            }
            return r;
        }
    }

    @Override
    protected boolean commit(int op) {
        boolean cmpxchg = op == 0x1b0 || op == 0x1b1 || op == 0x1c7;
        long base = (long) l1 << 12;
        int n = 0;
        for (int k = 0; k < touchedCount(); k++) {
            int slot = touchedSlot(k);
            long value = entry(slot);
            if (value == MachineFrames.read64(d.machine, base + 8L * slot)) {
                continue; // unchanged (a failed cmpxchg stores the old value back)
            }
            slots[n] = slot;
            values[n] = value;
            fixup[n] = !cmpxchg && writtenMask(slot) == 0xF0;
            n++;
        }
        if (n == 0) {
            return true;
        }
        int rc = d.pageTables.emulatedL1Write(l1, n, slots, values, fixup);
        if (rc < 0) {
            return false;
        }
        if (rc > 0) {
            // A mapping went away: no vCPU may keep it in its TLB (the frame may become a table or leave the domain).
            for (XenVcpu other : d.vcpus) {
                other.tlbFlushRequested = true;
            }
            v.tlbFlushRequested = false;
            cpu.flushTlbAll();
        }
        return true;
    }
}
