package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.cpu.fpu.X87;

/**
 * What the translator covers beyond 32-bit operands, and what happens around what it does not:
 * 16-bit operand forms (0x66 in 32-bit code) compiled with the interpreter's results, a hot block
 * whose first instruction cannot be compiled cut to that instruction so the rest compiles, and a
 * scheduler slice that lets a block begun inside it finish.
 */
class JitCoverageTest {

    /** 16-bit moves, ALU forms, INC/DEC, shifts, TEST/NOT/NEG on registers and memory, in a loop. */
    private static final String WORD_LOOP = """
                mov esi, 0x10000
                xor ebx, ebx
                mov edx, 0x12348000
                mov ecx, 2000
            top:
                mov ax, [esi + ecx*2]
                add ax, cx
                adc dx, 0x7fff
                sub word [esi + ecx*2], 0x1234
                xor ax, 0x5a5a
                mov [esi + ecx*2 + 2], ax
                shl ax, 3
                shr word [esi + ecx*2], 1
                sar dx, cl
                inc bx
                dec dx
                test ax, 0x8000
                jz skip
                not word [esi + ecx*2 + 2]
                neg bx
            skip:
                cmp ax, dx
                sbb bx, ax
                or ax, 0x0101
                and dx, ax
                mov word [esi + ecx*2 + 4], 0xbeef
                inc word [esi + ecx*2 + 4]
                add ebx, eax
                dec ecx
                jnz top
                hlt
            """;

    /** Hot blocks that start with an instruction compiled code cannot run at all (XLAT). */
    private static final String SPLIT_LOOP = """
                xor eax, eax
                xor edx, edx
                mov ebx, 0x10000
                mov ecx, 3000
            top:
                xlatb
                adc eax, ecx
                add edx, eax
                rol edx, 1
                xor edx, ecx
                dec ecx
                jnz top
                hlt
            """;

    private static int[] run(Map<String, String> props, String code, CpuJit[] jitOut) {
        CpuTestSupport t = CpuTestSupport.withProperties(props);
        t.flat32(0x1000, code);
        t.runDeliveringToHlt();
        if (jitOut != null) {
            jitOut[0] = t.cpu.jit;
        }
        return new int[] {t.reg(Cpu.EAX), t.reg(Cpu.EBX), t.reg(Cpu.ECX), t.reg(Cpu.EDX), t.cpu.getEflags(),
            t.cpu.readLinear32(0x10000 + 700 * 2), t.cpu.readLinear32(0x10000 + 1999 * 2), t.cpu.readLinear32(0x10000 + 4)};
    }

    private static final Map<String, String> INTERPRETED = Map.of("xenj.jit", "false");
    private static final Map<String, String> COMPILED = Map.of("xenj.jit", "true", "xenj.jit.threshold", "2", "xenj.jit.sync", "true");
    private static final Map<String, String> LOCKSTEP = Map.of("xenj.jit.lockstep", "true", "xenj.jit.threshold", "0");

    @Test
    void wordOperandsCompileWithTheInterpretersResults() {
        int[] expected = run(INTERPRETED, WORD_LOOP, null);
        CpuJit[] jit = new CpuJit[1];
        int[] got = run(COMPILED, WORD_LOOP, jit);
        assertEquals(Arrays.toString(expected), Arrays.toString(got));
        // the whole loop body is compiled: no hot block was cut, nothing refused
        assertEquals(0, jit[0].splits, jit[0].statistics());
        assertTrue(jit[0].entered + jit[0].loopIterations() > 1900, jit[0].statistics()); // entries and passes inside self-loops
    }

    @Test
    void wordOperandsAgreeInLockstep() {
        CpuJit[] jit = new CpuJit[1];
        run(LOCKSTEP, WORD_LOOP, jit);
        assertTrue(jit[0].checked + jit[0].loopIterations() > 1900, jit[0].statistics());
        assertEquals(0, jit[0].mismatches, () -> jit[0].mismatchLog().toString());
    }

    @Test
    void aBlockStartingWithAnUncompilableInstructionIsCutAndTheRestCompiled() {
        int[] expected = run(INTERPRETED, SPLIT_LOOP, null);
        CpuJit[] jit = new CpuJit[1];
        int[] got = run(COMPILED, SPLIT_LOOP, jit);
        assertEquals(Arrays.toString(expected), Arrays.toString(got));
        assertEquals(1, jit[0].splits, jit[0].statistics());
        // the ADC..JNZ rest of the loop runs compiled on nearly every iteration
        assertTrue(jit[0].entered > 2900, jit[0].statistics());
    }

