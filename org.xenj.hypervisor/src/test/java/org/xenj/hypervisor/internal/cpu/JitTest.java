package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.function.Consumer;

import org.junit.jupiter.api.Test;

/**
 * The translator of hot blocks to JVM bytecode ({@code jit} package): compiled blocks give the
 * interpreter's results, lockstep mode finds no difference, and code that rewrites itself (the next
 * instruction, the running block, through another linear alias of the page) runs the new code.
 * Each test builds its CPU with the translator's properties set and puts them back afterwards.
 */
class JitTest {

    private static final String LOOP = """
                mov esi, 0x10000
                xor ebx, ebx
                xor edx, edx
                mov ecx, 1000
            inner:
                mov eax, [esi + ecx*4]
                add eax, ecx
                xor eax, 0x5a5a
                mov [esi + ecx*4], eax
                add ebx, eax
                shr eax, 3
                cmp eax, 100
                jb skip
                inc edx
            skip:
                movzx edi, al
                add edx, edi
                setc al
                push eax
                call leaf
                pop eax
                dec ecx
                jnz inner
                hlt
            leaf:
                lea edi, [ebx + edx*2 + 1]
                ret
            """;

    /** Runs {@code test} on a CPU built with the given translator properties. */
    private static void withJit(Map<String, String> props, Consumer<CpuTestSupport> test) {
        CpuTestSupport t = CpuTestSupport.withProperties(props);
        test.accept(t);
    }

    private static int[] runLoop(CpuTestSupport t) {
        t.flat32(0x1000, LOOP);
        t.runDeliveringToHlt();
        return new int[] {t.reg(Cpu.EAX), t.reg(Cpu.EBX), t.reg(Cpu.ECX), t.reg(Cpu.EDX), t.reg(Cpu.ESP), t.reg(Cpu.EDI),
            t.cpu.getEflags(), t.cpu.readLinear32(0x10000 + 500 * 4)};
    }

    @Test
    void compiledBlocksGiveTheInterpretersResults() {
        int[] expected = new int[1];
        int[][] interpreted = new int[1][];
        withJit(Map.of("xenj.jit", "false", "xenj.jit.lockstep", "false"), t -> {
            interpreted[0] = runLoop(t);
            assertEquals(null, t.cpu.jit, "xenj.jit=false turns the translator off");
        });
        withJit(Map.of("xenj.jit", "true", "xenj.jit.threshold", "2", "xenj.jit.sync", "true"), t -> {
            int[] got = runLoop(t);
            assertEquals(java.util.Arrays.toString(interpreted[0]), java.util.Arrays.toString(got));
            CpuJit jit = t.cpu.jit;
            assertNotNull(jit);
            assertTrue(jit.entered > 1000, t.cpu.jitStatistics());
            expected[0] = 1;
        });
        assertEquals(1, expected[0]);
    }

    @Test
    void lockstepFindsNoDifference() {
        withJit(Map.of("xenj.jit.lockstep", "true", "xenj.jit.threshold", "0"), t -> {
            runLoop(t);
            CpuJit jit = t.cpu.jit;
            assertTrue(jit.checked > 1000, t.cpu.jitStatistics());
            assertEquals(0, jit.mismatches, () -> jit.mismatchLog().toString());
        });
    }

    @Test
    void backgroundCompilationInstallsBlocks() {
        withJit(Map.of("xenj.jit", "true", "xenj.jit.threshold", "5"), t -> {
            t.flat32(0x1000, """
                        xor eax, eax
                        mov ecx, 3000000
                    top:
                        add eax, ecx
                        dec ecx
                        jnz top
                        hlt
                    """);
            java.util.List<String> log = new java.util.ArrayList<>();
            CpuExecutor ex = new CpuExecutor(t.cpu, t.env, log::add);
            for (int i = 0; i < 2000 && !t.cpu.isHalted(); i++) {
                ex.run(System.nanoTime() + 5_000_000L);
            }
            assertTrue(t.cpu.isHalted(), "did not finish");
            assertEquals((int) (3000000L * 3000001L / 2), t.reg(Cpu.EAX));
            assertTrue(t.cpu.jit.entered > 0, t.cpu.jitStatistics());
        });
    }

