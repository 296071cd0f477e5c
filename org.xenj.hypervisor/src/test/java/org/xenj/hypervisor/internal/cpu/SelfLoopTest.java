package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/**
 * Self-loop blocks ({@code xenj.jit.loops}): a compiled block whose branch back to its own start
 * goes round inside its method must do at each pass what returning and being chained to again
 * did. Each program is run interpreted, compiled with loops off (the chain) and compiled with
 * loops on, and must give the same outcome: slice budgets ending inside the loop (every slice's
 * count and state), a page fault in the middle of a pass, stores into the loop's own code page
 * (one of them rewriting an immediate of the loop), interrupts arriving at the instruction
 * counts the executor's timer gives them. Strict lockstep checks the loops pass by pass.
 */
class SelfLoopTest {

    /** The interpreter alone (lockstep named off: the jit-lockstep test execution turns it on for the whole JVM). */
    private static final Map<String, String> INTERPRETED = Map.of("xenj.jit", "false", "xenj.jit.lockstep", "false");
    private static final Map<String, String> CHAINED = Map.of("xenj.jit", "true", "xenj.jit.threshold", "2", "xenj.jit.sync", "true",
            "xenj.jit.lockstep", "false", "xenj.jit.loops", "false");
    private static final Map<String, String> LOOPS = Map.of("xenj.jit", "true", "xenj.jit.threshold", "2", "xenj.jit.sync", "true",
            "xenj.jit.lockstep", "false", "xenj.jit.loops", "true");
    private static final Map<String, String> LOCKSTEP = Map.of("xenj.jit.lockstep", "true", "xenj.jit.threshold", "0", "xenj.jit.strict",
            "true", "xenj.jit.loops", "true");

    private static final int PD = 0x20000, PT = 0x21000;

    /** Identity map of 0-4 MiB. */
    private static void pageTables(CpuTestSupport t) {
        t.mem.write32(PD, PT | 3);
        for (int i = 0; i < 1024; i++) {
            t.mem.write32(PT + i * 4, (i << 12) | 3);
        }
    }

    /**
     * Paging on; #PF (vector 14) sets the present bit of the PTE for CR2 and counts at 0x9004;
     * the timer interrupt (vector 0x20) counts at 0x9014 and folds ECX (where the loop was) into
     * 0x9010.
     */
    private static final String SYSTEM = """
                lgdt [gdtr]
                lidt [idtr]
                mov eax, 0x20000
                mov cr3, eax
                mov eax, cr0
                or eax, 0x80000000
                mov cr0, eax
                jmp main
            pf_handler:
                push eax
                inc dword [0x9004]
                mov eax, cr2
                shr eax, 12
                or dword [0x21000 + eax * 4], 1
                pop eax
                add esp, 4
                iretd
            irq_handler:
                push eax
                mov eax, [0x9010]
                imul eax, eax, 31
                add eax, ecx
                mov [0x9010], eax
                inc dword [0x9014]
                pop eax
                iretd
                align 8
            gdt: dq 0, 0
                dq 0x00cf9a000000ffff
                dq 0x00cf92000000ffff
            gdtr: dw 31
                dd gdt
                align 8
            idt: times 14 dq 0
                dw pf_handler, 0x10, 0x8e00, 0
                times 0x20 - 15 dq 0
                dw irq_handler, 0x10, 0x8e00, 0
            idtr: dw 0x21 * 8 - 1
                dd idt
            main:
            """;

    /**
     * A loop of loads, stores and ALU work with a BT run by the interpreter in place (the registers
     * changed after it in the last pass must be written back before it): 11 instructions a pass.
     */
    private static final String BUDGET_LOOP = """
                mov esi, 0x300000
                xor eax, eax
                xor ebx, ebx
                mov ecx, 5000
            top:
                mov edx, [esi + ecx*4]
                bt edx, 5
                adc eax, edx
                add eax, edx
                xor ebx, eax
                rol ebx, 5
                mov [esi + ecx*4 + 0x8000], ebx
                lea edi, [eax + ebx*2]
                sub eax, edi
                dec ecx
                jnz top
                hlt
            """;

    /** One slice's outcome: the count the slice returned, EIP and the eight registers. */
    private static String slice(Cpu c, int done) {
        StringBuilder b = new StringBuilder().append(done).append('@').append(Integer.toHexString(c.getEip()));
        for (int r = 0; r < 8; r++) {
            b.append(' ').append(Integer.toHexString(c.getReg32(r)));
        }
        return b.toString();
    }

    /** Runs BUDGET_LOOP in slices of pseudo-random budgets (1..60), exact and to-block-end in turn; the outcome of every slice. */
    private static List<String> slices(Map<String, String> props, CpuTestSupport[] out) {
        return slices(props, BUDGET_LOOP, out);
    }

