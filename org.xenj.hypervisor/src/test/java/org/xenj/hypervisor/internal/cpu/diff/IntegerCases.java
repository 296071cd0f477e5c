package org.xenj.hypervisor.internal.cpu.diff;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Integer-core cases per group: hand-written edge cases plus a seeded random generator. Each case is
 * one instruction (or a short fixed sequence) on a random register/flag state; the flags the SDM
 * leaves undefined for that instruction and operand values are excluded from the comparison.
 */
final class IntegerCases {

    static final int CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, DF = 0x400, OF = 0x800;
    static final int STATUS = CF | PF | AF | ZF | SF | OF;
    /** Memory operand area (absolute disp32 operands point here). */
    static final int MEM = DiffCase.DATA_BASE + 0x80;

    private IntegerCases() {
    }

    static List<DiffCase> all(long seed, int perGroup) {
        SplittableRandom r = new SplittableRandom(seed);
        List<DiffCase> cases = new ArrayList<>();
        for (int i = 0; i < perGroup; i++) {
            cases.add(alu(r, i));
            cases.add(shift(r, i));
            cases.add(mulDiv(r, i));
            cases.add(bcd(r, i));
            cases.add(string(r, i));
            cases.add(bitOp(r, i));
            cases.add(setccCmov(r, i));
            cases.add(MiscCases.random(r, i));
            cases.add(lock(r, i));
        }
        cases.addAll(SegmentCases.all(r, perGroup));
        return cases;
    }

    // ------------------------------------------------------------------ building blocks

    static final class Code {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Code b(int... bytes) {
            for (int x : bytes) {
                out.write(x);
            }
            return this;
        }

        Code d(int v) {
            return b(v, v >>> 8, v >>> 16, v >>> 24);
        }

        Code imm(int v, int size) {
            b(v);
            if (size >= 16) {
                b(v >>> 8);
            }
            if (size == 32) {
                b(v >>> 16, v >>> 24);
            }
            return this;
        }

        /** ModRM: register operand rm, or (rm &lt; 0) the absolute memory operand at {@code addr}. */
        Code modrm(int reg, int rm, int addr) {
            if (rm >= 0) {
                return b(0xC0 | reg << 3 | rm);
            }
            return b(reg << 3 | 5).d(addr);
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }

    static int interesting(SplittableRandom r) {
        return switch (r.nextInt(12)) {
            case 0 -> 0;
            case 1 -> 1;
            case 2 -> -1;
            case 3 -> 0x7fffffff;
            case 4 -> 0x80000000;
            case 5 -> 0x7f + r.nextInt(3) - 1;
            case 6 -> 0x7fff + r.nextInt(3) - 1;
            case 7 -> r.nextInt(256);
            case 8 -> r.nextInt(-100, 100);
            default -> r.nextInt();
        };
    }

    /** A case with random registers (ESP inside the data area), random status flags and data. */
    static DiffCase base(String group, String name, SplittableRandom r, byte[] code) {
        DiffCase c = new DiffCase(group, name, code);
        for (int i = 0; i < 8; i++) {
            c.gpr[i] = interesting(r);
        }
        c.gpr[4] = DiffCase.DATA_BASE + 0x180;
        c.eflags = 0x202 | r.nextInt(0x1000) & STATUS;
        c.data = new byte[0x200];
        for (int i = 0; i < c.data.length; i++) {
            c.data[i] = (byte) (r.nextInt(4) == 0 ? 0 : r.nextInt(256));
        }
        c.compareFpu = false;
        return c;
    }

    static void prefix(Code code, int size) {
        if (size == 16) {
            code.b(0x66);
        }
    }

    /** Register or memory for r/m: -1 = memory. ESP (4) avoided as a destination. */
    static int rmOperand(SplittableRandom r) {
        if (r.nextInt(3) == 0) {
            return -1;
        }
        int rm = r.nextInt(7);
        return rm >= 4 ? rm + 1 : rm;
    }

    static int regOperand(SplittableRandom r) {
        int reg = r.nextInt(7);
        return reg >= 4 ? reg + 1 : reg;
    }

    static int size(SplittableRandom r) {
        return new int[] {8, 16, 32}[r.nextInt(3)];
    }

    // ------------------------------------------------------------------ groups

