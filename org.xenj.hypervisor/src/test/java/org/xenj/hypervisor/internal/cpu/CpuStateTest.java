package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.cpu.fpu.X87;
import org.xenj.hypervisor.internal.mem.DomainMemory;
import org.xenj.hypervisor.internal.mem.MachineMemory;

/**
 * The CPU state record is complete: a vCPU stopped after any number of instructions, its state
 * saved, written to bytes, read back and restored into a fresh vCPU over a copy of guest memory,
 * finishes exactly as the vCPU that was never stopped (registers, flags, segments, control and
 * MSR state, x87, memory). A damaged or foreign record is refused.
 */
class CpuStateTest extends CpuTestSupport {

    /** Paging (PAE), a 16-bit data segment, SYSENTER MSRs, TSC_AUX, x87 and a loop: most of the state moves. */
    private static final String PROGRAM = """
            bits 32
            org 0x1000
                mov ax, 0x18
                mov ss, ax                 ; stopping right after it catches the interrupt shadow
                mov ax, 0x20
                mov es, ax                 ; a small 16-bit data segment: its cache must travel
                mov ecx, 0x174
                mov eax, 0x10
                xor edx, edx
                wrmsr                      ; SYSENTER_CS
                mov ecx, 0xc0000103
                mov eax, 0x55
                wrmsr                      ; TSC_AUX
                ; PAE paging: PDPT at 0x8000, one PD at 0x9000 with 2 MiB identity pages
                mov dword [0x8000], 0x9001
                mov dword [0x9000], 0x000083
                mov dword [0x9008], 0x200083
                mov eax, cr4
                or eax, 0x30               ; PAE, PSE
                mov cr4, eax
                mov eax, 0x8000
                mov cr3, eax
                mov eax, cr0
                or eax, 0x80000000
                mov cr0, eax
                finit
                fld1
                fldpi
                mov esi, 0
                mov ecx, 300
            again:
                fadd st0, st1
                fst dword [es:0x10]
                add esi, [es:0x10]
                rol esi, 3
                xor esi, ecx
                mov [0x3000 + ecx*4], esi
                loop again
                fnstenv [0x5000]
                rdtscp
                hlt
            """;

    private DomainMemory copyOfMemory(MachineMemory machine) {
        DomainMemory m = new DomainMemory(machine, 1);
        m.populate(0, 16 * 256);
        byte[] page = new byte[4096];
        for (long a = 0; a < 16L * MB; a += 4096) {
            mem.read(a, page, 0, 4096);
            m.write(a, page, 0, 4096);
        }
        return m;
    }

    private void setUp() {
        desc(2, 0, 0xfffff, 0x9a, 0xc); // 0x10 code
        desc(3, 0, 0xfffff, 0x92, 0xc); // 0x18 data
        desc(4, 0x40000, 0xffff, 0x92, 0x0); // 0x20 16-bit data, base 0x40000, limit 64 KiB
        cpu.setGdtr(GDT, 0x3f);
        cpu.setFpu(new X87(cpu.fpuMemory()));
        load(0x1000, asm(PROGRAM));
        cpu.enterFlatProtectedMode32(0);
        cpu.setEip(0x1000);
        cpu.setReg32(Cpu.ESP, 0x80000);
    }

    @Test
    void aVcpuRestoredMidRunFinishesLikeOneNeverStopped() throws IOException {
        for (int stopAfter : new int[] {1, 2, 9, 23, 24, 25, 400, 1500}) {
            setUp();
            assertEquals(-2, cpu.runTest(stopAfter), "still running after " + stopAfter);
            CpuState saved = CpuState.fromBytes(cpu.saveState().toBytes());

            MachineMemory machine2 = new MachineMemory(64L * MB);
            DomainMemory mem2 = copyOfMemory(machine2);
            Cpu other = new Cpu(mem2, new TestEnv());
            other.setFpu(new X87(other.fpuMemory()));
            other.restoreState(saved);
            assertEquals(saved, other.saveState(), "restore is the inverse of save");

            assertEquals(-1, cpu.runTest(100_000), "the original reaches HLT");
            assertEquals(-1, other.runTest(100_000), "the restored copy reaches HLT (stopped after " + stopAfter + ")");
            CpuState a = cpu.saveState(), b = other.saveState();
            assertArrayEquals(withoutTsc(a), withoutTsc(b), "same final state when stopped after " + stopAfter);
            byte[] pa = new byte[0x6000], pb = new byte[0x6000];
            mem.read(0, pa, 0, pa.length);
            mem2.read(0, pb, 0, pb.length);
            assertArrayEquals(pa, pb, "same memory when stopped after " + stopAfter);
            assertEquals(0x55, b.gpr()[Cpu.ECX], "TSC_AUX travelled");
            assertTrue((b.cr0() & 0x80000000) != 0 && (b.cr4() & 0x20) != 0, "paging travelled");
            assertEquals(0x40000, b.segBase()[Cpu.ES], "the 16-bit segment's cache travelled");
        }
    }