    private static List<String> slices(Map<String, String> props, String program, CpuTestSupport[] out) {
        CpuTestSupport t = CpuTestSupport.withProperties(props);
        for (int a = 0x300000; a < 0x310000; a += 4) {
            t.mem.write32(a, a * 0x9e3779b1);
        }
        t.flat32(0x1000, program);
        List<String> r = new ArrayList<>();
        int seed = 12345;
        for (int k = 0; k < 20_000 && !t.cpu.isHalted(); k++) {
            seed = seed * 1103515245 + 12345;
            int budget = 1 + ((seed >>> 8) % 60 + 60) % 60;
            // the first slice records the loop's block whole (an exact budget ending inside its first
            // pass would record it cut short, and the loop would run as two blocks)
            int done = (k & 1) == 0 && k > 0 ? t.cpu.runSlice(budget) : t.cpu.runSliceToBlockEnd(budget);
            r.add(slice(t.cpu, done));
        }
        assertTrue(t.cpu.isHalted(), "did not finish");
        out[0] = t;
        return r;
    }

    @Test
    void slicesEndWhereTheyDidWithTheChain() {
        CpuTestSupport[] t = new CpuTestSupport[1];
        List<String> interpreted = slices(INTERPRETED, t);
        List<String> chained = slices(CHAINED, t);
        assertEquals(0, t[0].cpu.loopIterations, "xenj.jit.loops=false: " + t[0].cpu.jitStatistics());
        assertTrue(t[0].cpu.jit.selfChains > 1000, t[0].cpu.jitStatistics());
        List<String> loops = slices(LOOPS, t);
        assertSameSlices(interpreted, chained);
        assertSameSlices(interpreted, loops);
        // the budgets (up to 60, 9 a pass) leave room for a few passes inside the method per entry
        assertTrue(t[0].cpu.loopIterations > 1000, t[0].cpu.jitStatistics());
        for (int a = 0x308000; a < 0x310000; a += 4) {
            assertEquals(t[0].cpu.readLinear32(a), interpretedMemory(a), "memory at " + Integer.toHexString(a));
        }
    }

    private static void assertSameSlices(List<String> expected, List<String> got) {
        for (int k = 0; k < Math.min(expected.size(), got.size()); k++) {
            assertEquals(expected.get(k), got.get(k), "slice " + k + " (count@EIP, registers)");
        }
        assertEquals(expected.size(), got.size(), "slices");
    }

    private static Integer[] interpretedImage;

    private static int interpretedMemory(int a) {
        if (interpretedImage == null) {
            CpuTestSupport[] t = new CpuTestSupport[1];
            slices(INTERPRETED, t);
            interpretedImage = new Integer[0x2000];
            for (int k = 0; k < 0x2000; k++) {
                interpretedImage[k] = t[0].cpu.readLinear32(0x308000 + k * 4);
            }
        }
        return interpretedImage[(a - 0x308000) / 4];
    }

    /**
     * A load in the middle of the pass walks into pages made not present beforehand: every 1024
     * passes it faults after EBX was changed in this pass and with ESI/ECX changed in the last one
     * (later in the block), so the fault must leave exactly the interpreter's registers.
     */
    private static final String FAULT_LOOP = SYSTEM + """
                mov esi, 0x300000
                xor eax, eax
                xor ebx, ebx
                mov ecx, 8000
            top:
                add ebx, ecx
                mov edx, [esi]
                xor eax, edx
                add esi, 4
                rol eax, 3
                dec ecx
                jnz top
                hlt
            """;

    @Test
    void aFaultInTheMiddleOfAPassLeavesTheInterpretersState() {
        String expected = runFaulting(INTERPRETED, null);
        CpuTestSupport[] t = new CpuTestSupport[1];
        assertEquals(expected, runFaulting(CHAINED, t));
        assertEquals(expected, runFaulting(LOOPS, t));
        assertTrue(t[0].cpu.loopIterations > 5000, t[0].cpu.jitStatistics());
        assertTrue(expected.endsWith(" pf=8"), expected); // 8000 dwords = 8 pages, each faulting once
    }

    private static String runFaulting(Map<String, String> props, CpuTestSupport[] out) {
        CpuTestSupport t = CpuTestSupport.withProperties(props);
        pageTables(t);
        for (int a = 0x300000; a < 0x310000; a += 4) {
            t.mem.write32(a, a * 0x9e3779b1);
        }
        for (int p = 0x300; p < 0x310; p++) {
            t.mem.write32(PT + p * 4, p << 12); // not present: the handler maps them one by one
        }
        t.flat32(0x1000, FAULT_LOOP);
        t.runDeliveringToHlt();
        if (out != null) {
            out[0] = t;
        }
        return slice(t.cpu, 0) + " flags=" + Integer.toHexString(t.cpu.getEflags()) + " pf=" + t.cpu.readLinear32(0x9004);
    }