    /** Self-modifying code with every block translated when first seen (threshold 0) and checked in lockstep. */
    private static final Map<String, String> FORCED = Map.of("xenj.jit.lockstep", "true", "xenj.jit.threshold", "0", "xenj.jit.strict",
            "true");

    /** RET imm16 releases an unsigned count (SDM vol. 2B RET): 0xC883 bytes, not -0x377D (found by the SIMD fuzz rounds). */
    @Test
    void retWithALargeImmediateAddsItUnsigned() {
        withJit(FORCED, t -> {
            t.flat32(0x1000, """
                        mov esp, 0x8000
                        call sub
                        hlt
                    sub:
                        mov ebx, esp
                        ret 0xc883
                    """);
            t.runDeliveringToHlt();
            assertEquals(0x8000 + 0xc883, t.reg(Cpu.ESP));
            assertTrue(t.cpu.jit.checked > 0, t.cpu.jitStatistics());
        });
    }

    @Test
    void storeToTheNextInstructionIsSeen() {
        withJit(FORCED, t -> {
            t.flat32(0x1000, """
                        mov ecx, 4
                        xor ebx, ebx
                    top:
                        mov byte [patch + 1], cl
                    patch:
                        mov eax, 0x11
                        add ebx, eax
                        dec ecx
                        jnz top
                        hlt
                    """);
            t.runDeliveringToHlt();
            assertEquals(4 + 3 + 2 + 1, t.reg(Cpu.EBX));
            assertTrue(t.cpu.jit.checked > 0, t.cpu.jitStatistics());
        });
    }

    @Test
    void storeIntoTheRunningBlockLaterInstructionIsSeen() {
        withJit(FORCED, t -> {
            t.flat32(0x1000, """
                        xor ebx, ebx
                        xor ecx, ecx
                        mov edx, 1
                    top:
                        mov [imm + 1], edx
                        add ebx, 0
                        add ebx, 0
                    imm:
                        mov eax, 0x1
                        add ebx, eax
                        inc ecx
                        cmp ecx, 5
                        jne same
                        mov edx, 10
                    same:
                        cmp ecx, 10
                        jb top
                        hlt
                    """);
            t.runDeliveringToHlt();
            assertEquals(5 * 1 + 5 * 10, t.reg(Cpu.EBX));
            assertTrue(t.cpu.jit.invalidations + t.cpu.jit.checked > 0, t.cpu.jitStatistics());
        });
    }

    @Test
    void storeThroughAnAliasMappingOfTheCodePageIsSeen() {
        withJit(Map.of("xenj.jit", "true", "xenj.jit.threshold", "1", "xenj.jit.sync", "true"), t -> {
            // paging: linear 0x1000-0x2fff identity, and linear 0x400000 maps the code page 0x2000 too
            t.flat32(0x1000, """
                        mov eax, 0x8000 | 3
                        mov [0x7000], eax           ; PDE 0 -> page table at 0x8000
                        mov eax, 0x9000 | 3
                        mov [0x7004], eax           ; PDE 1 (0x400000) -> page table at 0x9000
                        xor edi, edi
                    fill:
                        lea eax, [edi * 4]
                        shl eax, 10
                        or eax, 3
                        mov [0x8000 + edi * 4], eax
                        inc edi
                        cmp edi, 1024
                        jb fill
                        mov dword [0x9000], 0x2000 | 3
                        mov eax, 0x7000
                        mov cr3, eax
                        mov eax, cr0
                        or eax, 0x80000000
                        mov cr0, eax
                        xor ebx, ebx
                        xor edi, edi
                        mov esi, 1
                    again:
                        call 0x2000                 ; the code page, run hot
                        add ebx, eax
                        call 0x2008                 ; the same physical code at two linear addresses:
                        add edi, edx                ; compiled code must not bake in one EIP
                        call 0x400008
                        add edi, edx
                        inc esi
                        test esi, 7
                        jnz keep
                        mov [0x400000 + 1], esi     ; every 8th time, rewrite its immediate through the alias
                    keep:
                        cmp esi, 40
                        jb again
                        hlt
                    """);
            // mov eax, 1; nop; nop; ret | call next; next: pop edx; ret (EDX = the linear address of "next")
            byte[] leaf = {(byte) 0xb8, 1, 0, 0, 0, (byte) 0x90, (byte) 0x90, (byte) 0xc3, (byte) 0xe8, 0, 0, 0, 0, 0x5a, (byte) 0xc3};
            t.load(0x2000, leaf);
            t.runDeliveringToHlt();
            int expected = 0;
            for (int esi = 1, imm = 1; esi < 40;) {
                expected += imm;
                esi++;
                if ((esi & 7) == 0) {
                    imm = esi;
                }
            }
            assertEquals(expected, t.reg(Cpu.EBX));
            assertEquals(39 * (0x200d + 0x40000d), t.reg(Cpu.EDI));
            assertTrue(t.cpu.jit.invalidations > 0, t.cpu.jitStatistics());
        });
    }

