package org.xenj.hypervisor.internal.pv;

import org.xenj.hypervisor.internal.mem.PvPageTables;

import static org.junit.jupiter.api.Assertions.*;
import static org.xenj.hypervisor.internal.xenabi.GuestLayouts.*;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.internal.hypercall.GuestFault;
import org.xenj.hypervisor.internal.mem.MachineFrames;
import org.xenj.hypervisor.internal.xenabi.XenAbi;

class PvStartOfDayTest {

    private final PvFixture f = new PvFixture();

    @Test
    void startInfoAndRegistersFollowTheX86_32Abi() {
        PvFixture.Dom d = f.pv(1);
        var m = d.hc.memory;
        byte[] magic = new byte[15];
        m.read(d.boot.startInfoVa(), magic, 0, 15);
        assertEquals("xen-3.0-x86_32p", new String(magic));
        assertEquals(PvFixture.PAGES, m.read32(d.boot.startInfoVa() + SI_NR_PAGES));
        assertEquals(d.xen.sharedInfoMfn << 12, m.read32(d.boot.startInfoVa() + SI_SHARED_INFO));
        assertEquals(d.xen.consolePort, m.read32(d.boot.startInfoVa() + SI_CONSOLE_EVTCHN));
        assertEquals(d.xen.storeMfn, m.read32(d.boot.startInfoVa() + SI_STORE_MFN));
        assertEquals(d.boot.ptBaseVa(), m.read32(d.boot.startInfoVa() + SI_PT_BASE));
        assertEquals("console=hvc0", m.readCString(d.boot.startInfoVa() + SI_CMD_LINE, 1024));
        assertEquals(0xe019, d.boot.cs());
        assertEquals(0xe021, d.boot.ds());
        assertEquals(d.boot.startInfoVa(), d.boot.esi());
        assertEquals((int) PvFixture.VIRT_BASE, d.boot.eip());
        assertTrue(d.xen.events.upcallMasked(0), "event upcalls start masked");
    }

    @Test
    void p2mAndM2pAgree_andM2pIsReadOnlyAtItsStandardAddress() {
        PvFixture.Dom d = f.pv(1);
        for (int pfn : new int[] {0, 1, 100, PvFixture.PAGES - 1}) {
            int mfn = d.mfnOfPfn(pfn);
            assertEquals(1, f.machine.owner(mfn));
            assertEquals(pfn, d.hc.memory.read32(XenAbi.MACH2PHYS_VIRT_START + 4 * mfn), "M2P entry of mfn " + mfn);
        }
        assertThrows(GuestFault.class, () -> d.hc.memory.write32(XenAbi.MACH2PHYS_VIRT_START, 5));
    }

    @Test
    void oneM2pServesAllPvDomainsAndForgetsADomainsFrames() {
        PvFixture.Dom a = f.pv(1);
        PvFixture.Dom b = f.pv(2);
        int mfnA = a.mfnOfPfn(5);
        assertEquals(5, b.hc.memory.read32(XenAbi.MACH2PHYS_VIRT_START + 4 * mfnA), "Xen's M2P is global");
        assertTrue(a.xen.memory.populatedFrames() < PvFixture.PAGES + 16, "the M2P is not charged to the domain");
        f.host.destroyDomain(1);
        assertEquals(-1, b.hc.memory.read32(XenAbi.MACH2PHYS_VIRT_START + 4 * mfnA), "a dead domain's entries are cleared");
    }

    @Test
    void initialPageTablesAreValidatedPinnedAndMappedReadOnly() {
        PvFixture.Dom d = f.pv(1);
        int l3 = (int) (d.boot.cr3() >>> 12);
        assertEquals(PvPageTables.L3, d.xen.pageTables.typeOf(l3));
        assertTrue(d.xen.pageTables.isPinned(l3));
        assertThrows(GuestFault.class, () -> d.hc.memory.write32(d.boot.ptBaseVa(), 0), "page tables are read-only");
        assertEquals(0, d.hc.memory.read32(d.boot.ptBaseVa()) & ~0xfffff001, "L3 entries carry only P and the address");
    }

    @Test
    void hypercallPageHoldsIntOx82Stubs() {
        PvFixture.Dom d = f.pv(1);
        int page = (int) PvFixture.VIRT_BASE + 4096;
        int stub = page + 32 * XenAbi.HC_SCHED_OP;
        assertEquals(0xb8, d.hc.memory.read8(stub));
        assertEquals(XenAbi.HC_SCHED_OP, d.hc.memory.read32(stub + 1));
        assertEquals(0x82cd, d.hc.memory.read16(stub + 5));
        assertEquals(0xc3, d.hc.memory.read8(stub + 7));
        assertEquals(0x50, d.hc.memory.read8(page + 32 * XenAbi.HC_IRET), "iret stub pushes EAX");
    }

    @Test
    void nonPaeKernelIsRefusedWithAClearMessage() {
        byte[] img = TestElf.image(PvFixture.VIRT_BASE, new byte[4096], 4096,
                TestElf.note(ElfKernel.NOTE_PAE_MODE, TestElf.str("no")));
        var ctx = new TestContext(f.machine, 5, org.xenj.hypervisor.api.DomainType.PV);
        var x = f.host.createDomain(ctx, true, 1, 2048);
        HypervisorException e = assertThrows(HypervisorException.class,
                () -> PvStartOfDay.build(x, new ElfKernel(img), ctx.memory.populateIdentity(1024), ""));
        assertTrue(e.getMessage().contains("PAE"), e.getMessage());
    }

    @Test
    void tooLittleMemoryIsAClearErrorAndLeavesNoTypedTables() {
        var ctx = new TestContext(f.machine, 6, org.xenj.hypervisor.api.DomainType.PV);
        int[] p2m = ctx.memory.populateIdentity(64);
        var x = f.host.createDomain(ctx, true, 1, 64);
        byte[] img = TestElf.kernel(PvFixture.VIRT_BASE, new byte[3 * 4096], 3 * 4096, PvFixture.VIRT_BASE + 4096);
        HypervisorException e = assertThrows(HypervisorException.class, () -> PvStartOfDay.build(x, new ElfKernel(img), p2m, ""));
        assertTrue(e.getMessage().contains("too small"), e.getMessage());
        assertEquals(0, x.vcpus[0].cr3);
    }

    @Test
    void sharedInfoTimeIsPublishedWithEvenVersion() {
        PvFixture.Dom d = f.pv(1);
        long vt = ((long) d.xen.sharedInfoMfn << 12) + VI_TIME;
        int version = MachineFrames.read32(f.machine, vt + VT_VERSION);
        assertEquals(0, version & 1);
        assertTrue(version > 0);
        assertEquals(0x80000000, MachineFrames.read32(f.machine, vt + VT_TSC_TO_SYSTEM_MUL));
    }
}
