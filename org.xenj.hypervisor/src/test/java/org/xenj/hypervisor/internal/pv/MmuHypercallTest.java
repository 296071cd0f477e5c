package org.xenj.hypervisor.internal.pv;

import org.xenj.hypervisor.internal.mem.PvPageTables;

import static org.junit.jupiter.api.Assertions.*;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.*;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.hypercall.GuestFault;
import org.xenj.hypervisor.internal.mem.MachineFrames;

class MmuHypercallTest {

    private final PvFixture f = new PvFixture();
    private final PvFixture.Dom a = f.pv(1);
    private final PvFixture.Dom b = f.pv(2);

    private long pteAddressOf(PvFixture.Dom d, int va) {
        return ((org.xenj.hypervisor.internal.hypercall.PvVirtualMemory) d.hc.memory).l1EntryAddress(va);
    }

    private int mmuUpdate(PvFixture.Dom d, long ptr, long val) {
        int req = d.scratch(1);
        d.hc.memory.write64(req, ptr);
        d.hc.memory.write64(req + 8, val);
        return d.call(HC_MMU_UPDATE, req, 1, d.scratch(1) + 64, DOMID_SELF, 0);
    }

    private int mmuext(PvFixture.Dom d, int cmd, int arg1) {
        int op = d.scratch(1);
        d.hc.memory.write32(op, cmd);
        d.hc.memory.write32(op + 4, arg1);
        return d.call(HC_MMUEXT_OP, op, 1, 0, DOMID_SELF, 0);
    }

    @Test
    void mappingAFrameOfAnotherDomainIsRefusedAndChangesNothing() {
        int va = a.scratch(5);
        long ptr = pteAddressOf(a, va);
        long before = MachineFrames.read64(f.machine, ptr);
        int foreign = b.mfnOfVa(b.scratch(5));
        assertEquals(-EPERM, mmuUpdate(a, ptr, (long) foreign << 12 | 0x63));
        assertEquals(-EPERM, a.call(HC_UPDATE_VA_MAPPING, va, foreign << 12 | 0x63, 0, 0, 0));
        assertEquals(before, MachineFrames.read64(f.machine, ptr));
        assertEquals(-EPERM, mmuUpdate(a, (long) foreign << 12, 0), "writing a PTE in a foreign frame");
        int unowned = f.machine.totalFrames() - 1;
        assertEquals(-EPERM, mmuUpdate(a, ptr, (long) unowned << 12 | 0x63), "a free frame");
        int own = a.mfnOfVa(a.scratch(6));
        assertEquals(-EPERM, mmuUpdate(a, ptr, 1L << 44 | (long) own << 12 | 0x61),
                "address bits above 2^43 do not wrap around onto an own frame");
        assertEquals(before, MachineFrames.read64(f.machine, ptr));
    }

    @Test
    void pageTablePagesNeverBecomeWritable() {
        int va = a.scratch(5);
        long ptr = pteAddressOf(a, va);
        int l3 = (int) (a.boot.cr3() >>> 12);
        int l1 = (int) (ptr >>> 12);
        assertEquals(-EPERM, mmuUpdate(a, ptr, (long) l3 << 12 | 0x63));
        assertEquals(-EPERM, mmuUpdate(a, ptr, (long) l1 << 12 | 0x63));
        assertEquals(0, mmuUpdate(a, ptr, (long) l1 << 12 | 0x61), "read-only mapping of a page table is fine");
        assertEquals(l1, a.hc.memory.read32(va) == 0 ? l1 : l1);
        assertThrows(GuestFault.class, () -> a.hc.memory.write32(va, 1));
    }

    @Test
    void aWritablyMappedFrameCannotBePinnedAsATable() {
        int frame = a.mfnOfVa(a.scratch(6)); // mapped RW in the initial tables
        assertEquals(-EPERM, mmuext(a, MMUEXT_PIN_L1_TABLE, frame));
        assertEquals(-EINVAL, mmuext(a, MMUEXT_UNPIN_TABLE, frame), "not pinned");
        assertEquals(-EPERM, mmuext(a, MMUEXT_PIN_L1_TABLE, b.mfnOfVa(b.scratch(6))), "foreign frame");
        assertEquals(-EINVAL, mmuext(a, MMUEXT_PIN_L4_TABLE, frame));
        assertEquals(-ENOSYS, mmuext(a, 99, frame));
    }

