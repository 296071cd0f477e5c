package org.xenj.hypervisor.internal.hypercall;

import org.xenj.hypervisor.internal.mem.MachineFrames;

import org.xenj.hypervisor.internal.mem.MachineMemory;
import org.xenj.hypervisor.internal.xenabi.XenAbi;

/**
 * The machine-to-physical table, as Xen keeps it: one 32-bit pseudo-physical frame number per
 * machine frame, in frames the hypervisor owns ({@code DOMID_XEN}), mapped read-only into every PV
 * domain at {@code MACH2PHYS_VIRT_START} through shared L1 tables. Built on first use; an entry
 * holds -1 unless the owning domain's frame has a pseudo-physical number. One table for all PV
 * domains, so its cost (4 bytes per machine frame) is paid once, not per domain.
 */
public final class MachineToPhys {

    private static final long P = 1;
    private static final long A = 0x20;

    private final MachineMemory machine;
    private final int[] frames;
    private final int[] l1s;
    private final long[] l2Entries;

    MachineToPhys(MachineMemory machine) {
        this.machine = machine;
        int n = (machine.totalFrames() + 1023) / 1024;
        if (n > (XenAbi.MACH2PHYS_VIRT_END - XenAbi.MACH2PHYS_VIRT_START) >>> 12) {
            throw new IllegalStateException("machine memory too large for the x86_32 M2P window");
        }
        frames = machine.allocate(XenAbi.DOMID_XEN, n);
        for (int f : frames) {
            for (int k = 0; k < 4096; k += 8) {
                MachineFrames.write64(machine, ((long) f << 12) + k, -1L);
            }
        }
        l1s = machine.allocate(XenAbi.DOMID_XEN, (n + 511) / 512);
        l2Entries = new long[l1s.length];
        for (int i = 0; i < l1s.length; i++) {
            for (int k = 0; k < 512 && i * 512 + k < n; k++) {
                MachineFrames.write64(machine, ((long) l1s[i] << 12) + 8L * k, (long) frames[i * 512 + k] << 12 | P | A);
            }
            l2Entries[i] = (long) l1s[i] << 12 | P | A;
        }
    }

    /** Sets the entry of {@code mfn}; false if {@code mfn} is outside machine memory. */
    public boolean set(int mfn, int pfn) {
        if (mfn < 0 || mfn >= machine.totalFrames()) {
            return false;
        }
        MachineFrames.write32(machine, ((long) frames[mfn >>> 10] << 12) + 4L * (mfn & 1023), pfn);
        return true;
    }

    public int get(int mfn) {
        if (mfn < 0 || mfn >= machine.totalFrames()) {
            return -1;
        }
        return MachineFrames.read32(machine, ((long) frames[mfn >>> 10] << 12) + 4L * (mfn & 1023));
    }

    /** Every frame a PV domain must see (table and L1s), to map read-only. */
    public int[] allFrames() {
        int[] all = new int[frames.length + l1s.length];
        System.arraycopy(frames, 0, all, 0, frames.length);
        System.arraycopy(l1s, 0, all, frames.length, l1s.length);
        return all;
    }

    /** The L2 entries for the M2P's slots (from {@code MACH2PHYS_VIRT_START}), read-only. */
    public long[] l2Entries() {
        return l2Entries.clone();
    }
}
