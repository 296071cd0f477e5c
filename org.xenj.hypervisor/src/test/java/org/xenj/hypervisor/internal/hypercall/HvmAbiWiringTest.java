package org.xenj.hypervisor.internal.hypercall;

import org.xenj.hypervisor.internal.mem.MachineFrames;

import static org.junit.jupiter.api.Assertions.*;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.*;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.internal.exec.NoDeviceEnvironment;
import org.xenj.hypervisor.internal.cpu.Cpu;
import org.xenj.hypervisor.internal.mem.MachineMemory;
import org.xenj.hypervisor.internal.pv.TestContext;
import org.xenj.hypervisor.internal.xenabi.GuestLayouts;

/**
 * What a PVHVM Linux needs from the HVM Xen ABI beyond the basics: hypercall pointers are linear
 * addresses walked through the guest's own page tables, VCPUOP_register_vcpu_info moves
 * vcpu_info, and HVM_PARAM_CALLBACK_IRQ turns pending upcalls into a vector or a GSI level.
 */
class HvmAbiWiringTest {

    private final MachineMemory machine = new MachineMemory(32L << 20);
    private final TestContext ctx = new TestContext(machine, 7, DomainType.HVM);
    private final List<String> gsi = new ArrayList<>();
    private final HvmXenAbi abi;

    HvmAbiWiringTest() {
        ctx.memory.populate(0, 2048);
        abi = new HvmXenAbi(new XenHost(ctx.memory.machine()), ctx, 1, (line, level) -> gsi.add(line + (level ? "+" : "-")));
    }

    private Cpu pagedCpu(boolean pae) {
        Cpu cpu = new Cpu(ctx.memory, NoDeviceEnvironment.INSTANCE);
        cpu.enterFlatProtectedMode32(0);
        if (pae) {
            // PDPT at 0x10000 -> PD at 0x11000 -> PT at 0x12000; VA 0xC0000000 -> PA 0x200000 (4 KiB pages)
            ctx.memory.write32(0x10000 + 8 * 3, 0x11000 | 1);
            ctx.memory.write32(0x11000, 0x12000 | 3);
            ctx.memory.write32(0x12000, 0x200000 | 3);           // VA 0xC0000000 RW
            ctx.memory.write32(0x12000 + 8, 0x201000 | 1);       // VA 0xC0001000 read-only
            ctx.memory.write32(0x11000 + 8, 0x400000 | 0x83);    // VA 0xC0200000: 2 MiB page -> 0x400000
            cpu.setCr(4, Cpu.CR4_PAE);
            cpu.setCr(3, 0x10000);
        } else {
            // PD at 0x10000, PT at 0x11000; VA 0xC0000000 -> PA 0x200000
            ctx.memory.write32(0x10000 + 4 * 0x300, 0x11000 | 3);
            ctx.memory.write32(0x11000, 0x200000 | 3);
            ctx.memory.write32(0x11000 + 4, 0x201000 | 1);
            ctx.memory.write32(0x10000 + 4 * 0x301, 0x400000 | 0x83); // VA 0xC0400000: 4 MiB page
            cpu.setCr(4, Cpu.CR4_PSE);
            cpu.setCr(3, 0x10000);
        }
        // CR0.WP as Linux sets it: supervisor writes honour read-only entries
        cpu.setCr(0, cpu.getCr0() | Cpu.CR0_PG | Cpu.CR0_WP);
        return cpu;
    }

    private void checkWalk(boolean pae) {
        Cpu cpu = pagedCpu(pae);
        HvmLinearMemory view = new HvmLinearMemory(ctx.memory);
        view.attach(cpu);
        view.write32(0xC0000010, 0x12345678);
        assertEquals(0x12345678, ctx.memory.read32(0x200010), "write lands at the physical page the PTE names");
        ctx.memory.write32(0x201020, 0xabcdef);
        assertEquals(0xabcdef, view.read32(0xC0001020));
        assertThrows(GuestFault.class, () -> view.write32(0xC0001020, 1), "read-only PTE refuses a hypercall write");
        cpu.setCr(0, cpu.getCr0() & ~Cpu.CR0_WP);
        view.write32(0xC0001020, 1); // with CR0.WP=0 a supervisor write ignores R/W, as the CPU and Xen's walk do
        assertEquals(1, ctx.memory.read32(0x201020), "CR0.WP=0: the supervisor write went through");
        cpu.setCr(0, cpu.getCr0() | Cpu.CR0_WP);
        assertThrows(GuestFault.class, () -> view.read32(0xC0002000), "not-present PTE faults");
        assertThrows(GuestFault.class, () -> view.read32(0x00001000), "unmapped low VA faults although PA 0x1000 is RAM");
        int big = pae ? 0xC0200000 : 0xC0400000;
        ctx.memory.write32(0x400000 + 0x1234, 77);
        assertEquals(77, view.read32(big + 0x1234), "large page");
    }

