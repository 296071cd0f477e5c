package org.xenj.hypervisor.internal.hypercall;

import org.xenj.hypervisor.internal.exec.VirtualClock;
import org.xenj.hypervisor.internal.timer.PvClockScale;
import org.xenj.hypervisor.internal.xenabi.XenAbi;

/**
 * Xen's hypervisor CPUID leaves (arch-x86/cpuid.h), for PV guests (through the forced-emulation
 * prefix) and HVM guests (how PVHVM Linux finds Xen): 0x40000000 signature "XenVMMXenVMM",
 * 0x40000001 version, 0x40000002 hypercall-page count and MSR base, 0x40000003 time (the guest's
 * TSC frequency and TSC-to-ns scale; the TSC is never emulated and has no offset), 0x40000004 HVM
 * features with vCPU and domain ids.
 */
public final class XenCpuidLeaves {

    public static final int BASE = 0x40000000;
    public static final int LAST = BASE + 4;
    /** The MSR whose write fills a hypercall page (EBX of leaf 0x40000002). */
    public static final int HYPERCALL_MSR = 0x40000000;
    private static final int VCPU_ID_PRESENT = 1 << 3;
    private static final int DOMID_PRESENT = 1 << 4;

    private XenCpuidLeaves() {
    }

    /** As {@link #query(int, int, int, int, long, int[])} for a domain on the default 1 GHz TSC. */
    public static boolean query(int leaf, int subleaf, int domid, int vcpu, int[] regs) {
        return query(leaf, subleaf, domid, vcpu, VirtualClock.DEFAULT_TSC_HZ, regs);
    }

    /**
     * Fills {@code regs} (EAX, EBX, ECX, EDX) for a Xen leaf of a domain whose TSC runs at
     * {@code tscHz}; returns false (regs untouched) for other leaves.
     */
    public static boolean query(int leaf, int subleaf, int domid, int vcpu, long tscHz, int[] regs) {
        if (leaf < BASE || leaf > LAST) {
            return false;
        }
        regs[0] = regs[1] = regs[2] = regs[3] = 0;
        switch (leaf - BASE) {
            case 0 -> {
                regs[0] = LAST;
                regs[1] = 0x566e6558; // "XenV"
                regs[2] = 0x65584d4d; // "MMXe"
                regs[3] = 0x4d4d566e; // "nVMM"
            }
            case 1 -> regs[0] = XenAbi.XEN_MAJOR << 16 | XenAbi.XEN_MINOR;
            case 2 -> {
                regs[0] = 1;
                regs[1] = HYPERCALL_MSR;
            }
            case 3 -> time(subleaf, tscHz, regs);
            case 4 -> {
                if (subleaf == 0) {
                    regs[0] = VCPU_ID_PRESENT | DOMID_PRESENT;
                    regs[1] = vcpu;
                    regs[2] = domid;
                }
            }
            default -> {
            }
        }
        return true;
    }

    /**
     * Leaf 0x40000003: sub-leaf 0 ECX = guest TSC kHz (EAX 0: not emulated, EBX 0: default mode),
     * sub-leaf 1 = TSC offset 0 and the TSC-to-ns mul/shift of vcpu_time_info, sub-leaf 2 EAX = host
     * TSC kHz, which for a guest is the same virtual TSC.
     */
    private static void time(int subleaf, long tscHz, int[] regs) {
        int khz = (int) (tscHz / 1000);
        switch (subleaf) {
            case 0 -> regs[2] = khz;
            case 1 -> {
                PvClockScale scale = PvClockScale.of(tscHz);
                regs[2] = scale.mul();
                regs[3] = scale.shift();
            }
            case 2 -> regs[0] = khz;
            default -> {
            }
        }
    }
}