    /**
     * A loop through the instructions compiled code hands to the interpreter in place (x87, REP
     * MOVSD/STOSB, REPE CMPSB, BT/BTS, SHLD, BSF, MUL/DIV, CMPXCHG, XADD, XCHG with memory, CLD/STC)
     * between translated ones: the interpreter's results, and the loop never leaves compiled code
     * for them (since ArithEmitter the bit, multiply/divide, CMPXCHG/XADD and flag instructions
     * among them are translated, no longer run in place).
     */
    private static final String INLINE_LOOP = """
                cld
                finit
                mov dword [0x20000], 3
                fild dword [0x20000]
                mov ebp, 400
            top:
                mov esi, 0x10000
                mov edi, 0x11000
                mov ecx, 16
                rep movsd
                mov esi, 0x10000
                mov edi, 0x11000
                mov ecx, 64
                repe cmpsb
                mov [0x20004], ebp
                fild dword [0x20004]
                fmul st0, st1
                fsqrt
                fistp dword [0x20008]
                mov eax, [0x20008]
                bt eax, 3
                adc ebx, eax
                bts ebx, 7
                shld edx, ebx, 5
                bsf ecx, ebx
                mov eax, ebp
                mov ecx, 7
                mul ecx
                div ecx
                cmpxchg [0x2000c], ebx
                xadd [0x20010], eax
                xchg [0x20014], edx
                stc
                adc ebx, ebp
                mov edi, 0x12000
                mov ecx, 33
                mov al, bl
                rep stosb
                dec ebp
                jnz top
                hlt
            """;

    @Test
    void instructionsLeftToTheInterpreterRunInPlaceInsideCompiledBlocks() {
        Map<String, String> inline = Map.of("xenj.jit", "true", "xenj.jit.threshold", "2", "xenj.jit.sync", "true", "xenj.jit.lockstep", "false",
                "xenj.jit.inPlace", "true");
        CpuTestSupport t = CpuTestSupport.withProperties(INTERPRETED);
        t.cpu.setFpu(new X87(t.cpu.fpuMemory()));
        t.flat32(0x1000, INLINE_LOOP);
        t.runDeliveringToHlt();
        CpuTestSupport c = CpuTestSupport.withProperties(inline);
        c.cpu.setFpu(new X87(c.cpu.fpuMemory()));
        c.flat32(0x1000, INLINE_LOOP);
        c.runDeliveringToHlt();
        for (int r = 0; r < 8; r++) {
            assertEquals(t.reg(r), c.reg(r), "register " + r);
        }
        assertEquals(t.cpu.getEflags(), c.cpu.getEflags());
        for (int a = 0x20000; a < 0x20018; a += 4) {
            assertEquals(t.cpu.readLinear32(a), c.cpu.readLinear32(a), "memory at " + Integer.toHexString(a));
        }
        for (int a = 0x11000; a < 0x12040; a += 4) {
            assertEquals(t.cpu.readLinear32(a), c.cpu.readLinear32(a), "memory at " + Integer.toHexString(a));
        }
        // 400 iterations × 8 interpreted in place (x87, REP strings, XCHG with memory; the bit, multiply,
        // divide, CMPXCHG/XADD and flag instructions are translated since ArithEmitter), the body compiled each time
        assertTrue(c.cpu.inlineInterpreted > 400 * 7, c.cpu.blockCacheStatistics() + " " + c.cpu.jitStatistics());
        assertTrue(c.cpu.jit.entered > 390, c.cpu.jitStatistics());
        assertEquals(0, c.cpu.jit.splits, c.cpu.jitStatistics());
    }

    @Test
    void aSliceLetsABlockBegunInsideItFinish() {
        String loop = """
                    mov ecx, 100
                top:
                    add eax, 1
                    add eax, 2
                    add eax, 3
                    add eax, 4
                    dec ecx
                    jnz top
                    hlt
                """;
        // 7 instructions to the first JNZ, then 6 per iteration: a budget of 10 ends inside the second block
        CpuTestSupport exact = CpuTestSupport.withProperties(INTERPRETED);
        exact.flat32(0x1000, loop);
        assertEquals(10, exact.cpu.runSlice(10), "an exact slice stops at the count");
        assertEquals(16, exact.reg(Cpu.EAX));
        CpuTestSupport budget = CpuTestSupport.withProperties(INTERPRETED);
        budget.flat32(0x1000, loop);
        assertEquals(13, budget.cpu.runSliceToBlockEnd(10), "a budget slice ends where the block does");
        assertEquals(20, budget.reg(Cpu.EAX));
    }
}
