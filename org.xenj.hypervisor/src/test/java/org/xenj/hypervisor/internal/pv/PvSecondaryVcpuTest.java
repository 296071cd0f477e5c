package org.xenj.hypervisor.internal.pv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.*;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.exec.VCpuExecutor.RunExit;

/**
 * Secondary vCPUs of a PV domain, as Linux brings them up (cpu_initialize_context, then
 * VCPUOP_up) and takes them down for CPU hot-plug: VCPUOP_initialise with Xen's 32-bit
 * {@code struct vcpu_guest_context} (offsets from public/arch-x86/xen-x86_32.h, 4-byte packing),
 * VCPUOP_up, VCPUOP_down of itself and VCPUOP_up again, which goes on after the hypercall. Bad
 * contexts are refused with nothing changed.
 */
class PvSecondaryVcpuTest {

    private static final int BASE = (int) PvFixture.VIRT_BASE;
    private static final int AP_CODE = 0x400;
    // struct vcpu_guest_context (x86_32) and its cpu_user_regs
    private static final int USER_REGS = 516, TRAP_CTXT = 584, GDT_ENTS = 2704, KERNEL_SS = 2708, KERNEL_SP = 2712,
            CR3 = 2716 + 12, EVENT_CS = 2780, EVENT_EIP = 2784, SIZE = 2800;
    private static final int R_EAX = 24, R_EIP = 32, R_CS = 36, R_EFLAGS = 40, R_ESP = 44, R_SS = 48, R_ES = 52, R_DS = 56;
    private static final int FLAT_RING1_DS = 0xe021;

    private final PvFixture f = new PvFixture();

    private static byte[] kernel() {
        byte[] c = new byte[3 * 4096];
        c[0] = (byte) 0xf4; // the boot vCPU: hlt
        int[] ap = {
            0xbd, 0x77, 0, 0, 0,       // mov ebp, 0x77
            0xb8, HC_VCPU_OP, 0, 0, 0, // mov eax, vcpu_op
            0xbb, VCPUOP_DOWN, 0, 0, 0, // mov ebx, VCPUOP_down
            0xb9, 1, 0, 0, 0,          // mov ecx, 1 (itself)
            0x31, 0xd2,                // xor edx, edx
            0xcd, 0x82,                // int 0x82
            0xbe, 0x88, 0, 0, 0,       // mov esi, 0x88 (only after VCPUOP_up again)
            0xf4};                     // hlt
        for (int i = 0; i < ap.length; i++) {
            c[AP_CODE + i] = (byte) ap[i];
        }
        return c;
    }

    /** A context at scratch page 1: ring-1 flat selectors, the boot page tables, a stack on scratch page 3. */
    private static int context(PvFixture.Dom d) {
        int ctx = d.scratch(1);
        d.hc.memory.write(ctx, new byte[SIZE], 0, SIZE);
        int r = ctx + USER_REGS;
        d.hc.memory.write32(r + R_EAX, 0x1234);
        d.hc.memory.write32(r + R_EIP, BASE + AP_CODE);
        d.hc.memory.write16(r + R_CS, FLAT_RING1_CS & ~3); // ring 0 as a guest writes it: Xen moves it to ring 1
        d.hc.memory.write16(r + R_SS, FLAT_RING1_DS);
        d.hc.memory.write16(r + R_DS, FLAT_RING1_DS);
        d.hc.memory.write16(r + R_ES, FLAT_RING1_DS);
        d.hc.memory.write32(r + R_EFLAGS, 0x1000); // IOPL 1 as Linux sets it: not the guest's to set
        d.hc.memory.write32(r + R_ESP, d.scratch(3) + 4000);
        d.hc.memory.write32(ctx + KERNEL_SS, FLAT_RING1_DS);
        d.hc.memory.write32(ctx + KERNEL_SP, d.scratch(3) + 4000);
        int mfn = (int) (d.boot.cr3() >>> 12);
        d.hc.memory.write32(ctx + CR3, mfn << 12 | mfn >>> 20); // xen_pfn_to_cr3
        d.hc.memory.write32(ctx + EVENT_CS, FLAT_RING1_CS);
        d.hc.memory.write32(ctx + EVENT_EIP, BASE + 0x500);
        d.hc.memory.write8(ctx + TRAP_CTXT, 14); // one trap: #PF
        d.hc.memory.write16(ctx + TRAP_CTXT + 2, FLAT_RING1_CS);
        d.hc.memory.write32(ctx + TRAP_CTXT + 4, BASE + 0x600);
        return ctx;
    }

    private static int isUp(PvFixture.Dom d, int vcpu) {
        return d.call(HC_VCPU_OP, VCPUOP_IS_UP, vcpu, 0, 0, 0);
    }

