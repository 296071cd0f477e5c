package org.xenj.hypervisor.internal.cpu.simd;

/**
 * The MMX/SSE2 integer operations on one 64-bit lane group (SDM vol. 2, the P* instructions). An
 * MMX instruction applies them to its 64-bit register, the SSE2 form to each half of the XMM
 * register: every operation here is independent between the two halves. Pure static functions
 * on longs; nothing is allocated.
 */
public final class PackedInt {

    private PackedInt() {
    }

    private static final long H8 = 0x8080808080808080L, H16 = 0x8000800080008000L, H32 = 0x8000000080000000L;

    /**
     * The lane-wise two-operand operations by their 0F opcode byte: PCMPGT/PCMPEQ, PADD/PSUB
     * (wrapping and saturating), PMULLW/PMULHW/PMULHUW/PMULUDQ, PMADDWD, PSADBW, PAVGB/W,
     * PMINUB/PMAXUB/PMINSW/PMAXSW and the logical PAND/PANDN/POR/PXOR. Returns the result; the
     * caller has checked that {@code op} is one of them ({@link #isLaneOp}).
     */
    public static long op(int op, long a, long b) {
        return switch (op) {
            case 0x64 -> cmpgt(a, b, 8);
            case 0x65 -> cmpgt(a, b, 16);
            case 0x66 -> cmpgt(a, b, 32);
            case 0x74 -> cmpeq8(a, b);
            case 0x75 -> cmpeq(a, b, 16);
            case 0x76 -> cmpeq(a, b, 32);
            case 0xd4 -> a + b;
            case 0xd5 -> mul16(a, b, 0);
            case 0xd8 -> sat(a, b, 8, false, true);
            case 0xd9 -> sat(a, b, 16, false, true);
            case 0xda -> minMax8u(a, b, false);
            case 0xdb -> a & b;
            case 0xdc -> sat(a, b, 8, true, true);
            case 0xdd -> sat(a, b, 16, true, true);
            case 0xde -> minMax8u(a, b, true);
            case 0xdf -> ~a & b;
            case 0xe0 -> avg(a, b, 8);
            case 0xe3 -> avg(a, b, 16);
            case 0xe4 -> mul16(a, b, 2);
            case 0xe5 -> mul16(a, b, 1);
            case 0xe8 -> sat(a, b, 8, false, false);
            case 0xe9 -> sat(a, b, 16, false, false);
            case 0xea -> minMax16s(a, b, false);
            case 0xeb -> a | b;
            case 0xec -> sat(a, b, 8, true, false);
            case 0xed -> sat(a, b, 16, true, false);
            case 0xee -> minMax16s(a, b, true);
            case 0xef -> a ^ b;
            case 0xf4 -> (a & 0xffffffffL) * (b & 0xffffffffL);
            case 0xf5 -> maddwd(a, b);
            case 0xf6 -> sadbw(a, b);
            case 0xf8 -> sub(a, b, H8);
            case 0xf9 -> sub(a, b, H16);
            case 0xfa -> sub(a, b, H32);
            case 0xfb -> a - b;
            case 0xfc -> add(a, b, H8);
            case 0xfd -> add(a, b, H16);
            case 0xfe -> add(a, b, H32);
            default -> throw new IllegalArgumentException("not a lane op: " + Integer.toHexString(op));
        };
    }

    public static boolean isLaneOp(int op) {
        return op >= 0x64 && op <= 0x66 || op >= 0x74 && op <= 0x76 || op == 0xd4 || op == 0xd5 || op >= 0xd8 && op <= 0xe0
                || op >= 0xe3 && op <= 0xe5 || op >= 0xe8 && op <= 0xef || op >= 0xf4 && op <= 0xf6 || op >= 0xf8 && op <= 0xfe;
    }

    /** The operations MMX itself had (the others came with SSE or SSE2 and are SSE instructions). */
    public static boolean isMmxOriginal(int op) {
        return !(op == 0xd4 || op == 0xda || op == 0xde || op == 0xe0 || op == 0xe3 || op == 0xe4 || op == 0xea || op == 0xee
                || op == 0xf4 || op == 0xf6 || op == 0xfb);
    }

    static long add(long a, long b, long h) {
        return ((a & ~h) + (b & ~h)) ^ ((a ^ b) & h);
    }

    static long sub(long a, long b, long h) {
        return ((a | h) - (b & ~h)) ^ ((a ^ ~b) & h);
    }

    private static long lane(long v, int i, int bits) {
        return v >>> (i * bits) & ((1L << bits) - 1);
    }

    private static long slane(long v, int i, int bits) {
        return v << (64 - (i + 1) * bits) >> (64 - bits);
    }

    static long cmpgt(long a, long b, int bits) {
        long r = 0, ones = (1L << bits) - 1;
        for (int i = 0; i < 64 / bits; i++) {
            if (slane(a, i, bits) > slane(b, i, bits)) {
                r |= ones << (i * bits);
            }
        }
        return r;
    }

    static long cmpeq8(long a, long b) {
        long x = a ^ b;
        long y = ~(((x & 0x7f7f7f7f7f7f7f7fL) + 0x7f7f7f7f7f7f7f7fL) | x | 0x7f7f7f7f7f7f7f7fL); // 0x80 where a byte is 0
        return (y >>> 7) * 0xff;
    }

    static long cmpeq(long a, long b, int bits) {
        long r = 0, ones = (1L << bits) - 1;
        for (int i = 0; i < 64 / bits; i++) {
            if (lane(a, i, bits) == lane(b, i, bits)) {
                r |= ones << (i * bits);
            }
        }
        return r;
    }