    @Test
    void buildPinUseAndUnpinAnL1() {
        int va = a.scratch(6);
        int frame = a.mfnOfVa(va);
        long ptr = pteAddressOf(a, va);
        // make the frame read-only, fill it with a valid PTE as data before that
        a.hc.memory.write64(va, (long) a.mfnOfVa(a.scratch(7)) << 12 | 0x63);
        assertEquals(0, mmuUpdate(a, ptr, (long) frame << 12 | 0x61));
        assertEquals(0, mmuext(a, MMUEXT_PIN_L1_TABLE, frame));
        assertEquals(PvPageTables.L1, a.xen.pageTables.typeOf(frame));
        assertEquals(-EINVAL, mmuext(a, MMUEXT_PIN_L1_TABLE, frame), "double pin");
        assertEquals(-EPERM, mmuUpdate(a, ptr, (long) frame << 12 | 0x63), "still a table: no RW mapping");
        assertEquals(0, mmuext(a, MMUEXT_UNPIN_TABLE, frame));
        assertEquals(PvPageTables.NONE, a.xen.pageTables.typeOf(frame));
        assertEquals(0, mmuUpdate(a, ptr, (long) frame << 12 | 0x63));
        a.hc.memory.write32(va, 7);
    }

    @Test
    void invalidL1ContentIsRejectedAtPinAndNothingStaysTyped() {
        int va = a.scratch(6);
        int frame = a.mfnOfVa(va);
        a.hc.memory.write64(va, (long) b.mfnOfVa(b.scratch(1)) << 12 | 0x61); // foreign frame
        assertEquals(0, mmuUpdate(a, pteAddressOf(a, va), (long) frame << 12 | 0x61));
        assertEquals(-EPERM, mmuext(a, MMUEXT_PIN_L1_TABLE, frame));
        assertEquals(PvPageTables.NONE, a.xen.pageTables.typeOf(frame));
    }

    @Test
    void hypervisorSlotsOfTheTopL2AreNotTheGuests() {
        int l3 = (int) (a.boot.cr3() >>> 12);
        long topL2 = MachineFrames.read64(f.machine, ((long) l3 << 12) + 24) & 0xFFFFFF000L;
        long slot = topL2 + 8L * PvPageTables.XEN_L2_FIRST_SLOT;
        long m2p = MachineFrames.read64(f.machine, slot);
        assertEquals(-EPERM, mmuUpdate(a, slot, 0));
        assertEquals(m2p, MachineFrames.read64(f.machine, slot));
        assertEquals(-EINVAL, a.call(HC_UPDATE_VA_MAPPING, (int) 0xF5800000, 0, 0, 0, 0));
    }

    @Test
    void newBaseptrNeedsAValidL3AndForeignDomIsRefused() {
        int frame = a.mfnOfVa(a.scratch(6));
        assertEquals(-EPERM, mmuext(a, MMUEXT_NEW_BASEPTR, frame), "writable frame cannot become an L3");
        assertEquals(a.boot.cr3(), a.xen.vcpus[0].cr3);
        int req = a.scratch(1);
        assertEquals(-ESRCH, a.call(HC_MMU_UPDATE, req, 1, 0, 2, 0));
        assertEquals(-EFAULT, a.call(HC_MMU_UPDATE, 0x1000, 1, 0, DOMID_SELF, 0));
        assertEquals(-EINVAL, a.call(HC_MMU_UPDATE, req, -5, 0, DOMID_SELF, 0));
    }

    @Test
    void machphysUpdateOnlyForOwnFrames() {
        int req = a.scratch(1);
        int own = a.mfnOfVa(a.scratch(6));
        a.hc.memory.write64(req, (long) own << 12 | MMU_MACHPHYS_UPDATE);
        a.hc.memory.write64(req + 8, 77);
        assertEquals(0, a.call(HC_MMU_UPDATE, req, 1, 0, DOMID_SELF, 0));
        assertEquals(77, a.xen.m2p(own));
        int foreign = b.mfnOfVa(b.scratch(6));
        a.hc.memory.write64(req, (long) foreign << 12 | MMU_MACHPHYS_UPDATE);
        assertEquals(-EPERM, a.call(HC_MMU_UPDATE, req, 1, 0, DOMID_SELF, 0));
    }