    @Test
    void hypercallWalksReadExecuteDisableAsTheGuestSetIt() {
        Cpu cpu = new Cpu(ctx.memory, NoDeviceEnvironment.INSTANCE);
        cpu.enterFlatProtectedMode32(0);
        // mov ecx, IA32_EFER; mov eax, NXE; xor edx, edx; wrmsr; hlt  (paging still off)
        byte[] enableNx = {(byte) 0xb9, (byte) 0x80, 0, 0, (byte) 0xc0, (byte) 0xb8, 0, 8, 0, 0, 0x31, (byte) 0xd2, 0x0f, 0x30,
            (byte) 0xf4};
        ctx.memory.write(0x1000, enableNx, 0, enableNx.length);
        cpu.setEip(0x1000);
        assertEquals(-1, cpu.runTest(100), "wrmsr EFER.NXE then hlt");
        Cpu paged = pagedCpu(true);
        ctx.memory.write32(0x12000 + 4, 0x8000_0000);          // XD on VA 0xC0000000's PTE, as Linux marks data
        ctx.memory.write32(0x200020, 0x5a5a);
        HvmLinearMemory view = new HvmLinearMemory(ctx.memory);
        view.attach(paged);
        assertThrows(GuestFault.class, () -> view.read32(0xC0000020), "without NXE bit 63 is reserved");
        view.attach(cpu);
        cpu.setCr(4, Cpu.CR4_PAE);
        cpu.setCr(3, 0x10000);
        cpu.setCr(0, cpu.getCr0() | Cpu.CR0_PG | Cpu.CR0_WP);
        assertEquals(0x5a5a, view.read32(0xC0000020), "with the vCPU's NXE the XD page reads");
    }

    @Test
    void pointersAreWalkedThroughTwoLevelPaging() {
        checkWalk(false);
    }

    @Test
    void pointersAreWalkedThroughPaePaging() {
        checkWalk(true);
    }

    @Test
    void vmcallWithAPagedPointerWritesTheGuestsBuffer() {
        Cpu cpu = pagedCpu(true);
        cpu.setHypercallHandler(abi.hypercallHandler(0));
        cpu.setReg32(0, HC_XEN_VERSION);
        cpu.setReg32(3, XENVER_EXTRAVERSION);
        cpu.setReg32(1, 0xC0000100);
        assertTrue(abi.hypercallHandler(0).hypercall(cpu, org.xenj.hypervisor.internal.cpu.HypercallHandler.VMCALL));
        assertEquals(0, cpu.getReg32(0));
        assertEquals('.', ctx.memory.read8(0x200100), "EXTRAVERSION string at the physical page behind the VA");
        assertEquals(1, abi.calls(HC_XEN_VERSION, XENVER_EXTRAVERSION));
        assertTrue(abi.callSummary().get(0).startsWith("hypercall 17: cmd 1 x1"), abi.callSummary().toString());
    }

    @Test
    void registerVcpuInfoMovesItOnceAndMarksEverythingPending() {
        XenDomain d = abi.domain();
        HypercallContext hc = new HypercallContext(d, 0, null);
        HypercallDispatcher disp = d.host.dispatcher;
        hc.memory.write64(0x3000, 0x300);
        hc.memory.write32(0x3008, 0x40);
        hc.memory.write32(0x300c, 0);
        assertEquals(0, disp.dispatch(hc, HC_VCPU_OP, VCPUOP_REGISTER_VCPU_INFO, 0, 0x3000, 0, 0));
        long ma = ((long) ctx.memory.mfn(0x300) << 12) + 0x40;
        assertEquals(ma, d.events.vcpuInfoAddress(0));
        assertEquals(1, ctx.memory.read8(0x300040 + GuestLayouts.VI_UPCALL_PENDING));
        assertEquals(-1, ctx.memory.read32(0x300040 + GuestLayouts.VI_PENDING_SEL));
        assertTrue(d.events.upcallPending(0));
        int timeVersion = ctx.memory.read32(0x300040 + GuestLayouts.VI_TIME + GuestLayouts.VT_VERSION);
        assertTrue(timeVersion > 0 && timeVersion % 2 == 0, "time info published at the new place");
        assertEquals(-EINVAL, disp.dispatch(hc, HC_VCPU_OP, VCPUOP_REGISTER_VCPU_INFO, 0, 0x3000, 0, 0), "only once");
        assertEquals(ma, d.events.vcpuInfoAddress(0));
    }

