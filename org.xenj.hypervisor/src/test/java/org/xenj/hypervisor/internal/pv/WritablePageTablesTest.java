package org.xenj.hypervisor.internal.pv;

import static org.junit.jupiter.api.Assertions.*;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.*;

import java.io.ByteArrayOutputStream;
import java.util.HexFormat;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.internal.exec.VCpuExecutor.RunExit;
import org.xenj.hypervisor.internal.hypercall.PvVirtualMemory;
import org.xenj.hypervisor.internal.mem.MachineFrames;
import org.xenj.hypervisor.internal.mem.PvPageTables;

/**
 * Writable page tables (VMASST_TYPE_writable_pagetables) on the real IA-32 CPU: ring-1 code
 * stores straight into its own L1 table (mapped read-only, as every page-table page), the store
 * is trapped, validated like mmu_update and emulated, and the code then uses the new mapping.
 * Stores Xen would not emulate get the original #PF. Also the feature negotiation of the notes.
 */
class WritablePageTablesTest {

    static final int BASE = (int) PvFixture.VIRT_BASE;
    static final int EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;

    /*
     * nasm, BITS 32, ORG 0xC0000000; STOP = mov eax, 29 / mov ebx, 0 / int 0x82 (sched_op yield) / jmp $
     * 0x000: mov [edi+4], edx; mov [edi], eax; mov dword [esi], 0xCAFEBABE; mov ecx, [esi]; STOP
     * 0x040: mov eax, [edi]; mov edx, [edi+4]; lock cmpxchg8b [edi]; STOP
     * 0x080: mov [edi], eax; STOP
     * 0x0c0: cld; rep stosd; STOP
     * 0x100: mov [edi], ax; mov [edi+2], dl; STOP
     * 0x140: fild dword [esi]; fistp qword [edi]; STOP
     * 0x300 (#PF handler): mov ebp, 0x99; mov esi, [esp] (the error code); STOP
     */
    private static final String[][] CODE = {
        {"000", "8957048907c706bebafeca8b0eb81d000000bb00000000cd82ebfe"},
        {"040", "8b078b5704f00fc70fb81d000000bb00000000cd82ebfe"},
        {"080", "8907b81d000000bb00000000cd82ebfe"},
        {"0c0", "fcf3abb81d000000bb00000000cd82ebfe"},
        {"100", "668907885702b81d000000bb00000000cd82ebfe"},
        {"140", "db06df3fb81d000000bb00000000cd82ebfe"},
        {"300", "bd990000008b3424b81d000000bb00000000cd82ebfe"},
    };

    static byte[] kernel(String[][] pieces) {
        byte[] c = new byte[3 * 4096];
        for (String[] p : pieces) {
            byte[] b = HexFormat.of().parseHex(p[1]);
            System.arraycopy(b, 0, c, Integer.parseInt(p[0], 16), b.length);
        }
        return c;
    }

    private final PvFixture f = new PvFixture();
    private PvFixture.Dom a;
    private PvFixture.Dom b;
    private PvVcpu v;

    @BeforeEach
    void setUp() {
        a = f.pv(1, kernel(CODE));
        b = f.pv(2);
        v = new PvVcpu(a.xen, 0, a.boot);
        a.xen.vcpus[0].trapCs[14] = FLAT_RING1_CS;
        a.xen.vcpus[0].trapEip[14] = BASE + 0x300;
        assertEquals(0, a.call(HC_VM_ASSIST, VMASST_CMD_ENABLE, VMASST_TYPE_WRITABLE_PAGETABLES));
    }

    /** Virtual address of the L1 entry mapping {@code va}: the builder's tables are L3, L2, then the L1s, at pt_base. */
    static int l1eVa(PvFixture.Dom d, int va) {
        return d.boot.ptBaseVa() + (2 + (va >>> 21) - (BASE >>> 21)) * 4096 + ((va >>> 12) & 511) * 8;
    }

    private long entry(int va) {
        return MachineFrames.read64(f.machine, ((PvVirtualMemory) a.hc.memory).l1EntryAddress(va));
    }

    /** Runs the snippet at {@code off} with the given registers until it yields. */
    private void run(int off, int eax, int ecx, int edx, int ebx, int esi, int edi) {
        var cpu = v.cpu();
        int[] r = {eax, ecx, edx, ebx, cpu.getReg32(ESP), 0, esi, edi};
        for (int i = 0; i < 8; i++) {
            cpu.setReg32(i, r[i]);
        }
        cpu.setEip(BASE + off);
        assertEquals(RunExit.PREEMPTED, v.scheduled().run(System.nanoTime() + 5_000_000_000L), cpu.stateString() + a.ctx.log);
    }

    private boolean faulted() {
        return v.cpu().getReg32(EBP) == 0x99;
    }