    static DiffCase alu(SplittableRandom r, int n) {
        Code code = new Code();
        int size = size(r);
        int op = r.nextInt(8); // ADD OR ADC SBB AND SUB XOR CMP
        int kind = r.nextInt(6);
        int w = size == 8 ? 0 : 1;
        int rm = rmOperand(r);
        prefix(code, size);
        boolean logic = op == 1 || op == 4 || op == 6;
        String what;
        switch (kind) {
            case 0 -> {
                code.b(op << 3 | w).modrm(regOperand(r), rm, MEM);
                what = "op r/m,r";
            }
            case 1 -> {
                code.b(op << 3 | 2 | w).modrm(regOperand(r), rm, MEM);
                what = "op r,r/m";
            }
            case 2 -> {
                code.b(op << 3 | 4 | w).imm(interesting(r), size);
                what = "op acc,imm";
            }
            case 3 -> {
                boolean sx = size != 8 && r.nextBoolean();
                code.b(size == 8 ? 0x80 : sx ? 0x83 : 0x81).modrm(op, rm, MEM).imm(interesting(r), sx ? 8 : size);
                what = "grp1 imm";
            }
            case 4 -> { // INC DEC NOT NEG
                int u = r.nextInt(4);
                logic = false;
                if (u < 2) {
                    code.b(size == 8 ? 0xFE : 0xFF).modrm(u, rm, MEM);
                } else {
                    code.b(size == 8 ? 0xF6 : 0xF7).modrm(u, rm, MEM);
                }
                what = new String[] {"inc", "dec", "not", "neg"}[u];
            }
            default -> { // TEST
                logic = true;
                if (r.nextBoolean()) {
                    code.b(0x84 | w).modrm(regOperand(r), rm, MEM);
                } else {
                    code.b(size == 8 ? 0xF6 : 0xF7).modrm(0, rm, MEM).imm(interesting(r), size);
                }
                what = "test";
            }
        }
        DiffCase c = base("alu", what + "/" + size + "#" + n, r, code.bytes());
        if (logic) {
            c.flagsCompared &= ~AF;
        }
        return c;
    }

    /**
     * LOCK (Intel SDM vol. 2B "LOCK—Assert LOCK# Signal Prefix"): the lockable read-modify-writes
     * with a memory destination run as without it; their register forms, the r,r/m forms, CMP, TEST,
     * BT, MOV and NOP raise #UD. The host CPU answers natively (LOCK means the same in long mode).
     */
    static DiffCase lock(SplittableRandom r, int n) {
        Code code = new Code();
        int kind = r.nextInt(9);
        boolean bits = kind == 5 || kind == 6;
        int size = bits ? (r.nextBoolean() ? 16 : 32) : size(r);
        int w = size == 8 ? 0 : 1;
        int rm = r.nextBoolean() ? -1 : regOperand(r);
        int reg = regOperand(r);
        if (r.nextBoolean()) {
            prefix(code, size);
            code.b(0xF0);
        } else {
            code.b(0xF0);
            prefix(code, size); // prefix order is free (SDM vol. 2A §2.1.1)
        }
        int flags = DiffCase.ARITH_FLAGS;
        String what;
        switch (kind) {
            case 0 -> {
                int op = r.nextInt(8);
                code.b(op << 3 | w).modrm(reg, rm, MEM);
                what = "alu r/m,r " + op;
                if (op == 1 || op == 4 || op == 6) {
                    flags &= ~AF;
                }
            }
            case 1 -> {
                code.b(r.nextInt(8) << 3 | 2 | w).modrm(reg, rm, MEM);
                what = "alu r,r/m";
            }
            case 2 -> {
                int op = r.nextInt(8);
                code.b(size == 8 ? 0x80 : 0x81).modrm(op, rm, MEM).imm(interesting(r), size);
                what = "grp1 " + op;
                if (op == 1 || op == 4 || op == 6) {
                    flags &= ~AF;
                }
            }
            case 3 -> {
                int u = r.nextInt(5); // INC DEC NOT NEG, TEST (#UD)
                if (u < 2) {
                    code.b(size == 8 ? 0xFE : 0xFF).modrm(u, rm, MEM);
                } else if (u < 4) {
                    code.b(size == 8 ? 0xF6 : 0xF7).modrm(u, rm, MEM);
                } else {
                    code.b(size == 8 ? 0xF6 : 0xF7).modrm(0, rm, MEM).imm(interesting(r), size);
                    flags &= ~AF;
                }
                what = new String[] {"inc", "dec", "not", "neg", "test"}[u];
            }
            case 4 -> {
                code.b(0x86 | w).modrm(reg, rm, MEM);
                what = "xchg";
            }
            case 5 -> {
                int u = r.nextInt(4); // BT (#UD) BTS BTR BTC
                code.b(0x0F, 0xA3 | u << 3).modrm(reg, rm, MEM);
                what = "bt r " + u;
                flags = CF;
            }
            case 6 -> {
                int u = 4 + r.nextInt(4);
                code.b(0x0F, 0xBA).modrm(u, rm, MEM).b(r.nextInt(256));
                what = "bt imm " + u;
                flags = CF;
            }
            case 7 -> {
                boolean xadd = r.nextBoolean();
                code.b(0x0F, (xadd ? 0xC0 : 0xB0) | w).modrm(reg, rm, MEM);
                what = xadd ? "xadd" : "cmpxchg";
            }
            default -> {
                if (r.nextBoolean()) {
                    code.b(0x88 | w).modrm(reg, rm, MEM);
                    what = "mov";
                } else {
                    code.b(0x90);
                    what = "nop";
                }
            }
        }
        DiffCase c = base("lock", what + "/" + size + "#" + n, r, code.bytes());
        if (bits) {
            c.gpr[reg] = r.nextInt(-0x200, 0x200); // keeps the addressed bit inside the data area
        }
        c.flagsCompared = flags;
        return c;
    }

