package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.junit.jupiter.api.Test;

/**
 * The two jit8 paths where compiled code meets an exception (issue 11; written while looking for
 * the hang of a restored Debian domain): an instruction run by the interpreter in place
 * ({@code Cpu.execRow}) that faults part-way (REP MOVSD into a page that is not present: the
 * registers keep its progress; DIV by zero: the registers of the compiled instructions before it
 * are written back) and a chain onto another code page whose instruction fetch faults. Each
 * program runs hot (the blocks compiled, threshold 2, synchronous) with exception delivery, and
 * must end with exactly the registers, memory and fault counts of an interpreter-only run.
 */
class InPlaceFaultTest {

    private static final Map<String, String> INTERPRETED = Map.of("xenj.jit", "false");
    /** Both jit8 paths on (the defaults since 2026-12-07; named here so that the test does not depend on them). */
    private static final Map<String, String> COMPILED = Map.of("xenj.jit", "true", "xenj.jit.threshold", "2", "xenj.jit.sync", "true",
            "xenj.jit.lockstep", "false", "xenj.jit.inPlace", "true", "xenj.jit.chainPages", "true");
    private static final Map<String, String> SAME_PAGE = Map.of("xenj.jit", "true", "xenj.jit.threshold", "2", "xenj.jit.sync", "true",
            "xenj.jit.lockstep", "false", "xenj.jit.inPlace", "true", "xenj.jit.chainPages", "false");
    /** The defaults: both paths. */
    private static final Map<String, String> DEFAULTS = Map.of("xenj.jit", "true", "xenj.jit.threshold", "2", "xenj.jit.sync", "true",
            "xenj.jit.lockstep", "false");
    /** Both paths turned off by their properties (the translator as before jit8). */
    private static final Map<String, String> NEITHER = Map.of("xenj.jit", "true", "xenj.jit.threshold", "2", "xenj.jit.sync", "true",
            "xenj.jit.lockstep", "false", "xenj.jit.inPlace", "false", "xenj.jit.chainPages", "false");

    private static final int PD = 0x20000, PT = 0x21000, PT2 = 0x22000;

    /** Identity map of 0-4 MiB; 0x400000 maps 0x100000 and 0x401000 maps 0x101000. */
    private static void pageTables(CpuTestSupport t) {
        t.mem.write32(PD, PT | 3);
        t.mem.write32(PD + 4, PT2 | 3);
        for (int i = 0; i < 1024; i++) {
            t.mem.write32(PT + i * 4, (i << 12) | 3);
        }
        t.mem.write32(PT2, 0x100000 | 3);
        t.mem.write32(PT2 + 4, 0x101000 | 3);
    }

    /**
     * Handlers: #DE sets ECX to 7 (the DIV then runs again), #PF sets the present bit of the PTE
     * for CR2 (both page tables are at PT/PT2, contiguous: entry = PT + (CR2 >> 12) * 4) and counts.
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
            de_handler:
                inc dword [0x9000]
                mov ecx, 7
                iretd
            pf_handler:
                push eax
                inc dword [0x9004]
                mov eax, cr2
                shr eax, 12
                or dword [0x21000 + eax * 4], 1
                pop eax
                add esp, 4
                iretd
                align 8
            gdt: dq 0, 0
                dq 0x00cf9a000000ffff
                dq 0x00cf92000000ffff
            gdtr: dw 31
                dd gdt
                align 8
            idt: dw de_handler, 0x10, 0x8e00, 0
                times 13 dq 0
                dw pf_handler, 0x10, 0x8e00, 0
            idtr: dw 15 * 8 - 1
                dd idt
            main:
            """;

    /**
     * REP MOVSD across into a page made not present each round, between compiled instructions that
     * set and use ECX/ESI/EDI; a DIV whose divisor is 0 every fourth round. The copy moves the
     * dwords down by one (source = destination + 4), so it is not idempotent: resuming it from
     * the start instead of from its progress after the fault would move the first part twice.
     */
    private static final String FAULTING_LOOP = SYSTEM + """
                xor ebx, ebx
                mov ebp, 300
            top:
                and dword [0x21000 + 0x301 * 4], ~1
                invlpg [0x301000]
                mov esi, 0x300f04
                mov edi, 0x300f00
                lea ecx, [ebp + 100]
                add ebx, ecx
                rep movsd
                add ebx, ecx
                add ebx, esi
                xor ebx, edi
                mov ecx, ebp
                and ecx, 3
                mov eax, ebp
                xor edx, edx
                div ecx
                add ebx, eax
                add ebx, edx
                add ebx, ecx
                rol ebx, 3
                dec ebp
                jnz top
                hlt
            """;

