package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.cpu.fpu.X87;

/**
 * The system side of MMX/SSE/SSE2 that a user-mode oracle cannot show: SDM vol. 3A §13.1–13.4
 * (CR4.OSFXSR, CR4.OSXMMEXCPT, CR0.EM/TS/MP and the #UD/#NM/#XM they select), vol. 3A §6.15
 * (interrupt 19, #XM), vol. 1 §9.5 (MMX aliases the x87 registers: TOP 0, tags valid, exponent
 * ones; EMMS empties the tags), vol. 2A FXSAVE/FXRSTOR (the XMM area, MXCSR_MASK) and
 * LDMXCSR (#GP on reserved bits), CPUID leaf 1 EDX (MMX 23, FXSR 24, SSE 25, SSE2 26, CLFSH 19),
 * the fences, CLFLUSH, PREFETCHh and PAUSE, and the CPU state record carrying XMM and MXCSR.
 */
class SimdSystemTest extends CpuTestSupport {

    private X87 x87;

    @BeforeEach
    void withX87() {
        x87 = new X87(cpu.fpuMemory());
        cpu.setFpu(x87);
    }

    private void sseOn() {
        cpu.setCr(4, Cpu.CR4_OSFXSR | Cpu.CR4_OSXMMEXCPT);
    }

    @Test
    void cpuidOffersMmxSseSse2WithTheX87Unit() {
        flat32(0x1000, "mov eax, 1\ncpuid\nhlt");
        runToHlt();
        int edx = reg(Cpu.EDX);
        for (int bit : new int[] {19, 23, 24, 25, 26}) {
            assertTrue((edx >>> bit & 1) != 0, "CPUID.1:EDX bit " + bit);
        }
        assertEquals(8, reg(Cpu.EBX) >>> 8 & 0xff, "CLFLUSH line size 64 bytes");
    }

    @Test
    void sseNeedsOsfxsrAndRespectsEmAndTs() {
        String code = "addps xmm0, xmm1\nhlt";
        flat32(0x1000, code);
        assertEquals(Cpu.UD, cpu.runTest(10), "CR4.OSFXSR clear: #UD");
        sseOn();
        cpu.setCr(0, cpu.getCr(0) | Cpu.CR0_TS);
        flat32(0x1000, code);
        assertEquals(Cpu.NM, cpu.runTest(10), "CR0.TS: #NM");
        cpu.setCr(0, cpu.getCr(0) & ~Cpu.CR0_TS | Cpu.CR0_EM);
        flat32(0x1000, code);
        assertEquals(Cpu.UD, cpu.runTest(10), "CR0.EM: #UD");
        cpu.setCr(0, cpu.getCr(0) & ~Cpu.CR0_EM);
        flat32(0x1000, code);
        runToHlt();
    }

    @Test
    void unmaskedExceptionIsXmWithOsxmmexceptElseUdAndLeavesTheDestination() {
        sseOn();
        cpu.setXmm(0, 0, 0x3f800000L); // 1.0f
        cpu.setXmm(1, 0, 0);           // 0.0f
        cpu.setMxcsr(0x1f80 & ~0x200); // ZM clear
        flat32(0x1000, "divss xmm0, xmm1\nhlt");
        assertEquals(Cpu.XM, cpu.runTest(10), "unmasked divide by zero: #XM (vector 19)");
        assertEquals(0x3f800000L, cpu.getXmm(0, 0), "destination unchanged");
        assertEquals(0x1f80 & ~0x200 | 4, cpu.getMxcsr(), "ZE set");
        cpu.setCr(4, Cpu.CR4_OSFXSR);
        cpu.setMxcsr(0x1f80 & ~0x200);
        flat32(0x1000, "divss xmm0, xmm1\nhlt");
        assertEquals(Cpu.UD, cpu.runTest(10), "CR4.OSXMMEXCPT clear: #UD instead of #XM");
        cpu.setMxcsr(0x1f80);
        flat32(0x1000, "divss xmm0, xmm1\nhlt");
        runToHlt();
        assertEquals(0x7f800000L, cpu.getXmm(0, 0), "masked: +infinity");
        assertEquals(0x1f84, cpu.getMxcsr());
    }

    @Test
    void alignedFormsFaultOffSixteenBytes() {
        sseOn();
        flat32(0x1000, "movaps xmm0, [0x3008]\nhlt");
        assertEquals(Cpu.GP, cpu.runTest(10));
        assertEquals(0, cpu.lastErrorCode());
        flat32(0x1000, "movups xmm0, [0x3008]\nmovdqa [0x3010], xmm0\nhlt");
        runToHlt();
    }

    @Test
    void ldmxcsrRefusesReservedBitsAndStmxcsrStores() {
        sseOn();
        cpu.writeLinear32(0x3000, 0x10000 | 0x1f80);
        flat32(0x1000, "ldmxcsr [0x3000]\nhlt");
        assertEquals(Cpu.GP, cpu.runTest(10), "bit 16 reserved: #GP(0)");
        cpu.writeLinear32(0x3000, 0xffff); // DAZ (bit 6) is supported: MXCSR_MASK 0xFFFF
        flat32(0x1000, "ldmxcsr [0x3000]\nstmxcsr [0x3004]\nhlt");
        runToHlt();
        assertEquals(0xffff, cpu.readLinear32(0x3004));
    }

