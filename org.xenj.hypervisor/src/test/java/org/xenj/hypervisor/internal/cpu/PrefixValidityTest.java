package org.xenj.hypervisor.internal.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import org.junit.jupiter.api.Test;

/**
 * Generated prefix-validity cases in 32-bit protected mode, ring 0:
 * <ul>
 * <li>LOCK in front of every one-byte and every 0F opcode, with every ModRM reg field, in memory and
 * register form: Intel SDM vol. 2B "LOCK—Assert LOCK# Signal Prefix" (Description and Exceptions):
 * #UD unless the instruction is ADD, ADC, AND, BTC, BTR, BTS, CMPXCHG, CMPXCHG8B, DEC, INC, NEG, NOT,
 * OR, SBB, SUB, XOR, XADD or XCHG with a memory destination. The lockable set is written here from
 * that page (not taken from the decoder). A lockable form must behave exactly as without LOCK.</li>
 * <li>Every legacy prefix repeated 0..15 times in front of short and long instructions: SDM vol. 2A
 * §2.1 and §2.3.11 — repeating a prefix changes nothing, and an instruction longer than 15 bytes
 * raises #GP(0) at its first byte with nothing changed.</li>
 * <li>Conflicting REP prefixes (F3 F2 / F2 F3): the SDM does not define which applies; this host's
 * CPU (AMD EPYC, checked natively with {@code .byte 0xf3,0xf2,0xae}: RCX 8 -&gt; 7, and
 * {@code 0xf2,0xf3,0xae}: RCX 8 -&gt; 3) uses the last one, and so must the emulator.</li>
 * </ul>
 */
class PrefixValidityTest extends CpuTestSupport {

    private static final int CODE = 0x1000, MEMOP = 0x3000;

    /** SDM vol. 2B LOCK: the lockable opcodes (memory destination); 0x1xx = 0F xx; reg = ModRM.reg. */
    private static boolean lockableBySdm(int op, int reg) {
        if (op < 0x40) { // ADD OR ADC SBB AND SUB XOR r/m,r (not CMP 38/39, not r,r/m forms)
            int row = op >>> 3;
            return (op & 7) <= 1 && row != 7;
        }
        return switch (op) {
            case 0x80, 0x81, 0x82, 0x83 -> reg != 7;    // ADD OR ADC SBB AND SUB XOR r/m,imm
            case 0x86, 0x87 -> true;                    // XCHG
            case 0xf6, 0xf7 -> reg == 2 || reg == 3;    // NOT NEG
            case 0xfe, 0xff -> reg == 0 || reg == 1;    // INC DEC
            case 0x1ab, 0x1b3, 0x1bb -> true;           // BTS BTR BTC r/m,r
            case 0x1ba -> reg >= 5;                     // BTS BTR BTC r/m,imm8
            case 0x1b0, 0x1b1 -> true;                  // CMPXCHG
            case 0x1c0, 0x1c1 -> true;                  // XADD
            case 0x1c7 -> reg == 1;                     // CMPXCHG8B
            default -> false;
        };
    }

    private static boolean isPrefix(int b) {
        return switch (b) {
            case 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x0f -> true;
            default -> false;
        };
    }

