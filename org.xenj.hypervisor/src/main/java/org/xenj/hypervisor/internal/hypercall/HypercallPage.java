package org.xenj.hypervisor.internal.hypercall;

import org.xenj.hypervisor.internal.mem.MachineFrames;
import org.xenj.hypervisor.internal.mem.MachineMemory;
import org.xenj.hypervisor.internal.xenabi.XenAbi;

/**
 * Hypercall pages: 128 stubs of 32 bytes, stub n = {@code mov $n,%eax; <trap>; ret}.
 * PV traps with {@code int $0x82}; HVM with {@code vmcall} (the CPU traps {@code vmmcall} too).
 * PV's iret stub pushes EAX first ({@code push %eax; mov $23,%eax; int $0x82}) since
 * HYPERVISOR_iret takes its frame, EAX included, from the guest stack.
 */
public final class HypercallPage {

    public static final int STUB_SIZE = 32;
    public static final int STUBS = 4096 / STUB_SIZE;

    private HypercallPage() {
    }

    /** The page's bytes for a PV guest. */
    public static byte[] pv() {
        byte[] p = new byte[4096];
        for (int n = 0; n < STUBS; n++) {
            int o = n * STUB_SIZE;
            if (n == XenAbi.HC_IRET) {
                p[o++] = 0x50; // push %eax
            }
            o = movEax(p, o, n);
            p[o++] = (byte) 0xcd; // int $0x82
            p[o++] = (byte) 0x82;
            if (n != XenAbi.HC_IRET) {
                p[o] = (byte) 0xc3; // ret (iret never returns here)
            }
        }
        return p;
    }

    /** The page's bytes for an HVM guest (written when it writes the hypercall MSR). */
    public static byte[] hvm() {
        byte[] p = new byte[4096];
        for (int n = 0; n < STUBS; n++) {
            int o = movEax(p, n * STUB_SIZE, n);
            p[o++] = 0x0f; // vmcall
            p[o++] = 0x01;
            p[o++] = (byte) 0xc1;
            p[o] = (byte) 0xc3;
        }
        return p;
    }

    private static int movEax(byte[] p, int o, int n) {
        p[o++] = (byte) 0xb8;
        p[o++] = (byte) n;
        p[o++] = (byte) (n >>> 8);
        p[o++] = 0;
        p[o++] = 0;
        return o;
    }

    public static void writePv(MachineMemory m, long pageMa) {
        byte[] p = pv();
        MachineFrames.copyIn(m, pageMa, p, 0, p.length);
    }

    public static void writeHvm(MachineMemory m, long pageMa) {
        byte[] p = hvm();
        MachineFrames.copyIn(m, pageMa, p, 0, p.length);
    }
}
