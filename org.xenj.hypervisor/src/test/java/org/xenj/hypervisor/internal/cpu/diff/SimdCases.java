package org.xenj.hypervisor.internal.cpu.diff;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * MMX, SSE and SSE2 cases, every one long-mode-safe (no REX, 32-bit GPR results, absolute memory
 * operands): random XMM/MMX registers and memory operands drawn from the values that matter
 * (zeros, denormals, the smallest normals, the largest finite values, infinities, quiet and
 * signalling NaNs, values whose results round, overflow or underflow), under random MXCSR rounding
 * modes, DAZ, FTZ and exception masks (masked mostly; unmasked ones end in #XM). Registers, MXCSR,
 * EFLAGS, the x87/MMX image and memory are compared. Groups: sse-float-ps/ss, sse2-float-pd/sd,
 * sse-rcp (RCP/RSQRT within 2^-10: implementation-defined low bits), sse-cvt, sse-compare,
 * sse-move, sse-mxcsr, sse-align, sse2-int, mmx.
 */
final class SimdCases {

    private SimdCases() {
    }

    private static final int MEM = 0x40;
    private static final int MEM_ADDR = DiffCase.DATA_BASE + MEM;

    static List<DiffCase> all(long seed, int perGroup) {
        SplittableRandom r = new SplittableRandom(seed);
        List<DiffCase> cases = new ArrayList<>();
        int[] arith = {0x58, 0x59, 0x5c, 0x5e, 0x51, 0x5d, 0x5f, 0xc2};
        String[] floatGroups = {"sse-float-ps", "sse2-float-pd", "sse-float-ss", "sse2-float-sd"};
        int[] floatPfx = {0, 0x66, 0xf3, 0xf2};
        for (int g = 0; g < 4; g++) {
            boolean dbl = (g & 1) == 1;
            for (int n = 0; n < perGroup; n++) {
                int op = arith[r.nextInt(arith.length)];
                DiffCase c = floatCase(floatGroups[g], n, r, floatPfx[g], op, dbl, g < 2, op == 0xc2 ? r.nextInt(8) : -1);
                cases.add(c);
            }
        }
        for (int n = 0; n < perGroup / 2; n++) {
            int pfx = r.nextBoolean() ? 0 : 0xf3;
            DiffCase c = floatCase("sse-rcp", n, r, pfx, r.nextBoolean() ? 0x52 : 0x53, false, pfx == 0, -1);
            c.approximateXmm = true;
            cases.add(c);
        }
        for (int n = 0; n < perGroup; n++) {
            cases.add(cvtCase(n, r));
        }
        for (int n = 0; n < perGroup; n++) {
            cases.add(compareCase(n, r));
        }
        for (int n = 0; n < perGroup; n++) {
            cases.add(moveCase(n, r));
        }
        for (int n = 0; n < Math.max(40, perGroup / 5); n++) {
            cases.add(mxcsrCase(n, r));
        }
        for (int n = 0; n < Math.max(40, perGroup / 5); n++) {
            cases.add(alignCase(n, r));
        }
        for (int n = 0; n < perGroup; n++) {
            cases.add(intCase("sse2-int", n, r, true));
        }
        for (int n = 0; n < perGroup; n++) {
            cases.add(intCase("mmx", n, r, false));
        }
        return cases;
    }

    // ------------------------------------------------------------------ values

    private static final int[] SPECIAL_S = {0, 0x80000000, 0x3f800000, 0xbf800000, 0x3fc00000, 0x40400000, 1, 0x807fffff, 0x00800000,
        0x80800000, 0x7f7fffff, 0xff7fffff, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7fc12345, 0x7f812345, 0xff800001,
        0x4f000000, 0xcf000000, 0xcf000001, 0x4effffff, 0x3f000000, 0x3fc00001, 0x00400000};

    static int randomSingle(SplittableRandom r) {
        return switch (r.nextInt(8)) {
            case 0, 1 -> SPECIAL_S[r.nextInt(SPECIAL_S.length)];
            case 2 -> r.nextInt();
            case 3 -> (r.nextBoolean() ? 0x80000000 : 0) | r.nextInt(1, 40) << 23 | r.nextInt(1 << 23); // tiny: underflow
            case 4 -> (r.nextBoolean() ? 0x80000000 : 0) | r.nextInt(200, 255) << 23 | r.nextInt(1 << 23); // large: overflow
            case 5 -> (r.nextBoolean() ? 0x80000000 : 0) | r.nextInt(1 << 23); // denormal
            default -> (r.nextBoolean() ? 0x80000000 : 0) | r.nextInt(110, 145) << 23 | r.nextInt(1 << 23);
        };
    }

    private static final long[] SPECIAL_D = {0, Long.MIN_VALUE, 0x3ff0000000000000L, 0xbff0000000000000L, 0x3ff8000000000000L, 1,
        0x800fffffffffffffL, 0x0010000000000000L, 0x7fefffffffffffffL, 0xffefffffffffffffL, 0x7ff0000000000000L,
        0xfff0000000000000L, 0x7ff8000000000000L, 0xfff8000000000000L, 0x7ff8000012345678L, 0x7ff0000012345678L,
        0x41e0000000000000L, 0xc1e0000000000000L, 0xc1e0000000100000L, 0x41dfffffffc00000L, 0x3fe0000000000000L,
        0x47efffffe0000000L, 0x380fffffe0000000L, 0x36a0000000000000L};

    static long randomDouble(SplittableRandom r) {
        long sign = r.nextBoolean() ? Long.MIN_VALUE : 0;
        return switch (r.nextInt(8)) {
            case 0, 1 -> SPECIAL_D[r.nextInt(SPECIAL_D.length)];
            case 2 -> r.nextLong();
            case 3 -> sign | (long) r.nextInt(1, 80) << 52 | r.nextLong() >>> 12; // tiny
            case 4 -> sign | (long) r.nextInt(1950, 2047) << 52 | r.nextLong() >>> 12; // large
            case 5 -> sign | r.nextLong() >>> 12; // denormal
            case 6 -> sign | (long) r.nextInt(860, 920) << 52 | r.nextLong() >>> 12; // near float's range limits
            default -> sign | (long) r.nextInt(990, 1060) << 52 | r.nextLong() >>> 12;
        };
    }

    private static long lanes(SplittableRandom r, boolean dbl) {
        return dbl ? randomDouble(r) : randomSingle(r) & 0xffffffffL | (long) randomSingle(r) << 32;
    }

    private static int randomMxcsr(SplittableRandom r) {
        int m = r.nextInt(4) << 13 | (r.nextInt(4) == 0 ? 0x40 : 0) | (r.nextInt(4) == 0 ? 0x8000 : 0);
        m |= r.nextInt(5) == 0 ? r.nextInt(64) << 7 : 0x1f80; // mostly all masked
        if (r.nextInt(4) == 0) {
            m |= r.nextInt(64); // sticky flags already set
        }
        return m;
    }

    /** A case with random XMM registers, MXCSR and memory operand, and {@code code}. */
    private static DiffCase base(String group, String name, SplittableRandom r, boolean dbl, byte[] code) {
        DiffCase c = new DiffCase(group, name, code);
        ByteBuffer x = ByteBuffer.wrap(c.xmm).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 16; i++) {
            x.putLong(8 * i, lanes(r, dbl));
        }
        ByteBuffer d = ByteBuffer.wrap(c.data).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 8; i++) {
            d.putLong(MEM + 8 * i, lanes(r, dbl));
        }
        c.mxcsr = randomMxcsr(r);
        for (int i = 0; i < 8; i++) {
            c.gpr[i] = i == 4 ? c.gpr[4] : r.nextInt(4) == 0 ? r.nextInt() : (int) lanes(r, false);
        }
        return c;
    }

    /** Encodes prefix? 0F op ModRM(reg, rm or [MEM_ADDR + memOff]) imm8?. */
    static byte[] insn(int pfx, int op, int reg, int rm, int memOff, int imm8) {
        IntegerCases.Code k = new IntegerCases.Code();
        if (pfx != 0) {
            k.b(pfx);
        }
        k.b(0x0f, op);
        k.modrm(reg, rm, MEM_ADDR + memOff);
        if (imm8 >= 0) {
            k.b(imm8);
        }
        return k.out.toByteArray();
    }

    private static DiffCase floatCase(String group, int n, SplittableRandom r, int pfx, int op, boolean dbl, boolean packed, int imm) {
        boolean mem = r.nextInt(3) == 0;
        int rm = mem ? -1 : r.nextInt(8);
        byte[] code = insn(pfx, op, r.nextInt(8), rm, packed ? 0 : 8 * r.nextInt(4), imm);
        return base(group, String.format("%02x.%02x#%d", pfx, op, n), r, dbl, code);
    }

    private static DiffCase cvtCase(int n, SplittableRandom r) {
        int[][] forms = { // pfx, op, source is double, destination kind (0 xmm, 1 gpr, 2 mm)
            {0, 0x2a, 0, 0}, {0x66, 0x2a, 0, 0}, {0xf3, 0x2a, 0, 0}, {0xf2, 0x2a, 0, 0},
            {0, 0x2c, 0, 2}, {0x66, 0x2c, 1, 2}, {0xf3, 0x2c, 0, 1}, {0xf2, 0x2c, 1, 1},
            {0, 0x2d, 0, 2}, {0x66, 0x2d, 1, 2}, {0xf3, 0x2d, 0, 1}, {0xf2, 0x2d, 1, 1},
            {0, 0x5a, 0, 0}, {0x66, 0x5a, 1, 0}, {0xf3, 0x5a, 0, 0}, {0xf2, 0x5a, 1, 0},
            {0, 0x5b, 0, 0}, {0x66, 0x5b, 0, 0}, {0xf3, 0x5b, 0, 0},
            {0x66, 0xe6, 1, 0}, {0xf3, 0xe6, 0, 0}, {0xf2, 0xe6, 1, 0}};
        int[] f = forms[r.nextInt(forms.length)];
        boolean mem = r.nextInt(3) == 0;
        int rm = mem ? -1 : r.nextInt(8);
        boolean aligned16 = f[0] == 0x66 && (f[1] == 0x2c || f[1] == 0x2d || f[1] == 0x5a || f[1] == 0x5b) || f[1] == 0x5b
                || f[1] == 0xe6 && f[0] != 0xf3;
        byte[] code = insn(f[0], f[1], r.nextInt(8), rm, aligned16 ? 0 : 8 * r.nextInt(4), -1);
        DiffCase c = base("sse-cvt", String.format("%02x.%02x#%d", f[0], f[1], n), r, f[2] == 1, code);
        if (f[1] == 0x2a || f[1] == 0x5b && f[0] == 0 || f[1] == 0xe6 && f[0] == 0xf3) { // integer sources
            ByteBuffer x = ByteBuffer.wrap(c.xmm).order(ByteOrder.LITTLE_ENDIAN);
            ByteBuffer d = ByteBuffer.wrap(c.data).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < 32; i++) {
                int v = r.nextInt(3) == 0 ? r.nextInt() : r.nextInt(3) == 0 ? r.nextInt(-70000, 70000) : 1 << r.nextInt(32) | r.nextInt(256);
                if (i < 16) {
                    d.putInt(MEM + 4 * i, v);
                }
                x.putInt(4 * i, v);
            }
        }
        if (f[1] == 0x2a && f[0] <= 0x66 && !mem) {
            mmxRegisters(c, r);
        }
        if (f[3] == 2) {
            mmxRegisters(c, r);
        }
        return c;
    }

    /** Random MMX registers (x87 registers with random tags and TOP: MMX mode resets them). */
    private static void mmxRegisters(DiffCase c, SplittableRandom r) {
        long[] sig = new long[8];
        int[] se = new int[8];
        for (int i = 0; i < 8; i++) {
            sig[i] = r.nextInt(3) == 0 ? r.nextLong() : lanes(r, false);
            se[i] = r.nextBoolean() ? 0xffff : r.nextInt(0x10000);
        }
        int top = r.nextInt(4) == 0 ? r.nextInt(8) : 0;
        long[] st = new long[8];
        int[] ste = new int[8];
        for (int i = 0; i < 8; i++) { // FpuImage.set takes ST order; MMi is physical register i
            st[i] = sig[(top + i) & 7];
            ste[i] = se[(top + i) & 7];
        }
        int tags = r.nextBoolean() ? 0xffff : r.nextBoolean() ? 0 : r.nextInt(0x10000);
        FpuImage.set(c.fpu, 0x037f, top, tags, st, ste);
    }

    private static DiffCase compareCase(int n, SplittableRandom r) {
        int kind = r.nextInt(4);
        int pfx = (kind & 1) == 0 ? 0 : 0x66;
        int op = kind < 2 ? 0x2e : 0x2f;
        boolean mem = r.nextInt(3) == 0;
        byte[] code = insn(pfx, op, r.nextInt(8), mem ? -1 : r.nextInt(8), 8 * r.nextInt(4), -1);
        DiffCase c = base("sse-compare", String.format("%02x.%02x#%d", pfx, op, n), r, pfx == 0x66, code);
        c.eflags = 0x202 | r.nextInt(0x1000) & 0x8d5;
        if (r.nextInt(4) == 0) { // equal operands
            ByteBuffer x = ByteBuffer.wrap(c.xmm).order(ByteOrder.LITTLE_ENDIAN);
            ByteBuffer d = ByteBuffer.wrap(c.data).order(ByteOrder.LITTLE_ENDIAN);
            long v = x.getLong(0);
            for (int i = 0; i < 8; i++) {
                x.putLong(16 * i, v);
                d.putLong(MEM + 8 * (i & 3), v);
            }
        }
        return c;
    }

    private static DiffCase moveCase(int n, SplittableRandom r) {
        int[][] forms = { // pfx, op, imm8 (1), memory only (1) / register only (2), aligned
            {0, 0x10, 0, 0, 0}, {0x66, 0x10, 0, 0, 0}, {0xf3, 0x10, 0, 0, 0}, {0xf2, 0x10, 0, 0, 0},
            {0, 0x11, 0, 0, 0}, {0x66, 0x11, 0, 0, 0}, {0xf3, 0x11, 0, 0, 0}, {0xf2, 0x11, 0, 0, 0},
            {0, 0x12, 0, 0, 0}, {0x66, 0x12, 0, 1, 0}, {0, 0x13, 0, 1, 0}, {0x66, 0x13, 0, 1, 0},
            {0, 0x14, 0, 0, 1}, {0x66, 0x14, 0, 0, 1}, {0, 0x15, 0, 0, 1}, {0x66, 0x15, 0, 0, 1},
            {0, 0x16, 0, 0, 0}, {0x66, 0x16, 0, 1, 0}, {0, 0x17, 0, 1, 0}, {0x66, 0x17, 0, 1, 0},
            {0, 0x28, 0, 0, 1}, {0x66, 0x28, 0, 0, 1}, {0, 0x29, 0, 0, 1}, {0x66, 0x29, 0, 0, 1},
            {0, 0x2b, 0, 1, 1}, {0x66, 0x2b, 0, 1, 1}, {0, 0x50, 0, 2, 0}, {0x66, 0x50, 0, 2, 0},
            {0, 0x54, 0, 0, 1}, {0x66, 0x55, 0, 0, 1}, {0, 0x56, 0, 0, 1}, {0x66, 0x57, 0, 0, 1},
            {0, 0xc6, 1, 0, 1}, {0x66, 0xc6, 1, 0, 1}, {0, 0xc3, 0, 1, 0},
            {0x66, 0x6e, 0, 0, 0}, {0x66, 0x7e, 0, 0, 0}, {0xf3, 0x7e, 0, 0, 0}, {0x66, 0x6f, 0, 0, 1},
            {0xf3, 0x6f, 0, 0, 0}, {0x66, 0x7f, 0, 0, 1}, {0xf3, 0x7f, 0, 0, 0}, {0x66, 0xd6, 0, 0, 0},
            {0x66, 0xe7, 0, 1, 1}, {0x66, 0xf7, 0, 2, 0}, {0xf3, 0xd6, 0, 2, 0}, {0xf2, 0xd6, 0, 2, 0}};
        int[] f = forms[r.nextInt(forms.length)];
        boolean mem = f[3] == 1 || f[3] == 0 && r.nextInt(3) == 0;
        int off = f[4] == 1 ? 0 : 4 * r.nextInt(8);
        byte[] code = insn(f[0], f[1], r.nextInt(8), mem ? -1 : r.nextInt(8), off, f[2] == 1 ? r.nextInt(256) : -1);
        DiffCase c = base("sse-move", String.format("%02x.%02x#%d", f[0], f[1], n), r, r.nextBoolean(), code);
        if (f[1] == 0xf7) {
            c.gpr[7] = MEM_ADDR + r.nextInt(16); // MASKMOVDQU stores at [EDI]
        }
        if (f[1] == 0xd6 && f[0] != 0x66) {
            mmxRegisters(c, r);
        }
        return c;
    }

    /** LDMXCSR (valid values and reserved bits: #GP), STMXCSR, and FXSAVE/FXRSTOR of the SSE state. */
    private static DiffCase mxcsrCase(int n, SplittableRandom r) {
        int kind = r.nextInt(4);
        byte[] code = switch (kind) {
            case 0 -> insn(0, 0xae, 2, -1, 0, -1);
            case 1 -> insn(0, 0xae, 3, -1, 0, -1);
            case 2 -> new byte[] {0x0f, (byte) 0xae, 0x05, 0, 0x01, 0, 0x20}; // FXSAVE [DATA+0x100]
            default -> new byte[] {0x0f, (byte) 0xae, 0x0d, 0, 0x01, 0, 0x20}; // FXRSTOR [DATA+0x100]
        };
        DiffCase c = base("sse-mxcsr", "ae." + kind + "#" + n, r, r.nextBoolean(), code);
        c.data = java.util.Arrays.copyOf(c.data, 0x300);
        ByteBuffer d = ByteBuffer.wrap(c.data).order(ByteOrder.LITTLE_ENDIAN);
        // a reserved bit now and then (#GP); never bit 17, which AMD's misaligned-SSE mode (not offered here) defines
        int v = r.nextInt(5) == 0 ? 1 << r.nextInt(18, 32) | 0x1f80 : r.nextInt(0x10000);
        d.putInt(MEM, v);
        if (kind == 3) {
            d.putShort(0x100, (short) 0x037f);
            d.putInt(0x100 + 24, r.nextInt(8) == 0 ? v : v & 0xffff);
            for (int i = 0; i < 16; i++) {
                d.putLong(0x100 + 160 + 8 * i, r.nextLong());
            }
        }
        if (kind == 2) {
            c.ignoreData(0x100, 0x300);
            c.ignoreData(0x100 + 24, 0x100 + 28); // compared through the XMM area and MXCSR only:
            java.util.Arrays.fill(c.ignoredData, 0x100 + 24, 0x100 + 28, false); // MXCSR
            java.util.Arrays.fill(c.ignoredData, 0x100 + 160, 0x100 + 288, false); // XMM0-7
        }
        return c;
    }

    /** Aligned forms on misaligned operands raise #GP(0); the unaligned forms do not. */
    private static DiffCase alignCase(int n, SplittableRandom r) {
        int[][] forms = {{0, 0x28}, {0x66, 0x29}, {0x66, 0x6f}, {0x66, 0x7f}, {0, 0x58}, {0x66, 0xfe}, {0x66, 0x70}, {0, 0x10},
            {0xf3, 0x6f}, {0xf3, 0x58}, {0, 0x2b}, {0x66, 0xe7}, {0, 0xc6}};
        int[] f = forms[r.nextInt(forms.length)];
        int imm = f[1] == 0x70 || f[1] == 0xc6 ? r.nextInt(256) : -1;
        byte[] code = insn(f[0], f[1], r.nextInt(8), -1, 1 + r.nextInt(15), imm);
        return base("sse-align", String.format("%02x.%02x#%d", f[0], f[1], n), r, false, code);
    }

    private static final int[] INT_OPS = {0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x74, 0x75,
        0x76, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe8,
        0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe,
        0x70, 0x71, 0x72, 0x73, 0xc4, 0xc5, 0xd7, 0x6e, 0x7e, 0x6f, 0x7f, 0x77, 0xe7, 0xf7};

    private static DiffCase intCase(String group, int n, SplittableRandom r, boolean sse2) {
        int op;
        do {
            op = INT_OPS[r.nextInt(INT_OPS.length)];
        } while (!sse2 && (op == 0x6c || op == 0x6d) || sse2 && (op == 0x77 || op == 0x6f || op == 0x7f || op == 0xe7 || op == 0xf7));
        int pfx = sse2 ? 0x66 : 0;
        int reg = r.nextInt(8);
        boolean regOnly = op == 0xc5 || op == 0xd7 || op == 0xf7 || op >= 0x71 && op <= 0x73;
        boolean mem = !regOnly && r.nextInt(3) == 0;
        int imm = -1;
        if (op >= 0x71 && op <= 0x73) {
            int[] regs = op == 0x73 ? (sse2 ? new int[] {2, 3, 6, 7} : new int[] {2, 6}) : new int[] {2, 4, 6};
            reg = regs[r.nextInt(regs.length)];
            imm = r.nextInt(3) == 0 ? r.nextInt(256) : r.nextInt(20);
        } else if (op == 0x70 || op == 0xc4 || op == 0xc5) {
            imm = r.nextInt(256);
        }
        byte[] code;
        if (op == 0x77) {
            code = new byte[] {0x0f, 0x77};
        } else {
            code = insn(pfx, op, reg, mem ? -1 : r.nextInt(8), 0, imm);
        }
        DiffCase c = base(group, String.format("%02x.%02x#%d", pfx, op, n), r, false, code);
        ByteBuffer d = ByteBuffer.wrap(c.data).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer x = ByteBuffer.wrap(c.xmm).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 16; i++) {
            long v = r.nextInt(3) == 0 ? r.nextLong() : smallLanes(r);
            x.putLong(8 * i, v);
            if (i < 4) {
                d.putLong(MEM + 8 * i, r.nextInt(3) == 0 ? r.nextLong() : smallLanes(r));
            }
        }
        if (op >= 0xd1 && op <= 0xf3 && (op & 0xf) <= 3 && (op & 0xf) >= 1 && op != 0xe3) { // shift counts
            long count = r.nextInt(4) == 0 ? r.nextLong() : r.nextInt(70);
            d.putLong(MEM, count);
            for (int i = 0; i < 8; i++) {
                if (r.nextBoolean()) {
                    x.putLong(16 * i, count);
                }
            }
        }
        if (op == 0xf7) {
            c.gpr[7] = MEM_ADDR + r.nextInt(16);
        }
        if (!sse2) {
            mmxRegisters(c, r);
        }
        return c;
    }

    /** Lanes near the saturation and comparison edges (0, ±1, 0x7f/0x80, 0x7fff/0x8000 ...). */
    private static long smallLanes(SplittableRandom r) {
        int[] edge = {0, 1, 0xff, 0x7f, 0x80, 0xfe, 0x7fff, 0x8000, 0xffff, 0x7ffffff, 0x80000000};
        long v = 0;
        int bits = 8 << r.nextInt(3);
        for (int i = 0; i < 64; i += bits) {
            long e = r.nextBoolean() ? edge[r.nextInt(edge.length)] : r.nextLong();
            v |= (e & ((1L << bits) - 1)) << i;
        }
        return v;
    }
}