    private int cr2InVcpuInfo() {
        return MachineFrames.read32(f.machine, ((long) a.xen.sharedInfoMfn << 12) + 8);
    }

    @Test
    void theLayoutHelperNamesTheL1Entry() {
        int t = a.scratch(60);
        long ma = ((PvVirtualMemory) a.hc.memory).l1EntryAddress(t);
        int va = l1eVa(a, t);
        assertEquals(ma >>> 12, a.mfnOfVa(va));
        assertEquals(ma & 0xfff, va & 0xfff);
        assertEquals(PvPageTables.L1, a.xen.pageTables.typeOf((int) (ma >>> 12)));
    }

    @Test
    void storesIntoAnL1AreEmulatedAndTheNewMappingIsUsed() {
        int t = a.scratch(60);
        int frame = a.mfnOfVa(a.scratch(61));
        assertEquals(0, a.call(HC_UPDATE_VA_MAPPING, t, 0, 0, 0, 0));
        // the two halves of a PAE entry, high first as Linux writes them, then a store and a load through it
        run(0x000, frame << 12 | 0x63, 0, 0, 0, t, l1eVa(a, t));
        assertFalse(faulted(), v.cpu().stateString());
        assertEquals(0xCAFEBABE, v.cpu().getReg32(ECX), "the new mapping reads back what was stored");
        assertEquals(0xCAFEBABE, MachineFrames.read32(f.machine, (long) frame << 12), "and it is the frame the entry names");
        assertEquals((long) frame << 12 | 0x63, entry(t));
        assertEquals(2, v.pageTableWriteCounts()[0]);

        // cmpxchg8b: one 8-byte compare-exchange, ZF set
        int other = a.mfnOfVa(a.scratch(62));
        run(0x040, 0, 0, 0, other << 12 | 0x61, 0, l1eVa(a, t));
        assertFalse(faulted());
        assertEquals((long) other << 12 | 0x61, entry(t));
        assertEquals(0x40, v.cpu().getEflags() & 0x40, "ZF: exchanged");

        // 2- and 1-byte stores as Xen takes them: merged into the full entry, then validated
        long e = (long) other << 12 | 0x63; // the same frame, now writable
        run(0x100, (int) e & 0xffff, 0, (int) (e >>> 16) & 0xff, 0, 0, l1eVa(a, t));
        assertFalse(faulted());
        assertEquals(e, entry(t));

        // rep stosd over four entries: cleared, and the TLB forgets the mapping (a load now faults)
        run(0x0c0, 0, 8, 0, 0, 0, l1eVa(a, t));
        assertFalse(faulted());
        assertEquals(0, entry(t));
        assertEquals(0, entry(t + 4096));
        run(0x000, 0, 0, 0, 0, t, l1eVa(a, a.scratch(63)) + 4096 * 0); // stores P=0 entries, then touches t
        assertTrue(faulted(), "t is unmapped now");
        assertEquals(t, cr2InVcpuInfo());
    }

    @Test
    void whatMmuUpdateRefusesGetsTheOriginalPageFault() {
        int t = a.scratch(60);
        int l1e = l1eVa(a, t);
        long before = entry(t);
        int l1 = a.mfnOfVa(l1e);
        int l2 = (int) (MachineFrames.read64(f.machine, a.boot.cr3() + 24) >>> 12);
        int foreign = b.mfnOfVa(b.scratch(5));
        int[][] cases = {
            {foreign << 12 | 0x63, l1e}, // a frame of another domain
            {foreign << 12 | 0x61, l1e}, // read-only too
            {l1 << 12 | 0x63, l1e}, // a writable mapping of the L1 itself
            {l2 << 12 | 0x63, l1e}, // of the L2
            {(f.machine.totalFrames() - 1) << 12 | 0x61, l1e}, // a free frame
            {a.mfnOfVa(a.scratch(61)) << 12 | 0x63, l1e + 2}, // misaligned 4-byte store
        };
        for (int[] c : cases) {
            run(0x080, c[0], 0, 0, 0, 0, c[1]);
            assertTrue(faulted(), Integer.toHexString(c[0]));
            assertEquals(3, v.cpu().getReg32(ESI), "error code: present, write, supervisor");
            assertEquals(c[1], cr2InVcpuInfo());
            assertEquals(before, entry(t));
        }
        // an L2 page is never written through this path, even with a valid entry (Xen: L1 only)
        int l2Va = a.boot.ptBaseVa() + 4096;
        long l2e = MachineFrames.read64(f.machine, ((long) l2 << 12) + 8 * 10);
        run(0x080, (int) l2e, 0, 0, 0, 0, l2Va + 8 * 10);
        assertTrue(faulted());
        // x87 stores are not emulated
        int val = a.scratch(64);
        a.hc.memory.write32(val, 0);
        run(0x140, 0, 0, 0, 0, val, l1e);
        assertTrue(faulted());
        assertEquals(before, entry(t));
        // and without the assist nothing is emulated
        assertEquals(0, a.call(HC_VM_ASSIST, VMASST_CMD_DISABLE, VMASST_TYPE_WRITABLE_PAGETABLES));
        run(0x080, (int) before, 0, 0, 0, 0, l1e);
        assertTrue(faulted());
        assertEquals(0, v.pageTableWriteCounts()[0]);
    }

