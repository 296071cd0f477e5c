package org.xenj.hypervisor.internal.cpu.diff;

import java.util.SplittableRandom;

/**
 * Beyond the issue's groups: general 32-bit addressing (ModRM/SIB with base, scaled index and
 * 8/32-bit displacements), data movement, exchange/compare-exchange, stack operations, flag
 * instructions and short control transfers — the everyday instructions a kernel runs most.
 */
final class MiscCases {

    private MiscCases() {
    }

    /**
     * Emits ModRM (+SIB, displacement) for a memory operand inside the data area and sets the
     * base/index registers of {@code c} so that the address lands at DATA_BASE + 0x100 .. 0x1c0.
     */
    static final class Addressing {
        int base = -1;
        int index = -1;
        int scale;
        int disp;
        int mod;
        int rm;

        static Addressing random(SplittableRandom r) {
            Addressing a = new Addressing();
            int[] regs = {0, 1, 2, 3, 5, 6, 7};
            a.base = regs[r.nextInt(regs.length)];
            boolean sib = r.nextInt(3) == 0;
            if (sib) {
                a.rm = 4;
                a.index = r.nextInt(4) == 0 ? -1 : regs[r.nextInt(regs.length)];
                if (a.index == a.base) {
                    a.index = -1;
                }
                a.scale = r.nextInt(4);
            } else {
                a.rm = a.base;
            }
            a.mod = r.nextInt(3);
            if (a.mod == 0 && a.base == 5) {
                a.mod = 1; // [EBP] needs a displacement
            }
            a.disp = a.mod == 1 ? r.nextInt(-64, 64) : a.mod == 2 ? r.nextInt(-0x80, 0x80) : 0;
            return a;
        }

        void emit(IntegerCases.Code code, int reg) {
            code.b(a(mod, reg, rm));
            if (rm == 4) {
                code.b(scale << 6 | (index < 0 ? 4 : index) << 3 | base);
            }
            if (mod == 1) {
                code.b(disp);
            } else if (mod == 2) {
                code.d(disp);
            }
        }

        private static int a(int mod, int reg, int rm) {
            return mod << 6 | reg << 3 | rm;
        }

        /** Sets base/index so that the effective address is DATA_BASE + target. */
        void apply(DiffCase c, SplittableRandom r, int target) {
            int indexPart = 0;
            if (index >= 0) {
                int iv = r.nextInt(0, 8);
                c.gpr[index] = iv;
                indexPart = iv << scale;
            }
            c.gpr[base] = DiffCase.DATA_BASE + target - disp - indexPart;
        }

        boolean uses(int reg) {
            return reg == base || reg == index;
        }
    }