    @Test
    void registerVcpuInfoRefusesBadFramesAndOffsets() {
        XenDomain d = abi.domain();
        HypercallContext hc = new HypercallContext(d, 0, null);
        HypercallDispatcher disp = d.host.dispatcher;
        long before = d.events.vcpuInfoAddress(0);
        hc.memory.write64(0x3000, 0x300);
        hc.memory.write32(0x3008, 4096 - 8);
        assertEquals(-EINVAL, disp.dispatch(hc, HC_VCPU_OP, VCPUOP_REGISTER_VCPU_INFO, 0, 0x3000, 0, 0), "does not fit");
        hc.memory.write64(0x3000, 0x90000); // beyond RAM
        hc.memory.write32(0x3008, 0);
        assertEquals(-EINVAL, disp.dispatch(hc, HC_VCPU_OP, VCPUOP_REGISTER_VCPU_INFO, 0, 0x3000, 0, 0), "not RAM");
        assertEquals(-ENOENT, disp.dispatch(hc, HC_VCPU_OP, VCPUOP_REGISTER_VCPU_INFO, 3, 0x3000, 0, 0), "no vCPU 3");
        assertEquals(-EFAULT, disp.dispatch(hc, HC_VCPU_OP, VCPUOP_REGISTER_VCPU_INFO, 0, 0x7fff0000, 0, 0));
        assertEquals(before, d.events.vcpuInfoAddress(0), "nothing moved");
    }

    private void setCallback(long via) {
        HypercallContext hc = new HypercallContext(abi.domain(), 0, null);
        hc.memory.write16(0x3000, DOMID_SELF);
        hc.memory.write32(0x3004, HVM_PARAM_CALLBACK_IRQ);
        hc.memory.write64(0x3008, via);
        assertEquals(0, abi.domain().host.dispatcher.dispatch(hc, HC_HVM_OP, HVMOP_SET_PARAM, 0x3000, 0, 0, 0));
    }

    @Test
    void callbackVectorIsPendingWhileTheUpcallIs() {
        HvmEventCallback cb = abi.eventCallback();
        assertFalse(cb.vectorPending(0));
        setCallback(2L << 56 | 0xf3);
        assertEquals(0xf3, cb.vector());
        assertFalse(cb.vectorPending(0));
        abi.domain().events.setPending(5, 0);
        assertTrue(cb.vectorPending(0), "event pending -> the vector is due");
        assertEquals(1, ctx.wakes.get() > 0 ? 1 : 0, "the vCPU was woken");
        MachineFrames.write8(machine, abi.domain().events.vcpuInfoAddress(0) + GuestLayouts.VI_UPCALL_PENDING, 0);
        assertFalse(cb.vectorPending(0), "guest cleared evtchn_upcall_pending");
        assertTrue(gsi.isEmpty(), "a vector callback raises no GSI");
    }

    @Test
    void callbackGsiFollowsUpcallPending() {
        HvmEventCallback cb = abi.eventCallback();
        setCallback(9);
        assertEquals(-1, cb.vector());
        abi.domain().events.setPending(5, 0);
        assertEquals(List.of("9+"), gsi);
        assertTrue(cb.gsiAsserted());
        MachineFrames.write8(machine, abi.domain().events.vcpuInfoAddress(0) + GuestLayouts.VI_UPCALL_PENDING, 0);
        cb.syncGsi();
        assertEquals(List.of("9+", "9-"), gsi);
        assertFalse(cb.gsiAsserted());
    }

    @Test
    void hypercallMsrReadsZeroAndOtherMsrsAreNotOurs() {
        long[] out = {5};
        assertTrue(abi.readMsr(0x40000000, out));
        assertEquals(0, out[0]);
        assertFalse(abi.readMsr(0x40000001, out));
        assertFalse(abi.writeMsr(0x40000001, 0x2000));
    }

    @Test
    void destroyLogsTheHypercallSummaryOnce() {
        abi.destroy();
        abi.destroy();
        assertEquals(1, ctx.log.stream().filter(l -> l.startsWith("Xen ABI:")).count(), ctx.log.toString());
    }
}