    @Test
    void multicallRunsEntriesAndRefusesNesting() {
        int mc = a.scratch(2);
        var m = a.hc.memory;
        m.write32(mc, HC_XEN_VERSION);
        m.write32(mc + 8, XENVER_VERSION);
        m.write32(mc + 32, HC_MULTICALL);
        m.write32(mc + 40, mc);
        m.write32(mc + 44, 1);
        m.write32(mc + 64, 99);
        assertEquals(0, a.call(HC_MULTICALL, mc, 3));
        assertEquals(4 << 16 | 17, m.read32(mc + 4));
        assertEquals(-EINVAL, m.read32(mc + 36), "nested multicall");
        assertEquals(-ENOSYS, m.read32(mc + 68));
        assertEquals(-EFAULT, a.call(HC_MULTICALL, (int) 0xF5800000, 1));
    }

    @Test
    void balloonDownAndUpKeepsPageTablesAndCounts() {
        long before = a.xen.currentPages();
        int res = a.scratch(1);
        int list = a.scratch(2);
        var m = a.hc.memory;
        int victim = a.mfnOfVa(a.scratch(20));
        // unmap it first: mapped frames cannot go
        assertEquals(0, a.call(HC_UPDATE_VA_MAPPING, a.scratch(20), 0, 0, 0, 0));
        m.write32(res, list);
        m.write32(res + 4, 2);
        m.write16(res + 16, DOMID_SELF);
        m.write32(list, victim);
        m.write32(list + 4, (int) (a.boot.cr3() >>> 12)); // the L3: refused
        assertEquals(1, a.call(HC_MEMORY_OP, XENMEM_DECREASE_RESERVATION, res));
        assertEquals(before - 1, a.xen.currentPages());
        assertEquals(-1, f.machine.owner(victim));
        m.write32(res + 4, 1);
        assertEquals(1, a.call(HC_MEMORY_OP, XENMEM_INCREASE_RESERVATION, res));
        assertEquals(1, f.machine.owner(m.read32(list)));
        m.write16(a.scratch(3), DOMID_SELF);
        assertEquals((int) before, a.call(HC_MEMORY_OP, XENMEM_CURRENT_RESERVATION, a.scratch(3)));
        m.write16(a.scratch(3), 2);
        assertEquals(-EPERM, a.call(HC_MEMORY_OP, XENMEM_CURRENT_RESERVATION, a.scratch(3)));
        m.write16(res + 16, 2);
        assertEquals(-EPERM, a.call(HC_MEMORY_OP, XENMEM_INCREASE_RESERVATION, res));
        m.write16(a.scratch(4), DOMID_SELF);
        assertEquals(-EACCES, a.call(HC_MEMORY_OP, XENMEM_ADD_TO_PHYSMAP, a.scratch(4)));
    }