    @Test
    void inPlaceInstructionsThatFaultPartWayResumeWithTheInterpretersState() {
        Result expected = run(INTERPRETED, FAULTING_LOOP, null);
        Result got = run(COMPILED, FAULTING_LOOP, null);
        assertEquals(expected, got, got.stats);
        assertEquals(300, got.pageFaults, got.stats);
        assertEquals(75, got.divideErrors, got.stats);
        // REP MOVSD nearly once a round (its resumption after the fault starts a block of its own); the DIV is translated (ArithEmitter)
        assertTrue(got.inline > 250, got.stats);
        Result byDefault = run(DEFAULTS, FAULTING_LOOP, null);
        assertEquals(expected, byDefault, byDefault.stats);
        assertTrue(byDefault.inline > 250, "xenj.jit.inPlace is on by default: " + byDefault.stats);
        Result off = run(NEITHER, FAULTING_LOOP, null);
        assertEquals(expected, off, off.stats);
        assertEquals(0, off.inline, "-Dxenj.jit.inPlace=false turns it off: " + off.stats);
    }

    /**
     * A function that starts at the last 8 bytes of the page at 0x400000 and runs on into the next
     * page (0x401000), made not present before every call: the block on the first page chains (or
     * returns to the dispatcher) into an instruction fetch that faults.
     */
    private static final String CROSS_PAGE_LOOP = SYSTEM + """
                xor eax, eax
                xor ebx, ebx
                mov ebp, 300
            top:
                and dword [0x22000 + 4], ~1
                invlpg [0x401000]
                mov ecx, ebp
                call 0x400ff8
                add ebx, eax
                dec ebp
                jnz top
                hlt
            """;

    @Test
    void aChainOntoANotPresentCodePageTakesThePageFault() {
        byte[] tail = new byte[8];
        java.util.Arrays.fill(tail, (byte) 0x40); // 8 x inc eax, to the page's end
        byte[] next = CpuTestSupport.asm("bits 32\nadd eax, ecx\nbt eax, 3\nadc eax, 5\nret\n");
        java.util.function.Consumer<CpuTestSupport> code = t -> {
            t.load(0x100ff8, tail);
            t.load(0x101000, next);
        };
        Result expected = run(INTERPRETED, CROSS_PAGE_LOOP, code);
        Result got = run(COMPILED, CROSS_PAGE_LOOP, code);
        assertEquals(expected, got, got.stats);
        assertEquals(300, got.pageFaults, got.stats);
        assertTrue(got.crossPage > 250, "the RETs chain back onto the loop's page: " + got.stats);
        Result samePage = run(SAME_PAGE, CROSS_PAGE_LOOP, code);
        assertEquals(expected, samePage, samePage.stats);
        assertEquals(0, samePage.crossPage, samePage.stats);
    }

    /** The outcome compared: registers, EFLAGS, the copied memory, the handlers' counts; statistics for messages. */
    record Result(int eax, int ebx, int ecx, int edx, int esi, int edi, int ebp, int eflags, long memory, int divideErrors, int pageFaults,
            long inline, long crossPage, String stats) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Result r && eax == r.eax && ebx == r.ebx && ecx == r.ecx && edx == r.edx && esi == r.esi && edi == r.edi
                    && ebp == r.ebp && eflags == r.eflags && memory == r.memory && divideErrors == r.divideErrors && pageFaults == r.pageFaults;
        }

        @Override
        public int hashCode() {
            return eax;
        }
    }

    private static Result run(Map<String, String> props, String program, java.util.function.Consumer<CpuTestSupport> extra) {
        CpuTestSupport t = CpuTestSupport.withProperties(props);
        pageTables(t);
        for (int a = 0x300000; a < 0x302000; a += 4) {
            t.mem.write32(a, a * 0x9e3779b1);
        }
        if (extra != null) {
            extra.accept(t);
        }
        t.flat32(0x1000, program);
        t.runDeliveringToHlt();
        long sum = 0;
        for (int a = 0x300f00; a < 0x301400; a += 4) {
            sum = sum * 31 + t.cpu.readLinear32(a);
        }
        Cpu c = t.cpu;
        String stats = c.blockCacheStatistics() + (c.jit == null ? "" : " " + c.jitStatistics());
        return new Result(t.reg(Cpu.EAX), t.reg(Cpu.EBX), t.reg(Cpu.ECX), t.reg(Cpu.EDX), t.reg(Cpu.ESI), t.reg(Cpu.EDI), t.reg(Cpu.EBP),
                c.getEflags(), sum, c.readLinear32(0x9000), c.readLinear32(0x9004), c.inlineInterpreted, c.crossPageChains, stats);
    }
}
