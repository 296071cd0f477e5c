package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/**
 * Differential test of the instructions the translator compiles itself since issue 11's
 * ArithEmitter (MUL/IMUL/DIV/IDIV r/m32, BT/BTS/BTR/BTC, BSF/BSR, SHLD/SHRD, CMPXCHG, XADD,
 * CLC/STC/CMC/CLD/STD, LAHF/SAHF, CBW/CWD): random loops of them mixed with translated ALU
 * instructions and flag readers (ADC, SETcc, CMOVcc), divides that fault (#DE for a zero divisor
 * and for a quotient too wide; the handler counts, makes the divisor 7, EDX 0 and EAX positive, and
 * the divide runs again), each round's EFLAGS folded into the registers. Run hot and compiled (threshold 2,
 * synchronous, in place on) and in lockstep (threshold 0, strict: every compiled block checked
 * against the interpreter, faults included), each must end with the registers, EFLAGS, memory and
 * fault count of an interpreter-only run. The compiled run must have run none of these in place
 * (they are translated) and must have taken #DE.
 */
class JitArithDiffTest {

    private static final Map<String, String> INTERPRETED = Map.of("xenj.jit", "false");
    private static final Map<String, String> COMPILED = Map.of("xenj.jit", "true", "xenj.jit.threshold", "2", "xenj.jit.sync", "true",
            "xenj.jit.lockstep", "false", "xenj.jit.inPlace", "true");
    private static final Map<String, String> LOCKSTEP = Map.of("xenj.jit", "true", "xenj.jit.threshold", "0", "xenj.jit.lockstep", "true",
            "xenj.jit.strict", "true");
    private static final int BUF = 0x40000, DE_COUNT = 0x9000;
    private static final int SEEDS = Integer.getInteger("xenj.arith.seeds", 40);

    private static final String SYSTEM = """
                lgdt [gdtr]
                lidt [idtr]
                jmp main
            de_handler:
                inc dword [0x9000]
                mov ecx, 7
                xor edx, edx
                and eax, 0x7fffffff
                iretd
                align 8
            gdt: dq 0, 0
                dq 0x00cf9a000000ffff
                dq 0x00cf92000000ffff
            gdtr: dw 31
                dd gdt
                align 8
            idt: dw de_handler, 0x10, 0x8e00, 0
            idtr: dw 7
                dd idt
            main:
            """;

    @Test
    void randomArithmeticGivesTheInterpretersResults() {
        SplittableRandom seeds = new SplittableRandom(0xa417);
        long faults = 0;
        for (int k = 0; k < SEEDS; k++) {
            long seed = seeds.nextLong();
            String program = program(new SplittableRandom(seed));
            long[] expected = run(INTERPRETED, program, null);
            long[] counters = new long[2];
            long[] got = run(COMPILED, program, counters);
            for (int i = 0; i < expected.length; i++) {
                assertEquals(expected[i], got[i], "compiled: seed " + seed + ", state word " + i + "\n" + program);
            }
            assertEquals(0, counters[0], "instructions run in place (all of these are translated)");
            assertTrue(counters[1] > 0, "blocks entered");
            long[] locked = run(LOCKSTEP, program, counters);
            for (int i = 0; i < expected.length; i++) {
                assertEquals(expected[i], locked[i], "lockstep: seed " + seed + ", state word " + i + "\n" + program);
            }
            faults += expected[9];
        }
        assertTrue(faults > SEEDS * 10L, "#DE taken: " + faults);
    }

    private static final String[] REGS = {"eax", "ecx", "edx", "esi", "edi"};

    /** A loop of 150 rounds over a random body; EBX = the buffer, EBP = the counter. */
    private static String program(SplittableRandom r) {
        StringBuilder b = new StringBuilder(SYSTEM);
        b.append("cld\nmov ebx, ").append(BUF).append("\nmov ebp, 150\n");
        for (String reg : REGS) {
            b.append("mov ").append(reg).append(", ").append(r.nextInt()).append('\n');
        }
        b.append("top:\n");
        int n = 10 + r.nextInt(14);
        for (int i = 0; i < n; i++) {
            b.append(insn(r)).append('\n');
            switch (r.nextInt(6)) {
                case 0 -> b.append("adc ").append(reg(r)).append(", ebp\n"); // the carry into the registers
                case 1 -> b.append("set").append(new String[] {"o", "s", "z", "p", "c", "be", "l", "le"}[r.nextInt(8)]).append(' ')
                        .append(new String[] {"al", "cl", "dh", "byte [ebx + 300]"}[r.nextInt(4)]).append('\n');
                case 2 -> b.append("cmov").append(new String[] {"o", "c", "s", "nz"}[r.nextInt(4)]).append(' ').append(reg(r)).append(", ")
                        .append(reg(r)).append('\n');
                case 3 -> b.append("xchg esi, eax\nlahf\nxchg esi, eax\n"); // SF ZF AF PF CF into SI's high byte
                default -> {
                }
            }
        }
        b.append("pushfd\npop edi\nand edi, 0xcd5\nadd eax, edi\n");
        b.append("dec ebp\njnz top\nhlt\n");
        return b.toString();
    }