    static DiffCase shift(SplittableRandom r, int n) {
        Code code = new Code();
        boolean dbl = r.nextInt(4) == 0;
        int size = dbl ? (r.nextBoolean() ? 16 : 32) : size(r);
        int rm = rmOperand(r);
        int count = r.nextInt(5) == 0 ? r.nextInt(256) : r.nextInt(0, 34);
        int form = r.nextInt(3); // imm, 1, CL
        if (!dbl && form == 1) {
            count = 1;
        }
        int op = r.nextInt(8);
        prefix(code, size);
        if (dbl) {
            boolean right = r.nextBoolean();
            if (size == 16 && (count & 31) > 16) {
                count = 16; // results are undefined for 16-bit counts above 16
            }
            code.b(0x0F, (right ? 0xAC : 0xA4) | (form == 0 ? 0 : 1)).modrm(regOperand(r), rm, MEM);
            if (form == 0) {
                code.b(count);
            }
        } else if (form == 0) {
            code.b(size == 8 ? 0xC0 : 0xC1).modrm(op, rm, MEM).b(count);
        } else if (form == 1) {
            code.b(size == 8 ? 0xD0 : 0xD1).modrm(op, rm, MEM);
        } else {
            code.b(size == 8 ? 0xD2 : 0xD3).modrm(op, rm, MEM);
        }
        String name = (dbl ? "shxd" : new String[] {"rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar"}[op]) + "/" + size
                + " count=" + count + "#" + n;
        DiffCase c = base("shift", name, r, code.bytes());
        if (dbl || form == 2) {
            c.gpr[1] = c.gpr[1] & ~0xff | count & 0xff; // CL (also an operand sometimes: read first)
        }
        int mc = count & 31;
        if (mc != 0) {
            boolean rotate = !dbl && op < 4;
            if (!rotate) {
                c.flagsCompared &= ~AF;
            }
            if (mc != 1) {
                c.flagsCompared &= ~OF;
            }
            if (!rotate && !dbl && mc >= size) {
                c.flagsCompared &= ~CF;
            }
        }
        return c;
    }

    static DiffCase mulDiv(SplittableRandom r, int n) {
        Code code = new Code();
        int size = size(r);
        int rm = rmOperand(r);
        int kind = r.nextInt(7);
        boolean div = false;
        String name;
        if (kind < 4) {
            prefix(code, size);
            code.b(size == 8 ? 0xF6 : 0xF7).modrm(4 + kind, rm, MEM);
            div = kind >= 2;
            name = new String[] {"mul", "imul", "div", "idiv"}[kind];
        } else {
            size = r.nextBoolean() ? 16 : 32;
            prefix(code, size);
            if (kind == 4) {
                code.b(0x0F, 0xAF).modrm(regOperand(r), rm, MEM);
            } else if (kind == 5) {
                code.b(0x69).modrm(regOperand(r), rm, MEM).imm(interesting(r), size);
            } else {
                code.b(0x6B).modrm(regOperand(r), rm, MEM).b(interesting(r));
            }
            name = "imul" + (kind - 2);
        }
        DiffCase c = base("muldiv", name + "/" + size + "#" + n, r, code.bytes());
        if (div) {
            c.flagsCompared &= ~STATUS;
            // make most divisions succeed: a small high half of the dividend, nonzero divisors mostly
            if (r.nextInt(4) != 0) {
                c.gpr[2] = r.nextInt(4) - 2; // EDX
                c.gpr[0] = c.gpr[0] & ~0xff00 | (r.nextInt(3) - 1) << 8 & 0xff00;
            }
        } else {
            c.flagsCompared &= ~(SF | ZF | AF | PF);
        }
        return c;
    }

