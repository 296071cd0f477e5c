package org.xenj.hypervisor.internal.cpu.diff;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * x87 cases: hand-written sequences for each instruction family plus a seeded random generator
 * that draws machine states (control word, TOP, tags, register values rich in special values)
 * and short instruction sequences over all D8..DF encodings.
 */
final class X87Cases {

    // data-area layout of the memory operands (offsets from DATA_BASE)
    static final int M32A = 0x00, M32B = 0x04, M64A = 0x08, M64B = 0x10, M16A = 0x18, M16B = 0x1A;
    static final int I32A = 0x1C, I32B = 0x20, I64A = 0x28, M80A = 0x30, M80B = 0x40, BCD = 0x50, OUT = 0x60;
    static final int ENV = 0x70;
    static final int CW_SLOT = 0x24;

    /** Interesting 80-bit values: {significand, sign/exponent}. */
    static final long[][] SPECIALS = {
        {0x8000_0000_0000_0000L, 0x3fff}, {0xA000_0000_0000_0000L, 0xc000}, {0xC90F_DAA2_2168_C235L, 0x4000},
        {0xAAAA_AAAA_AAAA_AAABL, 0x3ffd}, {0xFFFF_FFFF_FFFF_FFFFL, 0x7ffe}, {0x8000_0000_0000_0000L, 0x0001},
        {0x0000_0000_0000_0001L, 0x0000}, {0x4000_0000_0000_0000L, 0x8000}, {0, 0}, {0, 0x8000},
        {0x8000_0000_0000_0000L, 0x7fff}, {0x8000_0000_0000_0000L, 0xffff}, {0xC000_0000_0000_0000L, 0xffff},
        {0xC123_4567_89AB_CDEFL, 0x7fff}, {0xA000_0000_0000_0001L, 0x7fff}, {0xFFFF_FFFF_FFFF_FFFFL, 0x3fff},
        {0x8000_0000_0000_0001L, 0x3fff}, {0xB504_F333_F9DE_6484L, 0x3fff}, {0xC000_0000_0000_0000L, 0x4005},
        {0x8000_0000_0000_0000L, 0x403e}, {0xFFFF_FFFF_FFFF_FFFFL, 0x403d}, {0x8000_0000_0000_0000L, 0x3ffe},
        {0x8000_0000_0000_0000L, 0x3c01}, {0x8000_0000_0000_0000L, 0x43fe}, {0xFFFF_FF80_0000_0000L, 0x407e},
        {0x8000_0000_0000_0000L, 0x3f81}, {0x8000_0000_0000_0000L, 0x3f6a}, {0x4000_0000_0000_0000L, 0x3fff},
        {0x8000_0000_0000_0000L, 0x0000}, {0xDE0B_6B3A_7640_0000L, 0x403a},
    };

    static final int[] M32_SPECIALS = {0x3f800000, 0xbf800000, 0x00000001, 0x80400000, 0x7f800000, 0xff800000,
        0x7fc00000, 0x7fa00001, 0x7f7fffff, 0, 0x80000000, 0x40490fdb, 0x3eaaaaab, 0x4b000001};
    static final long[] M64_SPECIALS = {0x3ff0000000000000L, 0xbff8000000000000L, 1L, 0x8008000000000000L,
        0x7ff0000000000000L, 0xfff0000000000000L, 0x7ff8000000000000L, 0x7ff4000000000001L, 0x7fefffffffffffffL,
        0L, 0x8000000000000000L, 0x400921fb54442d18L, 0x3fd5555555555555L, 0x4330000000000001L};

    private X87Cases() {
    }

    // ------------------------------------------------------------------ encodings

    static byte[] mem(int op, int reg, int off) {
        int a = DiffCase.DATA_BASE + off;
        return DiffCase.bytes(op, reg << 3 | 5, a, a >>> 8, a >>> 16, a >>> 24);
    }