    @Test
    void fxsaveAndFxrstorCarryXmmAndMxcsr() {
        sseOn();
        for (int i = 0; i < 8; i++) {
            cpu.setXmm(i, 0, 0x1111111111111111L * (i + 1));
            cpu.setXmm(i, 1, ~(0x1111111111111111L * (i + 1)));
        }
        cpu.setMxcsr(0x3f80 | 0x40);
        flat32(0x1000, "fxsave [0x3000]\nhlt");
        runToHlt();
        assertEquals(0x3fc0, cpu.readLinear32(0x3000 + 24), "MXCSR");
        assertEquals(0xffff, cpu.readLinear32(0x3000 + 28), "MXCSR_MASK");
        assertEquals(0x33333333, cpu.readLinear32(0x3000 + 160 + 32), "XMM2 low");
        for (int i = 0; i < 8; i++) {
            cpu.setXmm(i, 0, 0);
            cpu.setXmm(i, 1, 0);
        }
        cpu.setMxcsr(0x1f80);
        flat32(0x1000, "fxrstor [0x3000]\nhlt");
        runToHlt();
        assertEquals(0x3fc0, cpu.getMxcsr());
        assertEquals(~0x8888888888888888L, cpu.getXmm(7, 1));
        cpu.writeLinear32(0x3000 + 24, 0x20000 | 0x1f80);
        flat32(0x1000, "fxrstor [0x3000]\nhlt");
        assertEquals(Cpu.GP, cpu.runTest(10), "a reserved MXCSR bit in the image: #GP(0)");
    }

    @Test
    void mmxAliasesTheX87RegistersAndEmmsEmptiesThem() {
        cpu.writeLinear32(0x3000, 0x89abcdef);
        cpu.writeLinear32(0x3004, 0x01234567);
        flat32(0x1000, "fld1\nfld1\nmovq mm3, [0x3000]\nhlt");
        runToHlt();
        assertEquals(0, x87.statusWord() >>> 11 & 7, "TOP 0 after an MMX instruction");
        assertEquals(0, x87.tagWord() & 0xc0 ^ 0x80, "MM3's tag: special (exponent all ones)");
        assertEquals(0x0123456789abcdefL, x87.mmx(3));
        assertEquals(0xffff, x87.st80SignExponent(3), "ST(3) = R3 (TOP 0) has exponent and sign ones");
        flat32(0x1000, "emms\nhlt");
        runToHlt();
        assertEquals(0xffff, x87.tagWord(), "EMMS: all empty");
        cpu.setCr(0, cpu.getCr(0) | Cpu.CR0_EM);
        flat32(0x1000, "paddb mm0, mm1\nhlt");
        assertEquals(Cpu.UD, cpu.runTest(10), "CR0.EM: MMX #UD");
        cpu.setCr(0, cpu.getCr(0) & ~Cpu.CR0_EM | Cpu.CR0_TS);
        flat32(0x1000, "paddb mm0, mm1\nhlt");
        assertEquals(Cpu.NM, cpu.runTest(10), "CR0.TS: MMX #NM");
    }

    @Test
    void pendingX87ExceptionIsMfBeforeAnMmxInstruction() {
        cpu.setCr(0, cpu.getCr(0) | Cpu.CR0_NE);
        flat32(0x1000, "fninit\nfldz\nfldz\nmov word [0x3000], 0x37e\nfldcw [0x3000]\nfdivp st1, st0\npaddb mm0, mm1\nhlt");
        assertEquals(Cpu.MF, cpu.runTest(20), "unmasked invalid operation pending: #MF at the MMX instruction");
    }

    @Test
    void fencesClflushPrefetchAndPauseDoNothingVisible() {
        sseOn();
        flat32(0x1000, "lfence\nmfence\nsfence\nclflush [0x3000]\nprefetchnta [0x3000]\nprefetcht0 [0x3000]\npause\n"
                + "mov eax, 7\nhlt");
        runToHlt();
        assertEquals(7, reg(Cpu.EAX));
    }

    @Test
    void theStateRecordCarriesXmmAndMxcsr() throws IOException {
        sseOn();
        cpu.setXmm(5, 1, 0x0123456789abcdefL);
        cpu.setMxcsr(0x7fc0);
        CpuState s = cpu.saveState();
        CpuState back = CpuState.fromBytes(s.toBytes());
        assertEquals(s, back);
        Cpu other = new Cpu(mem, env);
        other.setFpu(new X87(other.fpuMemory()));
        other.restoreState(back);
        assertEquals(0x0123456789abcdefL, other.getXmm(5, 1));
        assertEquals(0x7fc0, other.getMxcsr());
        byte[] v2 = s.toBytes();
        v2[7] = 2; // version 2 (before XMM): the 128 XMM bytes are not there
        byte[] shorter = java.util.Arrays.copyOf(v2, v2.length - 128);
        CpuState old = CpuState.fromBytes(shorter);
        assertEquals(0, old.xmm()[11], "a version-2 record reads with XMM zero");
        assertThrows(IOException.class, () -> CpuState.fromBytes(v2), "trailing bytes are refused");
    }
}