    /**
     * Bad input: code that fills the code cache with one-shot blocks (5,000 distinct blocks, more than the cache's 4,096 slots, each
     * translated when first seen) stays bounded: at most one compiled block per cache slot is live,
     * the rest were evicted, and the results are right.
     */
    @Test
    void oneShotBlocksDoNotGrowTheCodeCache() {
        int blocks = 5_000;
        withJit(Map.of("xenj.jit", "true", "xenj.jit.threshold", "0"), t -> {
            byte[] code = new byte[blocks * 3 + 1];
            for (int k = 0; k < blocks; k++) {
                code[3 * k] = 0x40; // inc eax
                code[3 * k + 1] = (byte) 0xeb; // jmp $+2: ends the translated block
                code[3 * k + 2] = 0;
            }
            code[blocks * 3] = (byte) 0xf4; // hlt
            t.flat32(0x1000, "xor eax, eax\njmp 0x20000");
            t.load(0x20000, code);
            t.runDeliveringToHlt();
            CpuJit jit = t.cpu.jit;
            assertEquals(blocks, t.reg(Cpu.EAX));
            assertTrue(jit.liveBlocks <= CpuBlocks.SLOTS, t.cpu.jitStatistics());
            // (a few blocks are not compiled: those that cross a page run through the decoder)
            assertTrue(jit.evictions >= blocks - CpuBlocks.SLOTS - blocks / 50, t.cpu.jitStatistics());
            assertTrue(jit.liveBytes < 16L << 20, t.cpu.jitStatistics());
        });
    }

    /** A hot leaf at HOT: ECX = 100 iterations of EAX += IMM (the immediate at HOT_IMM), then RET. */
    private static final int HOT = 0x3000, HOT_IMM = HOT + 6, ONE_SHOT_A = 0x20000, ONE_SHOT_B = 0x50000, ONE_SHOTS = 30_000;

    /**
     * Calls the hot leaf (it gets compiled), then runs {@code ONE_SHOTS} one-shot blocks (30 per
     * block-cache set: the leaf's loop block loses its slot), calls it again, does the same once
     * more after {@code between} ran at the second HLT, and calls it a third time. Returns the
     * compilations counted after each of the three calls.
     */
    private static long[] hotLeafAcrossEvictions(CpuTestSupport t, Runnable between) {
        t.flat32(0x1000, """
                    xor eax, eax
                    call 0x3000
                    hlt
                    jmp 0x20000
                back1:
                    call 0x3000
                    hlt
                    jmp 0x50000
                back2:
                    call 0x3000
                    hlt
                """);
        byte[] back = CpuTestSupport.asm("bits 32\norg 0x1000\nxor eax, eax\ncall 0x3000\nhlt\njmp 0x20000\n");
        int back1 = 0x1000 + back.length;
        int back2 = back1 + 5 + 1 + 5;
        t.load(HOT, CpuTestSupport.asm("""
                bits 32
                org 0x3000
                    mov ecx, 100
                top:
                    add eax, strict dword 1
                    dec ecx
                    jnz top
                    ret
                """));
        t.load(ONE_SHOT_A, oneShots(ONE_SHOT_A, back1));
        t.load(ONE_SHOT_B, oneShots(ONE_SHOT_B, back2));
        long[] compiled = new long[3];
        t.runDeliveringToHlt();
        compiled[0] = t.cpu.jit.compilations();
        t.cpu.halted = false;
        t.runDeliveringToHlt();
        compiled[1] = t.cpu.jit.compilations();
        between.run();
        t.cpu.halted = false;
        t.runDeliveringToHlt();
        compiled[2] = t.cpu.jit.compilations();
        return compiled;
    }