    @Test
    void cpuStateHypercalls() {
        var m = a.hc.memory;
        int traps = a.scratch(2);
        m.write8(traps, 14);
        m.write8(traps + 1, 0);
        m.write16(traps + 2, 0xe018); // RPL 0: becomes 1
        m.write32(traps + 4, 0xc0001234);
        m.write32(traps + 12, 0);
        assertEquals(0, a.call(HC_SET_TRAP_TABLE, traps, 0));
        assertEquals(0xe019, a.xen.vcpus[0].trapCs[14]);
        assertEquals(0xc0001234, a.xen.vcpus[0].trapEip[14]);
        assertEquals(-EFAULT, a.call(HC_SET_TRAP_TABLE, 0x2000, 0));
        assertEquals(0xc0001234, a.xen.vcpus[0].trapEip[14], "unchanged by the faulting call");
        assertEquals(0, a.call(HC_STACK_SWITCH, 0xe021, 0xc0100000));
        assertEquals(0xc0100000, a.xen.vcpus[0].kernelSp);
        assertEquals(-EINVAL, a.call(HC_STACK_SWITCH, 0, 0));
        assertEquals(0, a.call(HC_SET_CALLBACKS, 0xe019, 0xc0002000, 0xe019, 0xc0003000, 0));
        assertEquals(0xc0002000, a.xen.vcpus[0].eventEip);
        int cb = a.scratch(3);
        m.write16(cb, CALLBACKTYPE_FAILSAFE);
        assertEquals(-EINVAL, a.call(HC_CALLBACK_OP, CALLBACKOP_UNREGISTER, cb));
        assertEquals(0, a.call(HC_FPU_TASKSWITCH, 1, 0));
        assertTrue(a.xen.vcpus[0].fpuTaskSwitched);
        // GDT: a writable frame is refused; a ring-0 code descriptor is raised to ring 1
        int gdtVa = a.scratch(9);
        int gdt = a.mfnOfVa(gdtVa);
        m.write64(gdtVa + 8, 0x00cf9a000000ffffL);
        int frames = a.scratch(3);
        m.write32(frames, gdt);
        assertEquals(-EPERM, a.call(HC_SET_GDT, frames, 16));
        assertEquals(0, a.call(HC_UPDATE_VA_MAPPING, gdtVa, gdt << 12 | 0x61, 0, 0, 0));
        assertEquals(0, a.call(HC_SET_GDT, frames, 16));
        assertEquals(0x00cfba000000ffffL, m.read64(gdtVa + 8));
        assertEquals(-EINVAL, a.call(HC_UPDATE_DESCRIPTOR, gdt << 12 | 16, 0, 0x0000ffff, 0x00008900, 0), "TSS descriptor");
        assertEquals(-EINVAL, a.call(HC_SET_GDT, frames, FIRST_RESERVED_GDT_ENTRY + 1));
        assertEquals(-EPERM, a.call(HC_UPDATE_VA_MAPPING, gdtVa, gdt << 12 | 0x63, 0, 0, 0), "GDT frames stay read-only");
    }

    @Test
    void iretRestoresTheFrameAndEventMask() {
        var m = a.hc.memory;
        int sp = a.scratch(2) + 0x800;
        m.write32(sp, 0x11223344);
        m.write32(sp + 4, 0xc0005555);
        m.write32(sp + 8, 0xe019);
        m.write32(sp + 12, 0x246);
        a.regs.gpr[4] = sp;
        int eax = a.call(HC_IRET, 0, 0);
        assertEquals(0x11223344, eax);
        assertEquals(0xc0005555, a.regs.eip);
        assertEquals(sp + 16, a.regs.gpr[4]);
        assertFalse(a.xen.events.upcallMasked(0), "IF set in the frame unmasks events");
    }

    @Test
    void versionVmAssistPhysdevAndUnknown() {
        assertEquals(4 << 16 | 17, a.call(HC_XEN_VERSION, XENVER_VERSION, 0));
        int buf = a.scratch(3);
        assertEquals(0, a.call(HC_XEN_VERSION, XENVER_CAPABILITIES, buf));
        assertEquals("xen-3.0-x86_32p", a.hc.memory.readCString(buf, 1024));
        assertEquals(-EFAULT, a.call(HC_XEN_VERSION, XENVER_CAPABILITIES, (int) 0xF5800000));
        assertEquals(0, a.call(HC_VM_ASSIST, VMASST_CMD_ENABLE, VMASST_TYPE_PAE_EXTENDED_CR3));
        assertEquals(0, a.call(HC_VM_ASSIST, VMASST_CMD_ENABLE, VMASST_TYPE_WRITABLE_PAGETABLES), "PV: stores into L1 tables are emulated");
        assertEquals(0, a.call(HC_VM_ASSIST, VMASST_CMD_DISABLE, VMASST_TYPE_WRITABLE_PAGETABLES));
        assertEquals(-EINVAL, a.call(HC_VM_ASSIST, VMASST_CMD_ENABLE, 40));
        assertEquals(-ENOSYS, a.call(HC_PHYSDEV_OP, 99, 0));
        assertEquals(-EINVAL, a.call(HC_HVM_OP, HVMOP_GET_PARAM, buf), "hvm_op on PV");
        assertEquals(-ENOSYS, a.call(11, 0, 0));
        assertEquals(-ENOSYS, a.call(63, 0, 0));
        assertEquals(-ENOSYS, a.call(1000, 0, 0));
    }
}
