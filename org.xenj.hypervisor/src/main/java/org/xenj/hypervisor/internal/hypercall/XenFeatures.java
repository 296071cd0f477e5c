package org.xenj.hypervisor.internal.hypercall;

import static org.xenj.hypervisor.internal.xenabi.XenAbi.*;

import org.xenj.hypervisor.internal.mem.MachineMemory;

/**
 * What {@code XENVER_get_features} answers (submap 0), with Xen's meaning of each bit (features.h)
 * and Xen's rules for when it is set (common/kernel.c), limited to what xenj really does.
 *
 * <p>PV: {@code pae_pgdir_above_4gb} while VMASST_TYPE_pae_extended_cr3 is on (as Xen), and only
 * while every machine frame is below 4 GiB (the PV vCPU's CR3 is 32 bits). Not
 * {@code writable_page_tables}: to a PV guest that bit says "page tables need not be
 * write-protected" (xenlinux then skips pinning, Linux keeps its GDT writable), which PV guests on
 * Xen and xenj may not do; Xen sets it for translated guests only. What PV guests get instead is
 * the VMASST_TYPE_writable_pagetables assist (stores into their L1 tables are emulated), which a
 * kernel may require with {@code !writable_page_tables} in its FEATURES note. Not offered either:
 * mmu_pt_update_preserve_ad (PRESERVE_AD is taken as a normal update), highmem_assist, grant
 * map avail bits.
 *
 * <p>HVM: auto_translated_physmap and hvm_callback_vector; no hvm_safe_pvclock (vcpu_time_info is
 * not kept current for HVM), no hvm_pirqs; not writable_page_tables (Xen sets it with
 * auto_translated_physmap, but Linux's PVHVM path does not need it and it was never offered here).
 */
public final class XenFeatures {

    private XenFeatures() {
    }

    /** Whether a 32-bit CR3 reaches every frame of {@code machine} (pae_pgdir_above_4gb is then trivially true). */
    public static boolean allFramesBelow4G(MachineMemory machine) {
        return machine.totalFrames() <= 1 << 20;
    }

    /** Submap 0 for {@code d}. */
    public static int submap0(XenDomain d) {
        if (!d.pv) {
            return 1 << XENFEAT_AUTO_TRANSLATED_PHYSMAP | 1 << XENFEAT_HVM_CALLBACK_VECTOR;
        }
        int f = 0;
        if ((d.vmAssist & 1 << VMASST_TYPE_PAE_EXTENDED_CR3) != 0 && allFramesBelow4G(d.machine)) {
            f |= 1 << XENFEAT_PAE_PGDIR_ABOVE_4GB;
        }
        return f;
    }

    /** The VMASST types a domain may turn on (Xen's PV32_VM_ASSIST_MASK, less the ones xenj lacks). */
    public static int vmAssistSupported(XenDomain d) {
        int common = 1 << VMASST_TYPE_4GB_SEGMENTS | 1 << VMASST_TYPE_4GB_SEGMENTS_NOTIFY | 1 << VMASST_TYPE_PAE_EXTENDED_CR3;
        return d.pv ? common | 1 << VMASST_TYPE_WRITABLE_PAGETABLES : common;
    }
}