    /** The outcome of one run: exception vector (-1 = HLT), EIP, registers, EFLAGS, the memory operand. */
    private record Outcome(int vector, int eip, int[] regs, int flags, long mem) {
        boolean sameAs(Outcome o, int eipDelta) {
            // a fault is reported at the instruction's first byte whatever the number of prefixes
            int delta = vector < 0 ? eipDelta : 0;
            return vector == o.vector && eip == o.eip + delta && Arrays.equals(regs, o.regs) && flags == o.flags
                    && mem == o.mem;
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "vector %d eip %x regs %s flags %x mem %x", vector, eip, Arrays.toString(regs),
                    flags, mem);
        }
    }

    private Outcome run(byte[] code) {
        mem.write(0, new byte[CODE], 0, CODE); // what the bytes after a shortened (a16) form may write to
        mem.write(MEMOP, new byte[0x100], 0, 0x100);
        load(CODE, code);
        for (int i = 0; i < 16; i++) {
            mem.write8(CODE + code.length + i, 0xf4);
        }
        mem.write32(MEMOP, 0x89abcdef);
        mem.write32(MEMOP + 4, 0x01234567);
        cpu.enterFlatProtectedMode32(0);
        int[] init = {0x89abcdef, 0x00000003, 0x01234567, 0x00000005, 0x00080000, 0x00002000, MEMOP, MEMOP + 0x10};
        for (int r = 0; r < 8; r++) {
            cpu.setReg32(r, init[r]);
        }
        cpu.setEflags(0x2);
        cpu.setEip(CODE);
        int v = cpu.runTest(4);
        int[] regs = new int[8];
        for (int r = 0; r < 8; r++) {
            regs[r] = reg(r);
        }
        long m = (mem.read32(MEMOP) & 0xffffffffL) | (long) mem.read32(MEMOP + 4) << 32;
        return new Outcome(v, cpu.getEip(), regs, cpu.getEflags(), m);
    }

    private static byte[] bytes(int... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int p : parts) {
            out.write(p);
        }
        return out.toByteArray();
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    @Test
    void lockOnEveryOpcodeFollowsTheSdmTable() {
        List<String> failures = new ArrayList<>();
        int cases = 0, lockable = 0;
        for (int op = 0; op < 0x200; op++) {
            if (op < 0x100 && isPrefix(op)) {
                continue;
            }
            byte[] opBytes = op < 0x100 ? bytes(op) : bytes(0x0f, op & 0xff);
            for (int reg = 0; reg < 8; reg++) {
                for (boolean memForm : new boolean[] {true, false}) {
                    cases++;
                    // ModRM: [disp32] or a register; then 4 bytes any immediate may take; then HLTs
                    byte[] rest = memForm ? bytes(reg << 3 | 5, MEMOP, MEMOP >>> 8, 0, 0, 1, 0, 0, 0)
                            : bytes(0xc0 | reg << 3 | 1, 1, 0, 0, 0);
                    byte[] plain = concat(opBytes, rest);
                    Outcome locked = run(concat(bytes(0xf0), plain));
                    String what = String.format(Locale.ROOT, "lock %s%02x /%d %s", op >= 0x100 ? "0f " : "", op & 0xff, reg,
                            memForm ? "mem" : "reg");
                    if (memForm && lockableBySdm(op, reg)) {
                        lockable++;
                        Outcome unlocked = run(plain);
                        if (!locked.sameAs(unlocked, 1)) {
                            failures.add(what + ": lockable, but " + locked + " where without LOCK " + unlocked);
                        }
                    } else if (locked.vector() != Cpu.UD || locked.eip() != CODE) {
                        failures.add(what + ": want #UD at the prefix, got " + locked);
                    }
                }
            }
        }
        System.out.printf(Locale.ROOT, "LOCK matrix: %d cases, %d lockable forms, %d mismatches%n", cases, lockable,
                failures.size());
        // 14 ALU opcodes x 8 + 80-83 x 7 + XCHG 2 x 8 + NOT/NEG 4 + INC/DEC 4 + BTS/BTR/BTC 3 x 8 + 3 + CMPXCHG 16 + XADD 16 + CMPXCHG8B 1
        assertEquals(224, lockable, "lockable memory forms in the SDM table");
        assertTrue(failures.isEmpty(), () -> failures.size() + " mismatches:\n"
                + String.join("\n", failures.subList(0, Math.min(40, failures.size()))));
    }

    @Test
    void repeatedPrefixesChangeNothingAndSixteenBytesAreGp() {
        int[] prefixes = {0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf2, 0xf3};
        byte[][] insns = {
            bytes(0x90),                                                     // NOP
            bytes(0xb0, 0x7f),                                               // MOV AL, imm8
            bytes(0x8b, 0x05, MEMOP, MEMOP >>> 8, 0, 0),                     // MOV EAX, [disp32]
            bytes(0x81, 0x05, MEMOP, MEMOP >>> 8, 0, 0, 0x78, 0x56, 0x34, 0x12), // ADD dword [disp32], imm32
            bytes(0x0f, 0xc1, 0x0d, MEMOP, MEMOP >>> 8, 0, 0),               // XADD [disp32], ECX
        };
        // decoded length under 0x66 (imm32 becomes imm16) and 0x67 (ModRM 05/0D is [DI]: no displacement)
        int[][] decodedLength = {{1, 1}, {2, 2}, {6, 2}, {8, 6}, {7, 3}};
        List<String> failures = new ArrayList<>();
        int cases = 0;
        for (int p : prefixes) {
            for (int n = 0; n < insns.length; n++) {
                byte[] insn = insns[n];
                int length = p == 0x66 ? decodedLength[n][0] : p == 0x67 ? decodedLength[n][1] : insn.length;
                Outcome once = run(concat(bytes(p), insn));
                for (int k = 0; k <= 15; k++) {
                    cases++;
                    byte[] code = new byte[k + insn.length];
                    Arrays.fill(code, 0, k, (byte) p);
                    System.arraycopy(insn, 0, code, k, insn.length);
                    Outcome o = run(code);
                    String what = String.format(Locale.ROOT, "%d x %02x + %d-byte insn %02x", k, p, insn.length, insn[0] & 0xff);
                    if (k + length > 15) {
                        if (o.vector() != Cpu.GP || cpu.lastErrorCode() != 0 || o.eip() != CODE
                                || o.mem() != (0x89abcdefL | 0x01234567L << 32)) {
                            failures.add(what + " (" + (k + length) + " bytes): want #GP(0) at the first byte, got " + o);
                        }
                    } else if (k >= 1 && !o.sameAs(once, k - 1)) {
                        failures.add(what + ": " + o + " but with one prefix " + once);
                    }
                }
            }
        }
        System.out.printf(Locale.ROOT, "prefix repetition: %d cases, %d mismatches%n", cases, failures.size());
        assertTrue(failures.isEmpty(), () -> String.join("\n", failures.subList(0, Math.min(40, failures.size()))));
    }

    @Test
    void theLastOfConflictingRepPrefixesApplies() {
        // "aaaaXaaa" scanned for 'a' with ECX = 8, as run natively on the host (see the class comment)
        for (int order = 0; order < 2; order++) {
            byte[] code = order == 0 ? bytes(0xf3, 0xf2, 0xae) : bytes(0xf2, 0xf3, 0xae);
            load(CODE, concat(code, bytes(0xf4)));
            mem.write(0x4000, "aaaaXaaa".getBytes(java.nio.charset.StandardCharsets.US_ASCII), 0, 8);
            cpu.enterFlatProtectedMode32(0);
            cpu.setReg32(Cpu.ECX, 8);
            cpu.setReg32(Cpu.EDI, 0x4000);
            cpu.setReg32(Cpu.EAX, 'a');
            cpu.setEip(CODE);
            assertEquals(-1, cpu.runTest(100));
            assertEquals(order == 0 ? 7 : 3, reg(Cpu.ECX), order == 0 ? "F3 F2: REPNE applies" : "F2 F3: REPE applies");
        }
    }
}
