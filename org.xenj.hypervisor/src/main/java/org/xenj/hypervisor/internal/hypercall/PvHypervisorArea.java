package org.xenj.hypervisor.internal.hypercall;

import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.internal.mem.MachineFrames;
import org.xenj.hypervisor.internal.hypercall.MachineToPhys;
import org.xenj.hypervisor.internal.hypercall.XenDomain;

/**
 * What a PV domain sees of the hypervisor above {@code HYPERVISOR_VIRT_START} (0xF5800000), all
 * supervisor and read-only, installed in the hypervisor slots of its top L2:
 * <pre>
 *   0xF5800000  M2P table (one int per machine frame, shared by all PV domains)   L2 slots 428..435
 *   0xF6800000  per-vCPU GDT windows, 64 KiB each:           L2 slot 436
 *               pages 0..13 the guest's GDT frames (set_gdt), page 14 Xen's reserved
 *               descriptors (FLAT_RING1_CS 0xe019, FLAT_RING1_DS 0xe021, ring 3 0xe02b/0xe033)
 * </pre>
 * The CPU's GDTR points into the vCPU's window, so the flat selectors Xen guarantees work and the
 * guest's own descriptors are read through validated, read-only frames.
 */
public final class PvHypervisorArea {

    public static final int GDT_AREA = 0xF6800000;
    public static final int GDT_WINDOW = 0x10000;
    public static final int MAX_VCPUS = 32;
    private static final int M2P_SLOTS = 8;
    private static final long P = 1;
    private static final long A = 0x20;

    private final XenDomain d;
    private final int reservedPage;
    private final int gdtL1;
    private final long[] slots;

    private PvHypervisorArea(XenDomain d, int reservedPage, int gdtL1, long[] slots) {
        this.d = d;
        this.reservedPage = reservedPage;
        this.gdtL1 = gdtL1;
        this.slots = slots;
    }

    /** Maps the shared M2P (entries of {@code p2m} filled in) and builds the GDT windows; registers the slots with the page tables. */
    public static PvHypervisorArea build(XenDomain d, int[] p2m) {
        if (d.vcpus.length > MAX_VCPUS) {
            throw new HypervisorException("a PV domain has at most " + MAX_VCPUS + " vCPUs");
        }
        MachineToPhys m2p = d.host.m2p();
        for (int pfn = 0; pfn < p2m.length; pfn++) {
            m2p.set(p2m[pfn], pfn);
        }
        int[] shared = m2p.allFrames();
        d.memory.mapFramesIdentity(shared); // the CPU's page walks reach them; the domain does not own them
        for (int f : shared) {
            d.pageTables.markXen(f);
        }
        long[] m2pSlots = m2p.l2Entries();
        if (m2pSlots.length > M2P_SLOTS) {
            throw new HypervisorException("machine memory too large for the x86_32 M2P window");
        }
        long[] slots = new long[M2P_SLOTS + 1];
        System.arraycopy(m2pSlots, 0, slots, 0, m2pSlots.length);
        int reserved = d.allocateSpecialFrame();
        writeReservedDescriptors(d, reserved);
        d.pageTables.markXen(reserved);
        int gdtL1 = d.allocateSpecialFrame();
        d.pageTables.markXen(gdtL1);
        slots[M2P_SLOTS] = (long) gdtL1 << 12 | P | A;
        d.pageTables.setXenSlots(slots);
        PvHypervisorArea area = new PvHypervisorArea(d, reserved, gdtL1, slots);
        for (int v = 0; v < d.vcpus.length; v++) {
            area.mapGdt(v, new int[0]);
        }
        return area;
    }

    /** Xen's flat descriptors (accessed bit preset: the page is read-only to the CPU too). */
    private static void writeReservedDescriptors(XenDomain d, int frame) {
        long base = (long) frame << 12;
        MachineFrames.write64(d.machine, base + 8 * 3, 0x00cfbb000000ffffL); // 0xe019 ring 1 code
        MachineFrames.write64(d.machine, base + 8 * 4, 0x00cfb3000000ffffL); // 0xe021 ring 1 data
        MachineFrames.write64(d.machine, base + 8 * 5, 0x00cffb000000ffffL); // 0xe02b ring 3 code
        MachineFrames.write64(d.machine, base + 8 * 6, 0x00cff3000000ffffL); // 0xe033 ring 3 data
    }

    /** The GDTR base of vCPU {@code v}. */
    public static int gdtBase(int v) {
        return GDT_AREA + v * GDT_WINDOW;
    }

    /** Points vCPU {@code v}'s GDT window at the guest's (validated, typed) frames. */
    public void mapGdt(int v, int[] frames) {
        long l1 = ((long) gdtL1 << 12) + 8L * (v * (GDT_WINDOW >>> 12));
        for (int i = 0; i < 14; i++) {
            MachineFrames.write64(d.machine, l1 + 8L * i, i < frames.length ? (long) frames[i] << 12 | P | A : 0);
        }
        MachineFrames.write64(d.machine, l1 + 8L * 14, (long) reservedPage << 12 | P | A);
    }

    public long[] slots() {
        return slots.clone();
    }
}