    /**
     * Every 64th pass the store goes into the loop's own code page: once in 128 passes into a data
     * word behind the code, once in 128 into the immediate of the ADD further on in the same pass
     * (self-modifying code). Each such store must end the pass there (the block breaks) with the
     * registers of the earlier passes written back, and the new immediate must be used.
     */
    private static final String SMC_LOOP = """
                xor eax, eax
                xor ebx, ebx
                xor esi, esi
                mov ecx, 6000
            top:
                mov edi, 0x40000
                test ecx, 63
                cmovz edi, [target + 0]
                test ecx, 127
                cmovz edi, [target + 4]
                mov [edi], ecx
                add eax, ecx
            patch:
                add ebx, 0x11111111
                xor esi, ebx
                rol esi, 1
                dec ecx
                jnz top
                hlt
                align 4
            target: dd data, patch + 2
            data: dd 0
            """;

    @Test
    void storesIntoTheLoopsOwnCodePageEndThePass() {
        String expected = runSmc(INTERPRETED, null);
        CpuTestSupport[] t = new CpuTestSupport[1];
        assertEquals(expected, runSmc(CHAINED, t));
        assertEquals(expected, runSmc(LOOPS, t));
        assertTrue(t[0].cpu.loopIterations > 4000, t[0].cpu.jitStatistics());
        assertTrue(t[0].cpu.jit.invalidations > 20, "the patched block is compiled again: " + t[0].cpu.jitStatistics());
    }

    private static String runSmc(Map<String, String> props, CpuTestSupport[] out) {
        CpuTestSupport t = CpuTestSupport.withProperties(props);
        t.flat32(0x1000, SMC_LOOP);
        t.runDeliveringToHlt();
        if (out != null) {
            out[0] = t;
        }
        return slice(t.cpu, 0) + " flags=" + Integer.toHexString(t.cpu.getEflags()) + " data=" + t.cpu.readLinear32(0x40000);
    }

    /**
     * The executor's timer raises an interrupt at every service (every 8 slices of 1024
     * instructions, at instruction counts that do not depend on how the loop runs); the handler
     * folds ECX into a hash, so every interrupt must arrive at the same pass as interpreted.
     */
    private static final String IRQ_LOOP = SYSTEM + """
                xor eax, eax
                mov ecx, 300000
                sti
                nop ; the executor runs the STI shadow as a slice of 1: not the loop's first instruction (its block would be cut)
            top:
                add eax, ecx
                xor eax, 0x5a5a
                rol eax, 1
                dec ecx
                jnz top
                cli
                hlt
            """;

    @Test
    void interruptsArriveAtTheSamePass() {
        String expected = runIrq(INTERPRETED, null);
        CpuTestSupport[] t = new CpuTestSupport[1];
        assertEquals(expected, runIrq(CHAINED, t));
        assertEquals(expected, runIrq(LOOPS, t));
        assertTrue(t[0].cpu.loopIterations > 100_000, t[0].cpu.jitStatistics());
        assertTrue(t[0].cpu.readLinear32(0x9014) > 100, expected);
    }

    private static String runIrq(Map<String, String> props, CpuTestSupport[] out) {
        CpuTestSupport t = CpuTestSupport.withProperties(props);
        pageTables(t);
        t.env.onTimers = () -> t.env.irqs.add(0x20);
        t.flat32(0x1000, IRQ_LOOP);
        CpuExecutor ex = new CpuExecutor(t.cpu, t.env, s -> {
        });
        for (int i = 0; i < 100_000 && !t.cpu.isHalted(); i++) {
            ex.run(Long.MAX_VALUE);
        }
        assertTrue(t.cpu.isHalted(), "did not finish");
        if (out != null) {
            out[0] = t;
        }
        return slice(t.cpu, 0) + " irqs=" + t.cpu.readLinear32(0x9014) + " hash=" + Integer.toHexString(t.cpu.readLinear32(0x9010));
    }

    @Test
    void loopsAgreeInStrictLockstep() {
        CpuTestSupport[] t = new CpuTestSupport[1];
        // lockstep runs no instruction in place (its stores are buffered): CMP instead of BT keeps the pass one block
        String program = BUDGET_LOOP.replace("bt edx, 5", "cmp edx, 5");
        assertSameSlices(slices(INTERPRETED, program, t), slices(LOCKSTEP, program, t));
        assertTrue(t[0].cpu.loopIterations > 1000, t[0].cpu.jitStatistics());
        assertTrue(t[0].cpu.jit.checked > 500, t[0].cpu.jitStatistics());
        assertEquals(0, t[0].cpu.jit.mismatches);
        runFaulting(LOCKSTEP, t);
        assertTrue(t[0].cpu.loopIterations > 1000, t[0].cpu.jitStatistics());
        runSmc(LOCKSTEP, t);
        assertEquals(0, t[0].cpu.jit.mismatches);
        assertTrue(t[0].cpu.jit.checked > 100, t[0].cpu.jitStatistics());
    }
}