    static long sat(long a, long b, int bits, boolean add, boolean unsigned) {
        long r = 0, ones = (1L << bits) - 1;
        long max = unsigned ? ones : ones >>> 1, min = unsigned ? 0 : -(ones >>> 1) - 1;
        for (int i = 0; i < 64 / bits; i++) {
            long x = unsigned ? lane(a, i, bits) : slane(a, i, bits);
            long y = unsigned ? lane(b, i, bits) : slane(b, i, bits);
            long v = add ? x + y : x - y;
            v = Math.max(min, Math.min(max, v));
            r |= (v & ones) << (i * bits);
        }
        return r;
    }

    static long minMax8u(long a, long b, boolean max) {
        long r = 0;
        for (int i = 0; i < 8; i++) {
            long x = lane(a, i, 8), y = lane(b, i, 8);
            r |= (max ? Math.max(x, y) : Math.min(x, y)) << (i * 8);
        }
        return r;
    }

    static long minMax16s(long a, long b, boolean max) {
        long r = 0;
        for (int i = 0; i < 4; i++) {
            long x = slane(a, i, 16), y = slane(b, i, 16);
            r |= ((max ? Math.max(x, y) : Math.min(x, y)) & 0xffff) << (i * 16);
        }
        return r;
    }

    static long avg(long a, long b, int bits) {
        long r = 0, ones = (1L << bits) - 1;
        for (int i = 0; i < 64 / bits; i++) {
            r |= ((lane(a, i, bits) + lane(b, i, bits) + 1) >>> 1 & ones) << (i * bits);
        }
        return r;
    }

    /** kind 0: low 16 bits of the product (PMULLW); 1: high, signed (PMULHW); 2: high, unsigned (PMULHUW). */
    static long mul16(long a, long b, int kind) {
        long r = 0;
        for (int i = 0; i < 4; i++) {
            long p = kind == 2 ? lane(a, i, 16) * lane(b, i, 16) : slane(a, i, 16) * slane(b, i, 16);
            r |= ((kind == 0 ? p : p >> 16) & 0xffff) << (i * 16);
        }
        return r;
    }

    static long maddwd(long a, long b) {
        long lo = slane(a, 0, 16) * slane(b, 0, 16) + slane(a, 1, 16) * slane(b, 1, 16);
        long hi = slane(a, 2, 16) * slane(b, 2, 16) + slane(a, 3, 16) * slane(b, 3, 16);
        return (lo & 0xffffffffL) | hi << 32;
    }

    static long sadbw(long a, long b) {
        long s = 0;
        for (int i = 0; i < 8; i++) {
            s += Math.abs(lane(a, i, 8) - lane(b, i, 8));
        }
        return s;
    }

    // ------------------------------------------------------------------ shifts

    /**
     * PSRL/PSRA/PSLL of each {@code bits}-wide lane by {@code count} (the whole 64-bit count: a count
     * at least the lane width gives zeros, or sign fill for PSRA). kind 0 = logical right, 1 =
     * arithmetic right, 2 = left.
     */
    public static long shift(long v, int bits, int kind, long count) {
        boolean big = Long.compareUnsigned(count, bits) >= 0;
        if (bits == 64) {
            return big ? 0 : kind == 0 ? v >>> count : v << count;
        }
        if (big && kind != 1) {
            return 0;
        }
        int c = big ? bits - 1 : (int) count;
        long r = 0, ones = (1L << bits) - 1;
        for (int i = 0; i < 64 / bits; i++) {
            long x = kind == 1 ? slane(v, i, bits) : lane(v, i, bits);
            long y = kind == 0 ? x >>> c : kind == 1 ? x >> c : x << c;
            r |= (y & ones) << (i * bits);
        }
        return r;
    }

    // ------------------------------------------------------------------ pack and unpack

    /** Interleaves the low {@code 64/bits/2} lanes of the low 32 bits of a and b (a first). */
    public static long interleave(int a32, int b32, int bits) {
        long r = 0, ones = (1L << bits) - 1;
        long a = a32 & 0xffffffffL, b = b32 & 0xffffffffL;
        for (int i = 0; i < 32 / bits; i++) {
            r |= (a >>> (i * bits) & ones) << (2 * i * bits);
            r |= (b >>> (i * bits) & ones) << ((2 * i + 1) * bits);
        }
        return r;
    }

    /**
     * Packs the lanes of {@code v} to half width with saturation: PACKSSWB (16 → 8 signed), PACKUSWB
     * (16 → 8 unsigned from signed), PACKSSDW (32 → 16 signed). Result in the low 32 bits.
     */
    public static int pack(long v, int bits, boolean unsignedResult) {
        int half = bits / 2;
        long max = unsignedResult ? (1L << half) - 1 : (1L << (half - 1)) - 1;
        long min = unsignedResult ? 0 : -(1L << (half - 1));
        long r = 0;
        for (int i = 0; i < 64 / bits; i++) {
            long x = Math.max(min, Math.min(max, slane(v, i, bits)));
            r |= (x & ((1L << half) - 1)) << (i * half);
        }
        return (int) r;
    }

    /** PSHUFW/PSHUFLW/PSHUFHW: 16-bit lanes of {@code v} selected by imm8. */
    public static long shuffle16(long v, int imm) {
        long r = 0;
        for (int i = 0; i < 4; i++) {
            r |= lane(v, imm >>> (2 * i) & 3, 16) << (16 * i);
        }
        return r;
    }

    /** PMOVMSKB of 8 bytes. */
    public static int moveMask8(long v) {
        int r = 0;
        for (int i = 0; i < 8; i++) {
            r |= (int) (v >>> (8 * i + 7) & 1) << i;
        }
        return r;
    }
}