    /** {@code ONE_SHOTS} blocks of INC EAX; JMP over a NOP (a taken jump ends the cached block) at {@code at}, then a JMP to {@code back}. */
    private static byte[] oneShots(int at, int back) {
        byte[] code = new byte[ONE_SHOTS * 4 + 5];
        for (int k = 0; k < ONE_SHOTS; k++) {
            code[4 * k] = 0x40; // inc eax
            code[4 * k + 1] = (byte) 0xeb; // jmp $+3
            code[4 * k + 2] = 1;
            code[4 * k + 3] = (byte) 0x90;
        }
        int p = ONE_SHOTS * 4;
        int rel = back - (at + p + 5);
        code[p] = (byte) 0xe9;
        for (int k = 0; k < 4; k++) {
            code[p + 1 + k] = (byte) (rel >>> (8 * k));
        }
        return code;
    }

    @Test
    void anEvictedHotBlockGetsItsCompiledCodeBackFromTheCodeCache() {
        withJit(Map.of("xenj.jit", "true", "xenj.jit.threshold", "2", "xenj.jit.sync", "true"), t -> {
            long[] compiled = hotLeafAcrossEvictions(t, () -> { });
            CpuJit jit = t.cpu.jit;
            assertEquals(300 + 2 * ONE_SHOTS, t.reg(Cpu.EAX));
            assertTrue(compiled[0] >= 1, t.cpu.jitStatistics());
            assertTrue(jit.evictions >= 2, "the hot loop lost its slot: " + t.cpu.jitStatistics());
            assertEquals(compiled[0], compiled[1], "nothing compiled again after the eviction: " + t.cpu.jitStatistics());
            assertEquals(compiled[0], compiled[2], t.cpu.jitStatistics());
            assertTrue(jit.codeCache.reattached() >= 2, t.cpu.jitStatistics());
            assertTrue(jit.entered + jit.loopIterations() > 250, "the loop ran compiled each time: " + t.cpu.jitStatistics());
        });
        // the same without the code cache: the loop is compiled again after each eviction
        withJit(Map.of("xenj.jit", "true", "xenj.jit.threshold", "2", "xenj.jit.sync", "true", "xenj.jit.codecache", "0"), t -> {
            long[] compiled = hotLeafAcrossEvictions(t, () -> { });
            assertEquals(300 + 2 * ONE_SHOTS, t.reg(Cpu.EAX));
            assertEquals(null, t.cpu.jit.codeCache);
            assertTrue(compiled[1] > compiled[0] && compiled[2] > compiled[1], t.cpu.jitStatistics());
        });
    }

    @Test
    void codeChangedWhileOutOfTheBlockCacheIsNotReattached() {
        withJit(Map.of("xenj.jit", "true", "xenj.jit.threshold", "2", "xenj.jit.sync", "true"), t -> {
            // after the second call the leaf is compiled, in the code cache and (soon) out of its slot; its immediate becomes 5
            long[] compiled = hotLeafAcrossEvictions(t, () -> t.load(HOT_IMM, new byte[] {5, 0, 0, 0}));
            CpuJit jit = t.cpu.jit;
            assertEquals(200 + 500 + 2 * ONE_SHOTS, t.reg(Cpu.EAX), "the third call ran the new code: " + t.cpu.jitStatistics());
            assertTrue(jit.codeCache.stale() >= 1, "the entry with the old bytes was dropped: " + t.cpu.jitStatistics());
            assertTrue(compiled[2] > compiled[1], "the new code was compiled: " + t.cpu.jitStatistics());
        });
    }
}
