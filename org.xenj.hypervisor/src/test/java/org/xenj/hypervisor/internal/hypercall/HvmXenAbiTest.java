package org.xenj.hypervisor.internal.hypercall;

import static org.junit.jupiter.api.Assertions.*;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.*;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.internal.cpu.Cpu;
import org.xenj.hypervisor.internal.exec.NoDeviceEnvironment;
import org.xenj.hypervisor.internal.mem.MachineMemory;
import org.xenj.hypervisor.internal.pv.TestContext;
import org.xenj.hypervisor.internal.hypercall.XenCpuidLeaves;

class HvmXenAbiTest {

    private final MachineMemory machine = new MachineMemory(32L << 20);
    private final TestContext ctx = new TestContext(machine, 9, DomainType.HVM);
    private final HvmXenAbi abi;

    HvmXenAbiTest() {
        ctx.memory.populate(0, 1024);
        abi = new HvmXenAbi(new XenHost(ctx.memory.machine()), ctx, 1);
    }

    private Cpu cpu(byte[] code) {
        ctx.memory.write(0x1000, code, 0, code.length);
        Cpu cpu = new Cpu(ctx.memory, NoDeviceEnvironment.INSTANCE);
        cpu.enterFlatProtectedMode32(0);
        cpu.setHypercallHandler(abi.hypercallHandler(0));
        cpu.setCpuidHook(abi.cpuidHook(0));
        cpu.setEip(0x1000);
        cpu.setReg32(4, 0x8000);
        return cpu;
    }

    @Test
    void cpuidShowsXenAndTheHypercallMsrFillsAVmcallPage() {
        int[] r = new int[4];
        assertTrue(XenCpuidLeaves.query(0x40000000, 0, 9, 0, r));
        assertEquals("XenVMMXenVMM", new String(new byte[] {
            (byte) r[1], (byte) (r[1] >> 8), (byte) (r[1] >> 16), (byte) (r[1] >> 24),
            (byte) r[2], (byte) (r[2] >> 8), (byte) (r[2] >> 16), (byte) (r[2] >> 24),
            (byte) r[3], (byte) (r[3] >> 8), (byte) (r[3] >> 16), (byte) (r[3] >> 24)}));
        assertTrue(XenCpuidLeaves.query(0x40000002, 0, 9, 0, r));
        assertEquals(0x40000000, r[1]);
        assertFalse(abi.writeMsr(0x40000000, 0x2001), "page index 1 does not exist");
        assertFalse(abi.writeMsr(0x40000000, 0x7000000L), "not RAM");
        assertTrue(abi.writeMsr(0x40000000, 0x2000));
        assertEquals(0xb8, ctx.memory.read8(0x2000 + 32 * 17));
        assertEquals(0xc1010f, ctx.memory.read32(0x2000 + 32 * 17 + 5) & 0xffffff);
        // call the xen_version stub through the page: mov ebx,0; call 0x2220; hlt
        Cpu cpu = cpu(new byte[] {(byte) 0xbb, 0, 0, 0, 0, (byte) 0xe8, 0x16, 0x12, 0, 0, (byte) 0xf4});
        assertEquals(-1, cpu.runTest(100));
        assertEquals(4 << 16 | 17, cpu.getReg32(0));
    }

    @Test
    void cpuidInstructionSeesTheLeavesThroughTheHook() {
        // mov eax,0x40000001; cpuid; hlt
        Cpu cpu = cpu(new byte[] {(byte) 0xb8, 1, 0, 0, 0x40, 0x0f, (byte) 0xa2, (byte) 0xf4});
        assertEquals(-1, cpu.runTest(100));
        assertEquals(4 << 16 | 17, cpu.getReg32(0));
    }

    @Test
    void hvmParamsAndSharedInfoPlacement() {
        abi.setParam(HVM_PARAM_STORE_PFN, 0x3ff);
        HypercallContext hc = new HypercallContext(abi.domain(), 0, null);
        HypercallDispatcher d = abi.domain().host.dispatcher;
        var m = hc.memory;
        m.write16(0x3000, DOMID_SELF);
        m.write32(0x3004, HVM_PARAM_STORE_PFN);
        assertEquals(0, d.dispatch(hc, HC_HVM_OP, HVMOP_GET_PARAM, 0x3000, 0, 0, 0));
        assertEquals(0x3ff, m.read64(0x3008));
        assertEquals(-EPERM, d.dispatch(hc, HC_HVM_OP, HVMOP_SET_PARAM, 0x3000, 0, 0, 0), "guest may not move its store");
        m.write32(0x3004, 1000);
        assertEquals(-EINVAL, d.dispatch(hc, HC_HVM_OP, HVMOP_GET_PARAM, 0x3000, 0, 0, 0));
        // add_to_physmap(shared_info) at gpfn 0x100: the page there becomes shared_info
        long before = abi.domain().currentPages();
        m.write16(0x3100, DOMID_SELF);
        m.write32(0x3104, XENMAPSPACE_SHARED_INFO);
        m.write32(0x3108, 0);
        m.write32(0x310c, 0x100);
        assertEquals(0, d.dispatch(hc, HC_MEMORY_OP, XENMEM_ADD_TO_PHYSMAP, 0x3100, 0, 0, 0));
        assertEquals(abi.domain().sharedInfoMfn, ctx.memory.mfn(0x100));
        abi.domain().updateTime(0);
        assertTrue(m.read32(0x100000 + 2304) > 0, "wallclock version visible through the new mapping");
        assertTrue(abi.domain().currentPages() <= before + 1);
        // grant table frame 0 at gpfn 0x101
        m.write32(0x3104, XENMAPSPACE_GRANT_TABLE);
        m.write32(0x310c, 0x101);
        assertEquals(0, d.dispatch(hc, HC_MEMORY_OP, XENMEM_ADD_TO_PHYSMAP, 0x3100, 0, 0, 0));
        assertEquals(abi.domain().gnttab.frameMfn(0), ctx.memory.mfn(0x101));
        m.write32(0x3104, 9);
        assertEquals(-EINVAL, d.dispatch(hc, HC_MEMORY_OP, XENMEM_ADD_TO_PHYSMAP, 0x3100, 0, 0, 0));
    }

    @Test
    void debugPortWritesLinesToTheLog() {
        var port = abi.debugPort();
        for (char c : "hello\n".toCharArray()) {
            port.ioWrite(0, 1, c);
        }
        assertEquals(0xe9, port.ioRead(0, 1));
        assertTrue(ctx.log.contains("debug port: hello"), ctx.log.toString());
        for (int i = 0; i < 1000; i++) {
            port.ioWrite(0, 1, 'x');
        }
        assertTrue(ctx.log.size() >= 4, "long output is cut into bounded lines");
    }

    @Test
    void destroyForgetsTheDomain() {
        abi.destroy();
        assertNull(abi.domain().host.domain(9));
    }
}
