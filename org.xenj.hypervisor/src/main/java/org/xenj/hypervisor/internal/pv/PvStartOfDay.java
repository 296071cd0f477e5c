package org.xenj.hypervisor.internal.pv;

import org.xenj.hypervisor.internal.hypercall.PvHypervisorArea;

import org.xenj.hypervisor.internal.hypercall.HypercallPage;

import org.xenj.hypervisor.internal.mem.PvPageTables;

import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.*;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.*;

import java.nio.charset.StandardCharsets;

import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.internal.mem.MachineFrames;
import org.xenj.hypervisor.internal.hypercall.XenDomain;

/**
 * Builds a PV domain's start-of-day memory the way Xen's domain builder does for x86_32 PAE:
 *
 * <pre>
 *  virt_base + 0            kernel image (ELF segments; pseudo-physical = virtual - virt_base)
 *  next page                p2m list (one machine frame number per pseudo-physical page)
 *  next page                start_info
 *  next pages               console ring, xenstore ring
 *  next pages               page tables: L3, L2s, L1s (mapped read-only)
 *  next page                boot stack
 *  v_end (4 MiB aligned)    end of the initial mapping
 *  0xF5800000               read-only M2P, in the hypervisor slots of the top L2
 * </pre>
 *
 * Every page is a frame of the domain (identity p2m: gfn = mfn). The tables are then validated and
 * pinned through {@link PvPageTables}, exactly as if the guest had asked, so the builder cannot
 * hand the guest anything the type system would refuse.
 */
public final class PvStartOfDay {

    private static final long P = 1;
    private static final long RW = 2;
    private static final long US = 4;
    private static final long A = 0x20;
    private static final long D = 0x40;

    private PvStartOfDay() {
    }