    static byte[] regOp(int op, int modrm) {
        return DiffCase.bytes(op, modrm);
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            o.writeBytes(p);
        }
        return o.toByteArray();
    }

    /** D9 F0+i opcodes whose results come from the double-based implementation. */
    static boolean isTranscendental(int op, int modrm) {
        return op == 0xD9 && (modrm == 0xF0 || modrm == 0xF1 || modrm == 0xF2 || modrm == 0xF3 || modrm == 0xF9
                || modrm == 0xFB || modrm == 0xFE || modrm == 0xFF);
    }

    /** One random instruction (not transcendental); memory operands at the fixed slots. */
    static byte[] randomInstruction(SplittableRandom r) {
        int op = 0xD8 + r.nextInt(8);
        if (r.nextInt(3) == 0) { // memory form
            int reg = r.nextInt(8);
            switch (op) {
                case 0xD8:
                    return mem(op, reg, r.nextBoolean() ? M32A : M32B);
                case 0xDC:
                    return mem(op, reg, r.nextBoolean() ? M64A : M64B);
                case 0xDA:
                    return mem(op, reg, r.nextBoolean() ? I32A : I32B);
                case 0xDE:
                    return mem(op, reg, r.nextBoolean() ? M16A : M16B);
                case 0xD9:
                    switch (reg) {
                        case 0: return mem(op, 0, r.nextBoolean() ? M32A : M32B);
                        case 1: return mem(op, 0, M32A);
                        case 4: return r.nextBoolean() ? concat(mem(op, 6, ENV), mem(op, 4, ENV)) : mem(op, 4, ENV);
                        case 5: return mem(op, 5, CW_SLOT);
                        default: return mem(op, reg, reg == 6 ? ENV : OUT);
                    }
                case 0xDB:
                    switch (reg) {
                        case 0: return mem(op, 0, r.nextBoolean() ? I32A : I32B);
                        case 5: return mem(op, 5, r.nextBoolean() ? M80A : M80B);
                        case 4: case 6: return mem(op, 0, I32A);
                        default: return mem(op, reg, OUT);
                    }
                case 0xDD:
                    switch (reg) {
                        case 0: return mem(op, 0, r.nextBoolean() ? M64A : M64B);
                        case 4: return concat(mem(op, 6, ENV), mem(op, 4, ENV));
                        case 5: return mem(op, 0, M64A);
                        case 6: return mem(op, 6, ENV);
                        default: return mem(op, reg, OUT);
                    }
                default: // DF
                    switch (reg) {
                        case 0: return mem(op, 0, r.nextBoolean() ? M16A : M16B);
                        case 4: return mem(op, 4, BCD);
                        case 5: return mem(op, 5, I64A);
                        default: return mem(op, reg, OUT);
                    }
            }
        }
        int modrm;
        do {
            modrm = 0xC0 + r.nextInt(64);
        } while (isTranscendental(op, modrm) || !defined(op, modrm) && r.nextInt(8) != 0);
        return regOp(op, modrm);
    }

    /** Register-form encodings that exist (the others raise #UD). */
    static boolean defined(int op, int modrm) {
        int reg = modrm >>> 3 & 7;
        switch (op) {
            case 0xD9:
                return reg < 2 || reg == 3 || modrm == 0xD0 || reg == 4 && (modrm & 7) != 2 && (modrm & 7) != 3
                        && (modrm & 7) < 6 || reg == 5 && modrm != 0xEF || reg >= 6;
            case 0xDA:
                return reg < 4 || modrm == 0xE9;
            case 0xDB:
                return reg < 4 || reg == 5 || reg == 6 || modrm >= 0xE0 && modrm <= 0xE4;
            case 0xDD:
                return reg != 6 && reg != 7;
            case 0xDE:
                return reg != 3 || modrm == 0xD9;
            case 0xDF:
                return reg < 4 || modrm == 0xE0 || reg == 5 || reg == 6;
            default:
                return true;
        }
    }

    // ------------------------------------------------------------------ states

    static long[] randomValue(SplittableRandom r) {
        int k = r.nextInt(10);
        if (k < 3) {
            return SPECIALS[r.nextInt(SPECIALS.length)].clone();
        }
        int sign = r.nextBoolean() ? 0x8000 : 0;
        if (k < 5) { // small integers
            long v = r.nextInt(1, 1000);
            int lz = Long.numberOfLeadingZeros(v);
            return new long[] {v << lz, sign | (16383 + 63 - lz)};
        }
        int exp = k < 9 ? 16383 + r.nextInt(-70, 71) : r.nextInt(1, 0x7fff);
        return new long[] {r.nextLong() | 0x8000_0000_0000_0000L, sign | exp};
    }

    static void randomState(DiffCase c, SplittableRandom r) {
        int pc = new int[] {0, 2, 3, 3, 1}[r.nextInt(r.nextInt(20) == 0 ? 5 : 4)];
        int masks = r.nextInt(5) == 0 ? r.nextInt(64) : 0x3f;
        int cw = 0x0040 | masks | pc << 8 | r.nextInt(4) << 10;
        int top = r.nextInt(8);
        int tags = 0;
        long[] sigs = new long[8];
        int[] ses = new int[8];
        for (int i = 0; i < 8; i++) {
            long[] v = randomValue(r);
            sigs[i] = v[0];
            ses[i] = (int) v[1];
            int phys = (top + i) & 7;
            if (r.nextInt(10) < 3) {
                tags |= 3 << (2 * phys);
            }
        }
        FpuImage.set(c.fpu, cw, top, tags, sigs, ses);
        ByteBuffer d = ByteBuffer.wrap(c.data).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < c.data.length; i++) {
            c.data[i] = (byte) r.nextInt(256);
        }
        d.putInt(M32A, r.nextBoolean() ? M32_SPECIALS[r.nextInt(M32_SPECIALS.length)] : Float.floatToRawIntBits(
                (float) (r.nextDouble(-100, 100) * Math.pow(2, r.nextInt(-20, 20)))));
        d.putLong(M64A, r.nextBoolean() ? M64_SPECIALS[r.nextInt(M64_SPECIALS.length)] : Double.doubleToRawLongBits(
                r.nextDouble(-100, 100) * Math.pow(2, r.nextInt(-40, 40))));
        d.putShort(M16A, (short) (r.nextBoolean() ? r.nextInt(-100, 100) : r.nextInt()));
        d.putInt(I32A, r.nextBoolean() ? r.nextInt(-1000, 1000) : r.nextInt());
        long[] v80 = randomValue(r);
        d.putLong(M80A, v80[0]).putShort(M80A + 8, (short) v80[1]);
        long bcd = 0;
        for (int i = 0; i < 16; i++) {
            bcd |= (long) r.nextInt(10) << (4 * i);
        }
        d.putLong(BCD, bcd).putShort(BCD + 8, (short) ((r.nextBoolean() ? 0x8000 : 0) | r.nextInt(10) << 4 | r.nextInt(10)));
        d.putShort(CW_SLOT, (short) (r.nextInt(10) == 0 ? r.nextInt(0x10000)
                : 0x0040 | (r.nextInt(4) == 0 ? r.nextInt(64) : 0x3f) | new int[] {0, 2, 3}[r.nextInt(3)] << 8 | r.nextInt(4) << 10));
        c.eflags = 0x202 | (r.nextBoolean() ? 1 : 0) | (r.nextBoolean() ? 0x40 : 0) | (r.nextBoolean() ? 4 : 0);
    }

    // ------------------------------------------------------------------ case lists

    static List<DiffCase> random(long seed, int count) {
        SplittableRandom r = new SplittableRandom(seed);
        List<DiffCase> cases = new ArrayList<>();
        for (int n = 0; n < count; n++) {
            DiffCase c;
            if (r.nextInt(6) == 0) {
                int modrm = new int[] {0xF0, 0xF1, 0xF2, 0xF3, 0xF9, 0xFB, 0xFE, 0xFF}[r.nextInt(8)];
                c = new DiffCase("x87", "random-transcendental#" + n, regOp(0xD9, modrm));
                c.approximateFpu = true;
                c.statusIgnored = 0x200; // C1 reflects the last-bit rounding direction
                randomState(c, r);
                inTranscendentalDomain(c, modrm, r);
                cases.add(c);
                continue;
            } else {
                int len = 1 + r.nextInt(4);
                byte[][] parts = new byte[len][];
                for (int i = 0; i < len; i++) {
                    parts[i] = randomInstruction(r);
                }
                c = new DiffCase("x87", "random#" + n, concat(parts));
            }
            randomState(c, r);
            cases.add(c);
        }
        return cases;
    }

    /**
     * Puts ST0 (and ST1) where the hardware's results are defined and its argument reduction is
     * accurate: |x| <= 1 for F2XM1, |x| < 2^10 for the trigonometric functions, x > 0 for FYL2X,
     * |x| < 0.29 for FYL2XP1.
     */
    static void inTranscendentalDomain(DiffCase c, int modrm, SplittableRandom r) {
        double x = switch (modrm) {
            case 0xF0 -> r.nextDouble(-1, 1);
            case 0xF1 -> Math.scalb(r.nextDouble(0.5, 1), r.nextInt(-200, 200));
            case 0xF9 -> r.nextDouble(-0.29, 0.29);
            case 0xF3 -> r.nextDouble(-1000, 1000);
            default -> r.nextInt(3) == 0
                    ? (r.nextInt(-2000, 2000) * 0.5 * Math.PI) * (1 + r.nextDouble(-1e-9, 1e-9)) // near zeros and poles
                    : r.nextDouble(-1000, 1000) / (1 << r.nextInt(12));
        };
        long bits = Double.doubleToRawLongBits(x);
        long sig = (bits << 11) | 0x8000_0000_0000_0000L | r.nextInt(2048);
        int se = (int) (bits >>> 52 & 0x7ff) - 1023 + 16383 | (x < 0 ? 0x8000 : 0);
        java.nio.ByteBuffer b = FpuImage.le(c.fpu);
        b.putLong(28, sig).putShort(36, (short) se);
        int top = FpuImage.sw(c.fpu) >>> 11 & 7;
        int tags = FpuImage.tw(c.fpu) & ~(3 << (2 * top)) & ~(3 << (2 * ((top + 1) & 7)));
        b.putShort(8, (short) tags);
    }

    /**
     * FXSAVE of a random state (the image compared except what differs by design: FOP/FIP/FCS/FDP/FDS,
     * which AMD stores only with an exception pending, MXCSR_MASK, and the XMM/reserved area), and
     * FXRSTOR of a random image followed by the usual FNSAVE comparison. Only for the CPU harness.
     */
    static List<DiffCase> fxsave(long seed, int count) {
        SplittableRandom r = new SplittableRandom(seed);
        List<DiffCase> cases = new ArrayList<>();
        int area = DiffCase.DATA_BASE + 0x200;
        byte[] fxsave = {0x0F, (byte) 0xAE, 0x05, 0, 0x02, 0, 0x20};
        byte[] fxrstor = {0x0F, (byte) 0xAE, 0x0D, 0, 0x02, 0, 0x20};
        for (int n = 0; n < count; n++) {
            boolean restore = r.nextBoolean();
            DiffCase c = new DiffCase("x87", (restore ? "fxrstor#" : "fxsave#") + n, restore ? fxrstor : fxsave);
            randomState(c, r);
            byte[] d = new byte[0x400];
            System.arraycopy(c.data, 0, d, 0, c.data.length);
            c.data = d;
            ByteBuffer b = ByteBuffer.wrap(d).order(ByteOrder.LITTLE_ENDIAN);
            if (restore) {
                b.putShort(0x200, (short) (0x0040 | r.nextInt(64) | new int[] {0, 2, 3}[r.nextInt(3)] << 8 | r.nextInt(4) << 10));
                b.putShort(0x202, (short) (r.nextInt(8) << 11 | r.nextInt(0x80) & 0x7f | r.nextInt(16) << 8 & 0x4700));
                b.put(0x204, (byte) r.nextInt(256));
                b.putInt(0x218, 0x1F80);
                for (int i = 0; i < 8; i++) {
                    long[] v = randomValue(r);
                    b.putLong(0x220 + 16 * i, v[0]).putShort(0x228 + 16 * i, (short) v[1]);
                }
            }
            if (restore) {
                c.ignoreData(0x200, 0x400); // the image is only read
            } else {
                c.ignoreData(0x206, 0x218); // FOP, FIP, FCS, FDP, FDS (AMD: only with an exception pending)
                c.ignoreData(0x21C, 0x220); // MXCSR_MASK (host SSE features)
                c.ignoreData(0x2A0, 0x400); // XMM registers and the reserved area
            }
            cases.add(c);
        }
        return cases;
    }

    /** Hand-written cases: one per family, on a simple stack (ST0=1.5, ST1=-3.25 or as noted). */
    static List<DiffCase> handWritten() {
        List<DiffCase> cases = new ArrayList<>();
        int[][] regForms = {
            {0xD8, 0xC1}, {0xD8, 0xC9}, {0xD8, 0xD1}, {0xD8, 0xD9}, {0xD8, 0xE1}, {0xD8, 0xE9}, {0xD8, 0xF1}, {0xD8, 0xF9},
            {0xDC, 0xC1}, {0xDC, 0xC9}, {0xDC, 0xE1}, {0xDC, 0xE9}, {0xDC, 0xF1}, {0xDC, 0xF9},
            {0xDE, 0xC1}, {0xDE, 0xC9}, {0xDE, 0xD9}, {0xDE, 0xE1}, {0xDE, 0xE9}, {0xDE, 0xF1}, {0xDE, 0xF9},
            {0xD9, 0xC1}, {0xD9, 0xC9}, {0xD9, 0xD0}, {0xD9, 0xE0}, {0xD9, 0xE1}, {0xD9, 0xE4}, {0xD9, 0xE5},
            {0xD9, 0xE8}, {0xD9, 0xE9}, {0xD9, 0xEA}, {0xD9, 0xEB}, {0xD9, 0xEC}, {0xD9, 0xED}, {0xD9, 0xEE},
            {0xD9, 0xF4}, {0xD9, 0xF5}, {0xD9, 0xF6}, {0xD9, 0xF7}, {0xD9, 0xF8}, {0xD9, 0xFA}, {0xD9, 0xFC}, {0xD9, 0xFD},
            {0xDA, 0xC1}, {0xDA, 0xC9}, {0xDA, 0xD1}, {0xDA, 0xD9}, {0xDA, 0xE9}, {0xDB, 0xC1}, {0xDB, 0xC9},
            {0xDB, 0xD1}, {0xDB, 0xD9}, {0xDB, 0xE2}, {0xDB, 0xE3}, {0xDB, 0xE9}, {0xDB, 0xF1},
            {0xDD, 0xC1}, {0xDD, 0xD1}, {0xDD, 0xD9}, {0xDD, 0xE1}, {0xDD, 0xE9}, {0xDF, 0xC1}, {0xDF, 0xE9},
            {0xDF, 0xF1}, {0xDF, 0xE0}, {0xD9, 0xD1}, {0xDB, 0xE5}, {0xDD, 0xF1}, {0xDE, 0xD8}, {0xDF, 0xF9},
        };
        for (int rc = 0; rc < 4; rc++) {
            for (int[] f : regForms) {
                DiffCase c = new DiffCase("x87", String.format("%02x %02x rc%d", f[0], f[1], rc), regOp(f[0], f[1]));
                simpleStack(c, 0x0340 | 0x3f | rc << 10);
                cases.add(c);
            }
        }
        int[][] memForms = {
            {0xD8, 0, M32A}, {0xD8, 3, M32A}, {0xD8, 7, M32A}, {0xDC, 1, M64A}, {0xDC, 5, M64A}, {0xDA, 0, I32A},
            {0xDA, 6, I32A}, {0xDE, 4, M16A}, {0xD9, 0, M32A}, {0xD9, 2, OUT}, {0xD9, 3, OUT}, {0xD9, 5, CW_SLOT},
            {0xD9, 6, ENV}, {0xD9, 7, OUT}, {0xDB, 0, I32A}, {0xDB, 1, OUT}, {0xDB, 2, OUT}, {0xDB, 3, OUT},
            {0xDB, 5, M80A}, {0xDB, 7, OUT}, {0xDD, 0, M64A}, {0xDD, 1, OUT}, {0xDD, 2, OUT}, {0xDD, 3, OUT},
            {0xDD, 6, ENV}, {0xDD, 7, OUT}, {0xDF, 0, M16A}, {0xDF, 1, OUT}, {0xDF, 2, OUT}, {0xDF, 3, OUT},
            {0xDF, 4, BCD}, {0xDF, 5, I64A}, {0xDF, 6, OUT}, {0xDF, 7, OUT},
        };
        for (int rc = 0; rc < 4; rc++) {
            for (int[] f : memForms) {
                DiffCase c = new DiffCase("x87", String.format("%02x /%d rc%d", f[0], f[1], rc), mem(f[0], f[1], f[2]));
                simpleStack(c, 0x0340 | 0x3f | rc << 10);
                ByteBuffer d = ByteBuffer.wrap(c.data).order(ByteOrder.LITTLE_ENDIAN);
                d.putInt(M32A, 0x3eaaaaab).putLong(M64A, 0x3fd5555555555555L).putShort(M16A, (short) -7)
                        .putInt(I32A, 100000).putLong(I64A, -1234567890123L).putLong(M80A, 0xC90F_DAA2_2168_C235L)
                        .putShort(M80A + 8, (short) 0x4000).putLong(BCD, 0x1234567890123456L).putShort(BCD + 8, (short) 0x8078)
                        .putShort(CW_SLOT, (short) (0x027F | rc << 10));
                cases.add(c);
            }
        }
        // stack faults, unmasked exceptions and #MF, FNSTSW AX, environment round trips
        cases.add(withStack(new DiffCase("x87", "underflow fadd empty", regOp(0xD8, 0xC7)), 0x037F, 2));
        cases.add(withStack(new DiffCase("x87", "overflow fld1 full", regOp(0xD9, 0xE8)), 0x037F, 8));
        cases.add(withStack(new DiffCase("x87", "unmasked zero-divide then fwait", concat(regOp(0xD9, 0xEE),
                regOp(0xDE, 0xF9), DiffCase.bytes(0x9B))), 0x037B, 1));
        cases.add(withStack(new DiffCase("x87", "unmasked invalid sqrt(-1) then fadd", concat(regOp(0xD9, 0xE8),
                regOp(0xD9, 0xE0), regOp(0xD9, 0xFA), regOp(0xD8, 0xC0))), 0x037E, 0));
        cases.add(withStack(new DiffCase("x87", "unmasked precision 1/3", concat(regOp(0xD9, 0xE8), regOp(0xD9, 0xE8),
                regOp(0xD8, 0xC0), regOp(0xD8, 0xC0), regOp(0xDE, 0xF9), DiffCase.bytes(0xDF, 0xE0), DiffCase.bytes(0x9B))), 0x035F, 0));
        cases.add(withStack(new DiffCase("x87", "fnstsw ax", concat(regOp(0xD9, 0xE8), regOp(0xD9, 0xEE), regOp(0xD8, 0xD1),
                DiffCase.bytes(0xDF, 0xE0))), 0x037F, 0));
        cases.add(withStack(new DiffCase("x87", "fnsave/frstor round trip", concat(mem(0xDD, 6, ENV), regOp(0xD9, 0xEB),
                mem(0xDD, 4, ENV))), 0x0F7F, 3));
        DiffCase env16 = withStack(new DiffCase("x87", "16-bit fnstenv/fldenv", concat(DiffCase.bytes(0x66), mem(0xD9, 6, ENV),
                DiffCase.bytes(0x66), mem(0xD9, 4, ENV))), 0x037F, 3);
        DiffCase save16 = withStack(new DiffCase("x87", "16-bit fnsave", concat(DiffCase.bytes(0x66), mem(0xDD, 6, ENV))), 0x037F, 3);
        env16.env16 = true;
        save16.env16 = true;
        cases.add(env16);
        cases.add(save16);
        for (int i = 0; i < 8; i++) {
            int[] tr = {0xF0, 0xF1, 0xF2, 0xF3, 0xF9, 0xFB, 0xFE, 0xFF};
            DiffCase c = new DiffCase("x87", String.format("transcendental d9 %02x", tr[i]), regOp(0xD9, tr[i]));
            simpleStack(c, 0x037F);
            FpuImage.le(c.fpu).putLong(28, 0xC000_0000_0000_0000L).putShort(36, (short) 0x3ffe); // ST0 = 0.75
            c.approximateFpu = true;
            c.statusIgnored = 0x200;
            cases.add(c);
        }
        return cases;
    }

    /** ST0 = 1.5, ST1 = -3.25, rest empty; the given control word. */
    static void simpleStack(DiffCase c, int cw) {
        long[] sigs = new long[8];
        int[] ses = new int[8];
        sigs[0] = 0xC000_0000_0000_0000L;
        ses[0] = 0x3fff;
        sigs[1] = 0xD000_0000_0000_0000L;
        ses[1] = 0xC000;
        FpuImage.set(c.fpu, cw, 5, 0xffff & ~(0xf << 10), sigs, ses);
    }

    /** {@code used} registers holding 1, 2, 3, ... (ST0 first); the rest empty. */
    static DiffCase withStack(DiffCase c, int cw, int used) {
        long[] sigs = new long[8];
        int[] ses = new int[8];
        int tags = 0xffff;
        for (int i = 0; i < used; i++) {
            long v = i + 1;
            int lz = Long.numberOfLeadingZeros(v);
            sigs[i] = v << lz;
            ses[i] = 16383 + 63 - lz;
            tags &= ~(3 << (2 * i));
        }
        FpuImage.set(c.fpu, cw, 0, tags, sigs, ses);
        return c;
    }
}