    /** RDTSCP's EDX:EAX read the host-time TSC at different instants; everything else must match. */
    private static byte[] withoutTsc(CpuState s) {
        int[] gpr = s.gpr();
        gpr[Cpu.EAX] = 0;
        gpr[Cpu.EDX] = 0;
        return new CpuState(gpr, s.eip(), s.eflags(), s.segSel(), s.segBase(), s.segLimit(), s.segAttr(), s.cpl(), s.cr0(),
                s.cr2(), s.cr3(), s.cr4(), s.dr(), s.gdtrBase(), s.gdtrLimit(), s.idtrBase(), s.idtrLimit(), s.ldtrSel(),
                s.ldtrBase(), s.ldtrLimit(), s.trSel(), s.trBase(), s.trLimit(), s.trAttr(), s.sysenterCs(), s.sysenterEsp(),
                s.sysenterEip(), s.pat(), s.mtrrDefType(), s.mtrrFixed(), s.mtrrVar(), s.miscEnable(), s.tscOffset(), s.tscAux(), s.efer(),
                s.halted(), s.interruptShadow(), s.tripleFault(), s.nmiBlocked(), s.fpu(), s.xmm()).toBytes();
    }

    /** NMI blocking (an NMI handler runs, no IRET yet) survives a save; a version 3 record reads as not blocked. */
    @Test
    void nmiBlockingRoundTripsAndVersionThreeReadsUnblocked() throws IOException {
        setUp();
        cpu.nmiBlocked = true;
        CpuState s = CpuState.fromBytes(cpu.saveState().toBytes());
        assertTrue(s.nmiBlocked());
        Cpu other = new Cpu(mem, new TestEnv());
        other.setFpu(new org.xenj.hypervisor.internal.cpu.fpu.X87(other.fpuMemory()));
        other.restoreState(s);
        assertTrue(other.nmiBlocked());
        cpu.nmiBlocked = false;
        byte[] v3 = cpu.saveState().toBytes();
        v3[7] = 3;
        assertEquals(false, CpuState.fromBytes(v3).nmiBlocked());
        byte[] v3Blocked = s.toBytes();
        v3Blocked[7] = 3; // bit 4 of the flags byte did not exist in version 3
        assertThrows(IOException.class, () -> CpuState.fromBytes(v3Blocked));
    }

    @Test
    void damagedOrForeignRecordsAreRefused() {
        setUp();
        byte[] good = cpu.saveState().toBytes();
        byte[] magic = good.clone();
        magic[0] ^= 1;
        assertEquals("not a CPU state record", assertThrows(IOException.class, () -> CpuState.fromBytes(magic)).getMessage());
        byte[] version = good.clone();
        version[7] = 9;
        assertTrue(assertThrows(IOException.class, () -> CpuState.fromBytes(version)).getMessage()
                .contains("version 9 is not supported"));
        byte[] cut = java.util.Arrays.copyOf(good, good.length - 3);
        assertThrows(IOException.class, () -> CpuState.fromBytes(cut));
        byte[] longer = java.util.Arrays.copyOf(good, good.length + 1);
        assertThrows(IOException.class, () -> CpuState.fromBytes(longer));
        Cpu noFpu = new Cpu(mem, new TestEnv());
        assertThrows(IllegalArgumentException.class, () -> noFpu.restoreState(cpu.saveState()), "x87 presence must match");
        assertNotEquals(cpu.saveState(), noFpu.saveState());
    }
}