    static DiffCase bcd(SplittableRandom r, int n) {
        int k = r.nextInt(6);
        Code code = new Code();
        int imm = r.nextInt(8) == 0 ? 0 : r.nextInt(3) == 0 ? r.nextInt(256) : 10;
        switch (k) {
            case 0 -> code.b(0x27);
            case 1 -> code.b(0x2F);
            case 2 -> code.b(0x37);
            case 3 -> code.b(0x3F);
            case 4 -> code.b(0xD4, imm);
            default -> code.b(0xD5, imm);
        }
        DiffCase c = base("bcd", new String[] {"daa", "das", "aaa", "aas", "aam", "aad"}[k] + "#" + n, r, code.bytes());
        c.flagsCompared &= switch (k) {
            case 0, 1 -> ~OF;
            case 2, 3 -> ~(OF | SF | ZF | PF);
            default -> ~(OF | AF | CF);
        };
        return c;
    }

    static DiffCase string(SplittableRandom r, int n) {
        Code code = new Code();
        int op = 0xA4 + r.nextInt(12);
        while (op == 0xA8 || op == 0xA9) {
            op = 0xA4 + r.nextInt(12);
        }
        int rep = r.nextInt(3); // none, F3, F2
        boolean word = r.nextInt(3) == 0;
        if (rep == 1) {
            code.b(0xF3);
        } else if (rep == 2) {
            code.b(0xF2);
        }
        if (word && (op & 1) == 1) {
            code.b(0x66);
        }
        code.b(op);
        String name = String.format("%s%02x/%s", rep == 0 ? "" : rep == 1 ? "rep " : "repne ", op, word ? "16" : "");
        DiffCase c = base("string", name + "#" + n, r, code.bytes());
        c.data = new byte[0x400];
        for (int i = 0; i < c.data.length; i++) {
            c.data[i] = (byte) r.nextInt(4);
        }
        System.arraycopy(c.data, 0x180, c.data, 0x280, r.nextInt(0x40)); // equal runs for CMPS
        boolean down = r.nextBoolean();
        c.eflags = c.eflags & ~DF | (down ? DF : 0);
        c.gpr[6] = DiffCase.DATA_BASE + 0x180 + r.nextInt(0x40); // ESI
        c.gpr[7] = DiffCase.DATA_BASE + 0x280 + r.nextInt(0x40); // EDI
        c.gpr[1] = r.nextInt(5) == 0 ? 0 : r.nextInt(1, 40); // ECX
        c.gpr[0] = r.nextBoolean() ? c.data[c.gpr[7] - DiffCase.DATA_BASE] & 0xff : r.nextInt(4); // AL often matches
        return c;
    }

    static DiffCase bitOp(SplittableRandom r, int n) {
        Code code = new Code();
        int size = r.nextBoolean() ? 16 : 32;
        int kind = r.nextInt(4);
        int rm = rmOperand(r);
        prefix(code, size);
        String name;
        DiffCase c;
        if (kind == 0) { // BT/BTS/BTR/BTC r/m, reg
            int op = r.nextInt(4);
            int reg = regOperand(r);
            code.b(0x0F, 0xA3 | op << 3).modrm(reg, rm, MEM + 0x40);
            name = new String[] {"bt", "bts", "btr", "btc"}[op] + " reg";
            c = base("bitops", name + "/" + size + "#" + n, r, code.bytes());
            if (rm < 0) {
                c.gpr[reg] = r.nextInt(-0x200, 0x200); // keeps the addressed byte inside the data area
            }
        } else if (kind == 1) { // BT* r/m, imm8
            int op = r.nextInt(4);
            code.b(0x0F, 0xBA).modrm(4 + op, rm, MEM + 0x40).b(r.nextInt(256));
            name = new String[] {"bt", "bts", "btr", "btc"}[op] + " imm";
            c = base("bitops", name + "/" + size + "#" + n, r, code.bytes());
        } else { // BSF / BSR
            int reg = regOperand(r);
            code.b(0x0F, kind == 2 ? 0xBC : 0xBD).modrm(reg, rm, MEM + 0x40);
            name = kind == 2 ? "bsf" : "bsr";
            c = base("bitops", name + "/" + size + "#" + n, r, code.bytes());
            c.flagsCompared &= ~(CF | OF | SF | AF | PF);
            return c;
        }
        c.flagsCompared &= ~(OF | SF | AF | PF);
        return c;
    }

    static DiffCase setccCmov(SplittableRandom r, int n) {
        Code code = new Code();
        int cc = r.nextInt(16);
        int rm = rmOperand(r);
        String name;
        if (r.nextBoolean()) {
            code.b(0x0F, 0x90 | cc).modrm(0, rm, MEM);
            name = "setcc";
        } else {
            int size = r.nextBoolean() ? 16 : 32;
            prefix(code, size);
            code.b(0x0F, 0x40 | cc).modrm(regOperand(r), rm, MEM);
            name = "cmovcc/" + size;
        }
        return base("setcc-cmov", String.format("%s cc=%x#%d", name, cc, n), r, code.bytes());
    }
}