    @Test
    void anUpperHalfStoreThatMakesAnInvalidEntryClearsPresentAsXenDoes() {
        int t = a.scratch(60);
        int l1e = l1eVa(a, t);
        long before = entry(t);
        assertEquals(1, before & 1);
        run(0x080, 1, 0, 0, 0, 0, l1e + 4); // address bit 32: a frame nobody owns
        assertFalse(faulted());
        assertEquals((before & ~1L) | 1L << 32, entry(t), "P cleared, the half stored");
        run(0x080, (int) before, 0, 0, 0, 0, l1e); // a lower half making it present again with that high half: refused
        assertTrue(faulted());
        run(0x080, 0, 0, 0, 0, 0, l1e + 4);
        run(0x080, (int) before, 0, 0, 0, 0, l1e);
        assertEquals(before, entry(t));
    }

    // ------------------------------------------------------------------ negotiation of the notes

    private static ElfKernel withFeatures(String features, Integer supportedBitmap) {
        ByteArrayOutputStream notes = new ByteArrayOutputStream();
        notes.writeBytes(TestElf.note(ElfKernel.NOTE_PAE_MODE, TestElf.str("yes")));
        if (features != null) {
            notes.writeBytes(TestElf.note(ElfKernel.NOTE_FEATURES, TestElf.str(features)));
        }
        if (supportedBitmap != null) {
            notes.writeBytes(TestElf.note(ElfKernel.NOTE_SUPPORTED_FEATURES, TestElf.u32(supportedBitmap)));
        }
        return new ElfKernel(TestElf.image(PvFixture.VIRT_BASE, new byte[16], 4096, notes.toByteArray()));
    }

    @Test
    void featuresAreNegotiatedAsXenDoes() {
        var linux = PvKernelFeatures.negotiate(withFeatures("!writable_page_tables|pae_pgdir_above_4gb", null), f.machine);
        assertEquals(1 << XENFEAT_WRITABLE_PAGE_TABLES, linux.required());
        assertEquals(1 << XENFEAT_WRITABLE_PAGE_TABLES | 1 << XENFEAT_PAE_PGDIR_ABOVE_4GB, linux.supported());
        var bitmap = PvKernelFeatures.negotiate(withFeatures("writable_descriptor_tables|no_such_thing", 1 << XENFEAT_DOM0), f.machine);
        assertEquals(0, bitmap.required(), "unknown optional names are ignored");
        assertEquals(1 << XENFEAT_DOM0 | 1 << XENFEAT_WRITABLE_DESCRIPTOR_TABLES, bitmap.supported());
        String[][] refused = {
            {"!no_such_thing", "unknown Xen feature 'no_such_thing'"},
            {"!dom0", "'dom0'"},
            {"writable_page_tables|!auto_translated_physmap", "'auto_translated_physmap'"},
            {"!writable_descriptor_tables", "'writable_descriptor_tables'"},
            {"!supervisor_mode_kernel", "ring 1"},
            {"!hvm_callback_vector", "HVM"},
        };
        for (String[] r : refused) {
            var e = assertThrows(HypervisorException.class, () -> PvKernelFeatures.negotiate(withFeatures(r[0], null), f.machine), r[0]);
            assertTrue(e.getMessage().contains(r[1]), e.getMessage());
        }
        var big = new org.xenj.hypervisor.internal.mem.MachineMemory(8L << 30);
        assertThrows(HypervisorException.class, () -> PvKernelFeatures.negotiate(withFeatures("!pae_pgdir_above_4gb", null), big));
    }

    @Test
    void getFeaturesReportsWhatAPvDomainGets() {
        int buf = a.scratch(3);
        a.hc.memory.write32(buf, 0);
        assertEquals(0, a.call(HC_XEN_VERSION, XENVER_GET_FEATURES, buf));
        int submap = a.hc.memory.read32(buf + 4);
        // PAE_MODE "yes": the builder turned pae_extended_cr3 on, as Xen's toolstack; all frames are below 4 GiB
        assertEquals(1 << XENFEAT_PAE_PGDIR_ABOVE_4GB, submap,
                "not writable_page_tables: to a PV guest it means 'need not write-protect page tables' (Xen: translated guests only)");
        a.hc.memory.write32(buf, 1);
        assertEquals(-EINVAL, a.call(HC_XEN_VERSION, XENVER_GET_FEATURES, buf));
    }
}