    @Test
    void aSecondaryVcpuStartsFromItsContextTakesItselfDownAndGoesOnWhenBroughtUp() {
        PvFixture.Dom d = f.pv(1, kernel(), 2);
        new PvVcpu(d.xen, 0, d.boot);
        PvVcpu ap = new PvVcpu(d.xen, 1, d.boot);
        assertEquals(0, isUp(d, 1));
        assertFalse(ap.scheduled().wakeupPending());
        assertEquals(RunExit.BLOCKED, ap.scheduled().run(System.nanoTime() + 1_000_000_000L), "down: it does not run");
        assertEquals(-EINVAL, d.call(HC_VCPU_OP, VCPUOP_UP, 1, 0, 0, 0), "up before initialise");

        int ctx = context(d);
        assertEquals(0, d.call(HC_VCPU_OP, VCPUOP_INITIALISE, 1, ctx, 0, 0));
        assertEquals(-EEXIST, d.call(HC_VCPU_OP, VCPUOP_INITIALISE, 1, ctx, 0, 0), "a context only once");
        assertEquals(0, isUp(d, 1), "initialised is not up");
        var x = d.xen.vcpus[1];
        assertEquals(BASE + 0x600, x.trapEip[14]);
        assertEquals(FLAT_RING1_CS, x.trapCs[14]);
        assertEquals(FLAT_RING1_CS, x.eventCs);
        assertEquals(FLAT_RING1_DS, x.kernelSs);
        assertEquals(d.boot.cr3(), x.cr3, "the page-table base from ctrlreg[3]");

        assertEquals(0, d.call(HC_VCPU_OP, VCPUOP_UP, 1, 0, 0, 0));
        assertEquals(1, isUp(d, 1));
        assertTrue(ap.scheduled().wakeupPending());
        RunExit first = ap.scheduled().run(System.nanoTime() + 1_000_000_000L);
        var cpu = ap.cpu();
        assertNotEquals(RunExit.CRASH, first, cpu.stateString());
        assertEquals(0x77, cpu.getReg32(5), "ran from the context's EIP: " + cpu.stateString());
        assertEquals(1, cpu.getCpl(), "in ring 1");
        assertEquals(0, cpu.getReg32(0), "VCPUOP_down of itself returned 0");
        assertNotEquals(0x88, cpu.getReg32(6), "nothing after VCPUOP_down ran");
        assertEquals(0, isUp(d, 1));
        assertFalse(ap.scheduled().wakeupPending());
        assertEquals(RunExit.BLOCKED, ap.scheduled().run(System.nanoTime() + 1_000_000_000L));
        assertNotEquals(0x88, cpu.getReg32(6), "down: still nothing ran");

        assertEquals(0, d.call(HC_VCPU_OP, VCPUOP_UP, 1, 0, 0, 0));
        assertEquals(RunExit.BLOCKED, ap.scheduled().run(System.nanoTime() + 1_000_000_000L), cpu.stateString());
        assertEquals(0x88, cpu.getReg32(6), "on after the hypercall once up again");
        assertEquals(0x77, cpu.getReg32(5));
    }

    @Test
    void badContextsAreRefusedAndChangeNothing() {
        PvFixture.Dom d = f.pv(1, kernel(), 2);
        new PvVcpu(d.xen, 0, d.boot);
        PvVcpu ap = new PvVcpu(d.xen, 1, d.boot);
        int ctx = context(d);
        // a page-table base that is not a page table (the kernel's first page)
        int codeMfn = d.mfnOfVa(BASE);
        d.hc.memory.write32(ctx + CR3, codeMfn << 12 | codeMfn >>> 20);
        assertTrue(d.call(HC_VCPU_OP, VCPUOP_INITIALISE, 1, ctx, 0, 0) < 0, "not a page table");
        int mfn = (int) (d.boot.cr3() >>> 12);
        d.hc.memory.write32(ctx + CR3, mfn << 12 | mfn >>> 20);
        // a null code selector
        d.hc.memory.write16(ctx + USER_REGS + R_CS, 0);
        assertEquals(-EINVAL, d.call(HC_VCPU_OP, VCPUOP_INITIALISE, 1, ctx, 0, 0));
        d.hc.memory.write16(ctx + USER_REGS + R_CS, FLAT_RING1_CS);
        // a GDT larger than the guest's part of it
        d.hc.memory.write32(ctx + GDT_ENTS, FIRST_RESERVED_GDT_ENTRY + 1);
        assertEquals(-EINVAL, d.call(HC_VCPU_OP, VCPUOP_INITIALISE, 1, ctx, 0, 0));
        d.hc.memory.write32(ctx + GDT_ENTS, 0);
        // another domain's vCPU numbers
        assertEquals(-ENOENT, d.call(HC_VCPU_OP, VCPUOP_INITIALISE, 2, ctx, 0, 0));
        var x = d.xen.vcpus[1];
        assertFalse(x.initialised);
        assertEquals(0, x.cr3, "no page-table base kept from a refused context");
        assertEquals(0, x.trapEip[14]);
        assertEquals(-EINVAL, d.call(HC_VCPU_OP, VCPUOP_UP, 1, 0, 0, 0));
        // the good context still works
        assertEquals(0, d.call(HC_VCPU_OP, VCPUOP_INITIALISE, 1, ctx, 0, 0));
        assertEquals(0, d.call(HC_VCPU_OP, VCPUOP_UP, 1, 0, 0, 0));
        ap.scheduled().run(System.nanoTime() + 1_000_000_000L);
        assertEquals(0x77, ap.cpu().getReg32(5), ap.cpu().stateString());
    }
}