    private static String reg(SplittableRandom r) {
        return REGS[r.nextInt(REGS.length)];
    }

    private static String mem(SplittableRandom r) {
        return "dword [ebx + " + (r.nextInt(64) * 4) + "]";
    }

    private static String insn(SplittableRandom r) {
        String a = reg(r), c = reg(r);
        return switch (r.nextInt(30)) {
            case 0 -> "add " + a + ", " + c;
            case 1 -> "sub " + a + ", " + mem(r);
            case 2 -> "mov " + mem(r) + ", " + a;
            case 3 -> new String[] {"mul ", "imul "}[r.nextInt(2)] + c;
            case 4 -> new String[] {"mul ", "imul "}[r.nextInt(2)] + mem(r);
            // divisor ECX: random, sometimes 0; EDX random: overflows too (the handler fixes both)
            case 5 -> (r.nextInt(3) == 0 ? "xor ecx, ecx\n" : "") + new String[] {"div ", "idiv "}[r.nextInt(2)] + "ecx";
            case 6 -> (r.nextBoolean() ? "xor edx, edx\n" : "cdq\n") + new String[] {"div ", "idiv "}[r.nextInt(2)] + "ecx";
            case 7 -> {
                String m = mem(r);
                yield "or " + m + ", 1\n" + new String[] {"div ", "idiv "}[r.nextInt(2)] + m; // #DE only by overflow
            }
            case 8 -> new String[] {"bt ", "bts ", "btr ", "btc "}[r.nextInt(4)] + a + ", " + c;
            case 9 -> new String[] {"bt ", "bts ", "btr ", "btc "}[r.nextInt(4)] + a + ", " + r.nextInt(256);
            case 10 -> new String[] {"bt ", "bts ", "btr ", "btc "}[r.nextInt(4)] + mem(r) + ", " + r.nextInt(256);
            case 11 -> new String[] {"bsf ", "bsr "}[r.nextInt(2)] + a + ", " + c;
            case 12 -> (r.nextBoolean() ? "and " + c + ", " + (1 << r.nextInt(32)) + "\n" : "") + new String[] {"bsf ", "bsr "}[r.nextInt(2)]
                    + a + ", " + (r.nextBoolean() ? c : mem(r));
            case 13 -> new String[] {"shld ", "shrd "}[r.nextInt(2)] + (r.nextBoolean() ? a : mem(r)) + ", " + c + ", " + r.nextInt(32);
            case 14 -> new String[] {"shld ", "shrd "}[r.nextInt(2)] + (r.nextBoolean() ? a : mem(r)) + ", " + c + ", cl";
            case 15 -> "cmpxchg " + a + ", " + c;
            case 16 -> {
                String m = mem(r);
                yield (r.nextBoolean() ? "mov eax, " + m + "\n" : "") + "cmpxchg " + m + ", " + c;
            }
            case 17 -> "xadd " + a + ", " + c;
            case 18 -> "xadd " + mem(r) + ", " + a;
            case 19 -> new String[] {"clc", "stc", "cmc", "std", "cld"}[r.nextInt(5)];
            case 20 -> "lahf\nrol eax, " + r.nextInt(32) + "\nsahf";
            case 21 -> new String[] {"cbw", "cwd", "cwde", "cdq"}[r.nextInt(4)];
            case 22 -> "cmp " + a + ", " + c;
            case 23 -> "inc " + a;
            case 24 -> "shl " + a + ", " + (1 + r.nextInt(31));
            case 25 -> "neg " + a;
            case 26 -> "imul " + a + ", " + c + ", " + r.nextInt();
            case 27 -> "sbb " + a + ", " + r.nextInt(100);
            case 28 -> "test " + a + ", " + c;
            default -> "xor " + a + ", " + a;
        };
    }

    /**
     * Registers, EFLAGS, #DE count, then the buffer's first 320 bytes as words; {@code counters}:
     * instructions run in place, compiled block entries.
     */
    private static long[] run(Map<String, String> props, String program, long[] counters) {
        CpuTestSupport t = CpuTestSupport.withProperties(props);
        for (int a = BUF; a < BUF + 1024; a += 4) {
            t.mem.write32(a, a * 0x9e3779b1);
        }
        t.flat32(0x1000, program);
        t.runDeliveringToHlt();
        long[] s = new long[10 + 80];
        for (int i = 0; i < 8; i++) {
            s[i] = t.reg(i);
        }
        s[8] = t.cpu.getEflags();
        s[9] = t.mem.read32(DE_COUNT);
        for (int i = 0; i < 80; i++) {
            s[10 + i] = t.cpu.readLinear32(BUF + i * 4);
        }
        if (counters != null) {
            counters[0] = t.cpu.inlineInterpreted;
            counters[1] = t.cpu.jit == null ? 0 : t.cpu.jit.entered;
            if (t.cpu.jit != null && t.cpu.jit.mismatchCount() != 0) {
                throw new AssertionError("lockstep mismatches: " + t.cpu.jit.mismatchLog());
            }
        }
        return s;
    }
}
