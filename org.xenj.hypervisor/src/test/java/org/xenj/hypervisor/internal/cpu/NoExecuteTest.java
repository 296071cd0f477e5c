package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * No-execute (SDM vol. 3A 4.4 PAE paging, 4.7 page-fault error code): CPUID 8000_0001h EDX bit 20
 * offers NX; with EFER.NXE set, bit 63 of a PAE directory or table entry forbids instruction
 * fetches (#PF with P and I/D) while data reads still work; without NXE the same bit is reserved
 * (#PF with RSVD).
 */
class NoExecuteTest extends CpuTestSupport {

    /** PAE tables identity-mapping the first 2 MiB with 4 KiB pages; page 0x5000 gets bit 63 set. */
    private static final int L3 = 0x20000, L2 = 0x21000, L1 = 0x22000;
    private static final long XD = 1L << 63;

    private void paeIdentityMap() {
        mem.write32(L3, L2 | 1);
        mem.write32(L3 + 4, 0);
        mem.write32(L2, L1 | 3);
        mem.write32(L2 + 4, 0);
        for (int page = 0; page < 512; page++) {
            mem.write32(L1 + 8 * page, (page << 12) | 3);
            mem.write32(L1 + 8 * page + 4, 0);
        }
        long e = 0x5000 | 3 | XD;
        mem.write32(L1 + 8 * 5, (int) e);
        mem.write32(L1 + 8 * 5 + 4, (int) (e >>> 32));
        mem.write(0x5000, new byte[] {(byte) 0xf4}, 0, 1); // hlt, in the XD page
    }

    /** Code at 0x1000 that enables PAE paging ({@code efer} written first), reads the XD page, then jumps into it. */
    private void runIntoXdPage(int efer) {
        paeIdentityMap();
        flat32(0x1000, """
                mov ecx, 0xc0000080
                mov eax, %d
                xor edx, edx
                wrmsr
                mov eax, cr4
                or eax, 0x20
                mov cr4, eax
                mov eax, %d
                mov cr3, eax
                mov eax, cr0
                or eax, 0x80010000
                mov cr0, eax
                mov ebx, [0x5000]
                jmp 0x5000
                """.formatted(efer, L3));
    }

    @Test
    void cpuidOffersNx() {
        flat32(0x1000, "mov eax, 0x80000001\ncpuid\nhlt");
        runToHlt();
        assertTrue((reg(Cpu.EDX) & (1 << 20)) != 0, "CPUID 8000_0001h EDX.NX");
    }

    @Test
    void fetchFromAnXdPageFaultsWithInstructionFetchBitWhileReadsWork() {
        runIntoXdPage(0x800);
        assertEquals(Cpu.PFV, cpu.runTest(1000));
        assertEquals(0x11, cpu.lastErrorCode(), "present | instruction fetch");
        assertEquals(0x5000, cpu.getCr(2));
        assertEquals(0xf4, reg(Cpu.EBX) & 0xff, "the data read of the XD page went through");
    }

    @Test
    void withoutNxeBit63IsReserved() {
        runIntoXdPage(0);
        assertEquals(Cpu.PFV, cpu.runTest(1000));
        assertEquals(0x9, cpu.lastErrorCode(), "present | reserved bit, on the data read");
        assertEquals(0x5000, cpu.getCr(2));
    }

    @Test
    void clearingXdLetsTheFetchThroughAfterInvlpg() {
        runIntoXdPage(0x800);
        assertEquals(Cpu.PFV, cpu.runTest(1000));
        mem.write32(L1 + 8 * 5 + 4, 0); // the guest's handler would clear XD and INVLPG
        cpu.flushTlbAll();
        runToHlt();
        assertEquals(0x5001, cpu.getEip());
    }
}