    /**
     * Lays out {@code kernel} in a domain of {@code nrPages} pseudo-physical pages.
     *
     * @param p2m the domain's RAM, pseudo-physical page -> machine frame (identity-mapped already)
     */
    public static PvBootState build(XenDomain d, ElfKernel kernel, int[] p2m, String cmdline) {
        int nrPages = p2m.length;
        String pae = kernel.paeMode();
        if (!(pae.startsWith("yes") || pae.equals("bimodal"))) {
            throw new HypervisorException("PV kernel is not PAE (PAE_MODE note '" + pae + "'); xenj runs x86_32 PAE PV guests only");
        }
        PvKernelFeatures.negotiate(kernel, d.machine);
        if (kernel.paeExtendedCr3()) {
            d.vmAssist |= 1 << VMASST_TYPE_PAE_EXTENDED_CR3; // as Xen's toolstack for XEN_PAE_EXTCR3/BIMODAL kernels
        }
        long virtBase = kernel.virtBase();
        long lowest = Long.MAX_VALUE;
        long highest = 0;
        for (ElfKernel.Segment s : kernel.segments()) {
            lowest = Math.min(lowest, s.vaddr());
            highest = Math.max(highest, s.vaddr() + s.memsz());
        }
        if (lowest < virtBase || highest > (HYPERVISOR_VIRT_START & 0xffffffffL)) {
            throw new HypervisorException("PV kernel segments 0x" + Long.toHexString(lowest) + "-0x" + Long.toHexString(highest)
                    + " are outside VIRT_BASE 0x" + Long.toHexString(virtBase) + " .. hypervisor area");
        }
        d.setPseudoPhysPages(nrPages);

        // --- the layout, in pseudo-physical pages
        int kernelEndPfn = (int) ((highest - virtBase + 4095) >>> 12);
        int p2mPfn = kernelEndPfn;
        int p2mPages = (nrPages * 4 + 4095) / 4096;
        int startInfoPfn = p2mPfn + p2mPages;
        int consolePfn = startInfoPfn + 1;
        int storePfn = consolePfn + 1;
        int ptPfn = storePfn + 1;
        // Page tables must map everything up to v_end, which they themselves extend: iterate.
        int nrPt = 0;
        long vEnd;
        for (;;) {
            int stackPfn = ptPfn + nrPt;
            vEnd = virtBase + ((long) (stackPfn + 1) << 12) + (512 << 10); // + 512 KiB slack, as Xen
            vEnd = (vEnd + (4 << 20) - 1) & ~((4L << 20) - 1);
            int l2s = (int) (((vEnd - 1) >>> 30) - (virtBase >>> 30) + 1);
            int l1s = (int) (((vEnd - 1) >>> 21) - (virtBase >>> 21) + 1);
            int need = 1 + l2s + l1s + (((vEnd - 1) >>> 30) < 3 ? 1 : 0);
            if (need == nrPt) {
                break;
            }
            nrPt = need;
        }
        int stackPfn = ptPfn + nrPt;
        if (((vEnd - virtBase) >>> 12) > nrPages || vEnd > (HYPERVISOR_VIRT_START & 0xffffffffL)) {
            throw new HypervisorException("PV domain memory (" + (nrPages >> 8) + " MiB) is too small for the kernel and its start-of-day pages");
        }

        // --- kernel image
        for (ElfKernel.Segment s : kernel.segments()) {
            long pa = s.vaddr() - virtBase;
            copy(d, p2m, pa, s.data());
        }
        long hcall = kernel.hypercallPage();
        if (hcall != -1) {
            if (hcall < virtBase || hcall >= highest || (hcall & 0xfff) != 0) {
                throw new HypervisorException("HYPERCALL_PAGE 0x" + Long.toHexString(hcall) + " is not a page of the kernel image");
            }
            HypercallPage.writePv(d.machine, (long) p2m[(int) ((hcall - virtBase) >>> 12)] << 12);
        }

        // --- p2m list
        for (int i = 0; i < nrPages; i++) {
            long ma = ((long) p2m[p2mPfn + (i * 4 >>> 12)] << 12) + (i * 4 & 0xfff);
            MachineFrames.write32(d.machine, ma, p2m[i]);
        }

        // --- page tables
        int l3Mfn = p2m[ptPfn];
        int firstL2Slot = (int) (virtBase >>> 30);
        int l2Count = (int) (((vEnd - 1) >>> 30) - firstL2Slot + 1);
        int firstL1 = (int) (virtBase >>> 21);
        // Xen's builder always gives L3 slot 3 an L2: the hypervisor area (M2P, the GDT window with the
        // ring-1 selectors 0xe019/0xe021) lives there, even for a kernel linked at VIRT_BASE 0 whose own
        // mapping ends below 3 GiB (Mini-OS). That extra L2 is the last page-table page.
        boolean extraTopL2 = firstL2Slot + l2Count - 1 < 3;
        int l1Count = nrPt - 1 - l2Count - (extraTopL2 ? 1 : 0);
        for (int i = 0; i < l2Count; i++) {
            int l2Mfn = p2m[ptPfn + 1 + i];
            MachineFrames.write64(d.machine, ((long) l3Mfn << 12) + 8L * (firstL2Slot + i), (long) l2Mfn << 12 | P);
        }
        if (extraTopL2) {
            int l2Mfn = p2m[ptPfn + nrPt - 1];
            MachineFrames.write64(d.machine, ((long) l3Mfn << 12) + 8L * 3, (long) l2Mfn << 12 | P);
        }
        for (int i = 0; i < l1Count; i++) {
            int l1Mfn = p2m[ptPfn + 1 + l2Count + i];
            int l2Index = firstL1 + i;
            int l2Mfn = p2m[ptPfn + 1 + (l2Index / 512 - firstL2Slot)];
            MachineFrames.write64(d.machine, ((long) l2Mfn << 12) + 8L * (l2Index % 512), (long) l1Mfn << 12 | P | RW | US | A);
        }
        for (long va = virtBase; va < vEnd; va += 4096) {
            int pfn = (int) ((va - virtBase) >>> 12);
            int l1Index = (int) (va >>> 21) - firstL1;
            int l1Mfn = p2m[ptPfn + 1 + l2Count + l1Index];
            boolean pageTable = pfn >= ptPfn && pfn < ptPfn + nrPt;
            long pte = (long) p2m[pfn] << 12 | P | US | A | (pageTable ? 0 : RW | D);
            MachineFrames.write64(d.machine, ((long) l1Mfn << 12) + 8L * ((va >>> 12) & 511), pte);
        }

        // --- read-only M2P in the hypervisor slots, then validate and pin like Xen
        d.hypervisorArea = PvHypervisorArea.build(d, p2m);
        synchronized (d.mmuLock) {
            int rc = d.pageTables.pin(l3Mfn, PvPageTables.L3);
            if (rc != 0) {
                throw new HypervisorException("internal: initial page tables failed validation (" + rc + ")");
            }
            d.vcpus[0].cr3 = (long) l3Mfn << 12;
            rc = d.pageTables.getType(l3Mfn, PvPageTables.L3); // the reference CR3 holds
            if (rc != 0) {
                throw new HypervisorException("internal: CR3 reference refused (" + rc + ")");
            }
        }

        // --- rings and start_info
        d.consoleMfn = p2m[consolePfn];
        d.storeMfn = p2m[storePfn];
        long si = (long) p2m[startInfoPfn] << 12;
        byte[] magic = START_INFO_MAGIC.getBytes(StandardCharsets.US_ASCII);
        MachineFrames.copyIn(d.machine, si + SI_MAGIC, magic, 0, magic.length);
        MachineFrames.write32(d.machine, si + SI_NR_PAGES, nrPages);
        MachineFrames.write32(d.machine, si + SI_SHARED_INFO, d.sharedInfoMfn << 12);
        MachineFrames.write32(d.machine, si + SI_FLAGS, 0);
        MachineFrames.write32(d.machine, si + SI_STORE_MFN, d.storeMfn);
        MachineFrames.write32(d.machine, si + SI_STORE_EVTCHN, d.storePort);
        MachineFrames.write32(d.machine, si + SI_CONSOLE_MFN, d.consoleMfn);
        MachineFrames.write32(d.machine, si + SI_CONSOLE_EVTCHN, d.consolePort);
        MachineFrames.write32(d.machine, si + SI_PT_BASE, (int) (virtBase + ((long) ptPfn << 12)));
        MachineFrames.write32(d.machine, si + SI_NR_PT_FRAMES, nrPt);
        MachineFrames.write32(d.machine, si + SI_MFN_LIST, (int) (virtBase + ((long) p2mPfn << 12)));
        byte[] cl = (cmdline == null ? "" : cmdline).getBytes(StandardCharsets.US_ASCII);
        MachineFrames.copyIn(d.machine, si + SI_CMD_LINE, cl, 0, Math.min(cl.length, SI_CMD_LINE_MAX - 1));
        long shared = (long) d.sharedInfoMfn << 12;
        MachineFrames.write32(d.machine, shared + SH_ARCH_MAX_PFN, nrPages);
        d.updateTime(0);

        int startInfoVa = (int) (virtBase + ((long) startInfoPfn << 12));
        int esp = (int) (virtBase + ((long) (stackPfn + 1) << 12));
        d.vcpus[0].kernelSs = FLAT_RING1_DS;
        d.vcpus[0].kernelSp = esp;
        return new PvBootState((int) kernel.entry(), esp, startInfoVa, (long) l3Mfn << 12, 0x202, FLAT_RING1_CS,
                FLAT_RING1_DS, startInfoVa, (int) (virtBase + ((long) p2mPfn << 12)),
                (int) (virtBase + ((long) ptPfn << 12)), nrPt, (int) vEnd, startInfoPfn, consolePfn, storePfn);
    }

    private static void copy(XenDomain d, int[] p2m, long pa, byte[] data) {
        int off = 0;
        while (off < data.length) {
            long a = pa + off;
            int pfn = (int) (a >>> 12);
            int n = Math.min(data.length - off, 4096 - (int) (a & 0xfff));
            MachineFrames.copyIn(d.machine, ((long) p2m[pfn] << 12) + (a & 0xfff), data, off, n);
            off += n;
        }
    }

}