    static DiffCase random(SplittableRandom r, int n) {
        IntegerCases.Code code = new IntegerCases.Code();
        Addressing a = Addressing.random(r);
        int k = r.nextInt(22);
        int reg = IntegerCases.regOperand(r);
        while (a.uses(reg) && k != 10) {
            reg = IntegerCases.regOperand(r);
        }
        int size = r.nextBoolean() ? 32 : 16;
        int flagsCompared = DiffCase.ARITH_FLAGS;
        String name;
        switch (k) {
            case 0 -> { // MOVZX/MOVSX r, r/m8 or r/m16
                int op = new int[] {0xB6, 0xB7, 0xBE, 0xBF}[r.nextInt(4)];
                IntegerCases.prefix(code, size);
                code.b(0x0F, op);
                a.emit(code, reg);
                name = String.format("movx %02x", op);
            }
            case 1 -> { // MOV r/m, r and MOV r, r/m
                IntegerCases.prefix(code, size);
                code.b(0x88 | r.nextInt(4));
                a.emit(code, reg);
                name = "mov";
            }
            case 2 -> { // MOV r/m, imm
                IntegerCases.prefix(code, size);
                boolean byteOp = r.nextBoolean();
                code.b(byteOp ? 0xC6 : 0xC7);
                a.emit(code, 0);
                code.imm(r.nextInt(), byteOp ? 8 : size);
                name = "mov imm";
            }
            case 3 -> { // XCHG r/m, r
                IntegerCases.prefix(code, size);
                code.b(0x86 | r.nextInt(2));
                a.emit(code, reg);
                name = "xchg";
            }
            case 4 -> { // XADD
                IntegerCases.prefix(code, size);
                code.b(0x0F, 0xC0 | r.nextInt(2));
                a.emit(code, reg);
                name = "xadd";
            }
            case 5 -> { // CMPXCHG
                IntegerCases.prefix(code, size);
                code.b(0x0F, 0xB0 | r.nextInt(2));
                a.emit(code, reg);
                name = "cmpxchg";
            }
            case 6 -> { // CMPXCHG8B m64
                code.b(0x0F, 0xC7);
                a.emit(code, 1);
                name = "cmpxchg8b";
            }
            case 7 -> { // BSWAP, CBW/CWDE, CWD/CDQ, LAHF, SAHF, CLC/STC/CMC/CLD/STD
                int[][] ops = {{0x0F, 0xC8 | reg}, {0x98}, {0x66, 0x98}, {0x99}, {0x66, 0x99}, {0x9F}, {0x9E}, {0xF8}, {0xF9},
                    {0xF5}, {0xFC}, {0xFD}, {0x90 | reg}};
                int[] op = ops[r.nextInt(ops.length)];
                code.b(op);
                name = "misc " + DiffCase.hex(code.bytes());
            }
            case 8 -> { // LEA
                IntegerCases.prefix(code, size);
                code.b(0x8D);
                a.emit(code, reg);
                name = "lea";
            }
            case 9 -> { // PUSH/POP r/m, imm, register
                int form = r.nextInt(5);
                switch (form) {
                    case 0 -> {
                        code.b(0xFF);
                        a.emit(code, 6);
                    }
                    case 1 -> {
                        code.b(0x8F);
                        a.emit(code, 0);
                    }
                    case 2 -> code.b(0x68).d(r.nextInt());
                    case 3 -> code.b(0x6A, r.nextInt(256));
                    default -> code.b(0x50 | reg, 0x58 | IntegerCases.regOperand(r));
                }
                name = "push/pop " + form;
            }
            case 10 -> { // PUSHA/POPA, ENTER/LEAVE
                int form = r.nextInt(4);
                switch (form) {
                    case 0 -> code.b(0x60);
                    case 1 -> code.b(0x60, 0x61);
                    case 2 -> code.b(0xC8, r.nextInt(0, 32), 0, r.nextInt(0, 4));
                    default -> code.b(0xC8, 8, 0, 0, 0xC9);
                }
                name = "stack " + form;
            }
            case 11 -> { // PUSHF/POPF round trip through a pushed value (TF, AC, NT, IF kept out)
                code.b(0x68).d(r.nextInt() & ~(0x100 | 0x40000 | 0x4000 | 0x200 | 0x10000)).b(0x9D, 0x9C, 0x58);
                name = "popf/pushf";
            }
            case 12 -> { // Jcc rel8 / rel32 over an INC EAX (FF C0: 0x40 is a REX prefix in long mode)
                int cc = r.nextInt(16);
                if (r.nextBoolean()) {
                    code.b(0x70 | cc, 2, 0xFF, 0xC0);
                } else {
                    code.b(0x0F, 0x80 | cc).d(2).b(0xFF, 0xC0);
                }
                name = String.format("jcc %x", cc);
            }
            case 13 -> { // LOOP/LOOPE/LOOPNE/JECXZ over an INC EAX
                code.b(0xE0 | r.nextInt(4), 2, 0xFF, 0xC0);
                name = "loop";
            }
            case 14 -> { // CALL/POP (return address), CALL/RET
                if (r.nextBoolean()) {
                    code.b(0xE8).d(0).b(0x58 | reg);
                } else {
                    code.b(0xE8).d(2).b(0xEB, 1).b(0xC3); // call over; the callee returns to the jmp
                }
                name = "call";
            }
            case 15 -> { // XLAT
                code.b(0xD7);
                name = "xlat";
            }
            case 16 -> { // MOV moffs
                int op = 0xA0 | r.nextInt(4);
                IntegerCases.prefix(code, size);
                code.b(op).d(DiffCase.DATA_BASE + 0x120 + r.nextInt(32));
                name = String.format("mov moffs %02x", op);
            }
            default -> { // x87 load/store through a general address (the CPU's ESC addressing)
                int[][] forms = {{0xD9, 0}, {0xDD, 0}, {0xDB, 0}, {0xDF, 5}, {0xDA, 0}, {0xD8, 1}, {0xDC, 4}, {0xDE, 6}};
                int[] f = forms[r.nextInt(forms.length)];
                code.b(0xD9, 0xE8); // FLD1 so that arithmetic has an operand
                code.b(f[0]);
                a.emit(code, f[1]);
                Addressing store = Addressing.random(r);
                while (store.uses(a.base) || store.uses(a.index) || a.uses(store.base) || a.uses(store.index)) {
                    store = Addressing.random(r);
                }
                code.b(0xDD);
                store.emit(code, 3); // FSTP m64
                DiffCase c = IntegerCases.base("misc", "x87 addressing " + DiffCase.hex(code.bytes()) + "#" + n, r, code.bytes());
                a.apply(c, r, 0x100 + r.nextInt(0x40));
                store.apply(c, r, 0x160 + r.nextInt(0x40));
                c.compareFpu = true;
                return c;
            }
        }
        DiffCase c = IntegerCases.base("misc", name + "#" + n, r, code.bytes());
        c.flagsCompared = flagsCompared;
        a.apply(c, r, 0x100 + r.nextInt(0xC0));
        if (k == 15) {
            c.gpr[3] = DiffCase.DATA_BASE + 0x100; // XLAT table at EBX
        }
        if (k == 10) {
            c.gpr[5] = DiffCase.DATA_BASE + 0x1c0; // ENTER with nesting reads the outer frames at EBP
        }
        return c;
    }
}
