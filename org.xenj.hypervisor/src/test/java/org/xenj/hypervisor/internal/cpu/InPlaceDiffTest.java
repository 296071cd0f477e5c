package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.cpu.fpu.X87;

/**
 * Random loops mixing translated instructions with the ones compiled code hands to the interpreter
 * in place ({@code xenj.jit.inPlace}: bit tests and scans, double shifts, MUL/IMUL/DIV, CMPXCHG,
 * XADD, XCHG with memory, LAHF/SAHF, CLC/STC/CMC/CLD, CWDE/CDQ, REP string instructions, x87), the
 * flags of each folded into the registers: after 150 rounds, compiled with both jit8 paths on, the
 * registers, EFLAGS and the data buffer must equal an interpreter-only run's. Lockstep cannot check
 * these blocks (its shadow does not run in-place instructions), so this is their differential test.
 */
class InPlaceDiffTest {

    private static final Map<String, String> INTERPRETED = Map.of("xenj.jit", "false");
    private static final Map<String, String> IN_PLACE = Map.of("xenj.jit", "true", "xenj.jit.threshold", "2", "xenj.jit.sync", "true",
            "xenj.jit.lockstep", "false", "xenj.jit.inPlace", "true", "xenj.jit.chainPages", "true");
    private static final int BUF = 0x20000;
    private static final int SEEDS = Integer.getInteger("xenj.inplace.seeds", 40);

    @Test
    void randomLoopsGiveTheInterpretersResults() {
        SplittableRandom seeds = new SplittableRandom(0x1a8b);
        long inline = 0;
        for (int k = 0; k < SEEDS; k++) {
            long seed = seeds.nextLong();
            String program = program(new SplittableRandom(seed));
            long[] expected = run(INTERPRETED, program, null);
            long[] counters = new long[1];
            long[] got = run(IN_PLACE, program, counters);
            for (int i = 0; i < expected.length; i++) {
                assertEquals(expected[i], got[i], "seed " + seed + ", state word " + i + "\n" + program);
            }
            inline += counters[0];
        }
        assertTrue(inline > SEEDS * 150L * 5, "instructions run in place: " + inline);
    }

    private static final String[] REGS = {"eax", "ecx", "edx", "esi"};

    /** A loop of 150 rounds over a random body; EBX = the buffer, EBP = the counter, EDI scratch for strings. */
    private static String program(SplittableRandom r) {
        StringBuilder b = new StringBuilder();
        b.append("cld\nfinit\nmov ebx, ").append(BUF).append("\nmov ebp, 150\n");
        for (String reg : REGS) {
            b.append("mov ").append(reg).append(", ").append(r.nextInt()).append('\n');
        }
        b.append("top:\n");
        int n = 12 + r.nextInt(12);
        for (int i = 0; i < n; i++) {
            b.append(insn(r)).append('\n');
            if (r.nextInt(3) == 0) {
                b.append("adc ").append(reg(r)).append(", ebp\n"); // the carry into the registers
            }
        }
        b.append("pushfd\npop edi\nand edi, 0x8d5\nadd eax, edi\n");
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
        return switch (r.nextInt(26)) {
            case 0 -> "add " + a + ", " + c;
            case 1 -> "xor " + a + ", " + r.nextInt();
            case 2 -> "mov " + mem(r) + ", " + a;
            case 3 -> "sub " + a + ", " + mem(r);
            case 4 -> "bt " + a + ", " + r.nextInt(32);
            case 5 -> "bts " + mem(r) + ", " + r.nextInt(32);
            case 6 -> "and " + c + ", 127\nbtr dword [ebx], " + c; // register offset into the buffer's first 16 bytes
            case 7 -> "btc " + a + ", " + c;
            case 8 -> "bsf " + a + ", " + c;
            case 9 -> "bsr " + a + ", " + mem(r);
            case 10 -> "shld " + a + ", " + c + ", " + (1 + r.nextInt(31));
            case 11 -> "shrd " + mem(r) + ", " + a + ", cl";
            case 12 -> "mul " + c;
            case 13 -> "imul " + mem(r);
            case 14 -> "push edx\npush ecx\nor ecx, 1\nxor edx, edx\ndiv ecx\npop ecx\npop edx";
            case 15 -> "cmpxchg " + mem(r) + ", " + c;
            case 16 -> "xadd " + mem(r) + ", " + a;
            case 17 -> "xchg " + mem(r) + ", " + a;
            case 18 -> "lahf\nrol eax, 3\nsahf";
            case 19 -> new String[] {"clc", "stc", "cmc"}[r.nextInt(3)];
            case 20 -> r.nextBoolean() ? "cwde" : "cdq";
            case 21 -> "push esi\npush ecx\nlea esi, [ebx + " + r.nextInt(64) + "]\nlea edi, [ebx + " + (256 + r.nextInt(64))
                    + "]\nmov ecx, " + r.nextInt(40) + "\nrep movsb\nadd eax, ecx\npop ecx\npop esi";
            case 22 -> "push ecx\nlea edi, [ebx + " + (256 + r.nextInt(64)) + "]\nmov ecx, " + r.nextInt(20) + "\nrep stosd\npop ecx";
            case 23 -> "push esi\npush ecx\nlea esi, [ebx + " + r.nextInt(32) + "]\nlea edi, [ebx + " + (256 + r.nextInt(32))
                    + "]\nmov ecx, 32\nrepe cmpsb\nadc eax, ecx\npop ecx\npop esi";
            case 24 -> "mov [ebx + 512], " + a + "\nfild dword [ebx + 512]\nfadd st0, st0\nfistp dword [ebx + " + (516 + r.nextInt(4) * 4)
                    + "]";
            default -> "inc " + a + "\nrol " + c + ", " + (1 + r.nextInt(31));
        };
    }

    /** Registers, EFLAGS, then the buffer's first 640 bytes as words; {@code counters[0]} = instructions run in place. */
    private static long[] run(Map<String, String> props, String program, long[] counters) {
        CpuTestSupport t = CpuTestSupport.withProperties(props);
        t.cpu.setFpu(new X87(t.cpu.fpuMemory()));
        for (int a = BUF; a < BUF + 1024; a += 4) {
            t.mem.write32(a, a * 0x9e3779b1);
        }
        t.flat32(0x1000, program);
        t.runDeliveringToHlt();
        long[] s = new long[9 + 160];
        for (int i = 0; i < 8; i++) {
            s[i] = t.reg(i);
        }
        s[8] = t.cpu.getEflags();
        for (int i = 0; i < 160; i++) {
            s[9 + i] = t.cpu.readLinear32(BUF + i * 4);
        }
        if (counters != null) {
            counters[0] = t.cpu.inlineInterpreted;
        }
        return s;
    }
}
