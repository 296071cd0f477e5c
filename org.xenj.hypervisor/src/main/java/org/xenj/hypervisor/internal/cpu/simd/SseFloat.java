package org.xenj.hypervisor.internal.cpu.simd;

/**
 * SSE/SSE2 floating point on raw IEEE bits (float as int, double as long), bit-exact under every
 * MXCSR rounding mode with DAZ and FTZ (Intel SDM vol. 1 §4.8–4.9, §10.2.3, §11.5).
 *
 * <p>Java's operators round to nearest only. Every operation therefore computes the
 * round-to-nearest double result of scaled operands together with the <em>sign of its exact
 * error</em> (TwoSum for addition, {@link Math#fma} remainders for multiplication, division and square
 * root, all exact because the scaled operands are normal), and {@link #round} rounds that exact
 * description once more, in integer arithmetic, to the target format in the MXCSR mode, with
 * tininess detected after rounding (as x86 does), FTZ and the overflow results of each mode.
 *
 * <p>One instance per vCPU: {@link #begin} loads the MXCSR controls, the operations accumulate
 * pre-computation flags (IE, DE, ZE) and post-computation flags (OE, UE, PE) separately, so that the
 * caller can apply SDM vol. 1 §11.5.2's rule for packed operations (an unmasked pre-computation
 * exception in any element suppresses the post-computation flags). Nothing is allocated.
 */
public final class SseFloat {

    public static final int IE = 1, DE = 2, ZE = 4, OE = 8, UE = 0x10, PE = 0x20;
    public static final int DAZ = 0x40, FTZ = 0x8000;
    static final int RN = 0, RD = 1, RU = 2, RZ = 3;

    /** Default NaNs ("QNaN floating-point indefinite"). */
    public static final int QNAN_S = 0xFFC00000;
    public static final long QNAN_D = 0xFFF8000000000000L;
    /** Integer indefinite of the float-to-int conversions. */
    public static final int INT_INDEFINITE = 0x80000000;

    private int rc;
    private boolean daz, ftz;
    private int masks;
    /** IE, DE, ZE raised by the current instruction. */
    public int pre;
    /** OE, UE, PE raised by the current instruction. */
    public int post;

    /** Starts an instruction under {@code mxcsr}. */
    public void begin(int mxcsr) {
        rc = mxcsr >>> 13 & 3;
        daz = (mxcsr & DAZ) != 0;
        ftz = (mxcsr & FTZ) != 0;
        masks = mxcsr >>> 7 & 0x3f;
        pre = 0;
        post = 0;
    }

    /**
     * The flags the instruction leaves in MXCSR and whether it faults (#XM/#UD): returns the flags
     * to OR into MXCSR, with bit 31 set when an unmasked exception means the destination must stay.
     */
    public int finish() {
        if ((pre & ~masks & 0x3f) != 0) {
            return pre | 0x8000_0000;
        }
        int all = pre | post;
        return (post & ~masks & 0x3f) != 0 ? all | 0x8000_0000 : all;
    }

    // ------------------------------------------------------------------ classification

    static boolean nanS(int a) {
        return (a & 0x7fffffff) > 0x7f800000;
    }

    static boolean snanS(int a) {
        return nanS(a) && (a & 0x00400000) == 0;
    }

    static boolean nanD(long a) {
        return (a & Long.MAX_VALUE) > 0x7ff0000000000000L;
    }

    static boolean snanD(long a) {
        return nanD(a) && (a & 0x0008000000000000L) == 0;
    }

    static boolean denS(int a) {
        return (a & 0x7f800000) == 0 && (a & 0x007fffff) != 0;
    }

    static boolean denD(long a) {
        return (a & 0x7ff0000000000000L) == 0 && (a & 0x000fffffffffffffL) != 0;
    }

    /** A source operand: DAZ turns denormals into zeros; without it they raise DE. */
    private int inS(int a) {
        if (denS(a)) {
            if (daz) {
                return a & 0x80000000;
            }
            pre |= DE;
        }
        return a;
    }

    private long inD(long a) {
        if (denD(a)) {
            if (daz) {
                return a & Long.MIN_VALUE;
            }
            pre |= DE;
        }
        return a;
    }

    /** Only DAZ (conversions to integer and comparisons' returned values do not signal DE here). */
    private int dazS(int a) {
        return daz && denS(a) ? a & 0x80000000 : a;
    }

    private long dazD(long a) {
        return daz && denD(a) ? a & Long.MIN_VALUE : a;
    }

    /** SDM vol. 1 table 4-7: the first NaN operand (quieted) wins; IE for any SNaN. */
    private int nanResultS(int a, int b) {
        if (snanS(a) || snanS(b)) {
            pre |= IE;
        }
        return (nanS(a) ? a : b) | 0x00400000;
    }

    private long nanResultD(long a, long b) {
        if (snanD(a) || snanD(b)) {
            pre |= IE;
        }
        return (nanD(a) ? a : b) | 0x0008000000000000L;
    }

    /**
     * An element whose operation is invalid or divides by zero does not also report its denormal
     * operand (AMD EPYC, checked against the host: sqrt(-denormal) gives IE alone, denormal/0 ZE alone).
     */
    private void noDenormalIfInvalid(int before) {
        int element = pre;
        if ((element & (IE | ZE)) != 0) {
            element &= ~DE;
        }
        pre = before | element;
    }

    // ------------------------------------------------------------------ arithmetic

    public static final int ADD = 0, SUB = 1, MUL = 2, DIV = 3;

    public int arithS(int op, int a, int b) {
        if (nanS(a) || nanS(b)) {
            return nanResultS(a, b);
        }
        int before = pre;
        pre = 0;
        a = inS(a);
        b = inS(b);
        long r = arith(op, Float.intBitsToFloat(a), Float.intBitsToFloat(b), false);
        noDenormalIfInvalid(before);
        return (int) r;
    }

    public long arithD(int op, long a, long b) {
        if (nanD(a) || nanD(b)) {
            return nanResultD(a, b);
        }
        int before = pre;
        pre = 0;
        a = inD(a);
        b = inD(b);
        long r = arith(op, Double.longBitsToDouble(a), Double.longBitsToDouble(b), true);
        noDenormalIfInvalid(before);
        return r;
    }

    /** Non-NaN operands, already through DAZ; the result in the target format's bits. */
    private long arith(int op, double a, double b, boolean dbl) {
        if (op == SUB) {
            b = -b;
        }
        switch (op) {
            case ADD, SUB -> {
                if (Double.isInfinite(a) || Double.isInfinite(b)) {
                    if (Double.isInfinite(a) && Double.isInfinite(b) && a != b) {
                        return invalid(dbl);
                    }
                    return exact(Double.isInfinite(a) ? a : b, dbl);
                }
                if (a == 0 && b == 0) {
                    boolean neg = rc == RD ? (sign(a) | sign(b)) : (sign(a) & sign(b));
                    return zero(neg, dbl);
                }
                if (a == 0 || b == 0) {
                    return roundValue(a == 0 ? b : a, 0, 0, dbl);
                }
                int scale = 0;
                double s = a + b;
                if (Double.isInfinite(s)) {
                    a *= 0.5;
                    b *= 0.5;
                    s = a + b;
                    scale = 1;
                }
                double bb = s - a;
                double err = (a - (s - bb)) + (b - bb);
                if (s == 0) {
                    return zero(rc == RD, dbl); // exact cancellation: +0, or -0 rounding down
                }
                return roundValue(s, sgn(err), scale, dbl);
            }
            case MUL -> {
                boolean neg = sign(a) ^ sign(b);
                if (Double.isInfinite(a) || Double.isInfinite(b)) {
                    if (a == 0 || b == 0) {
                        return invalid(dbl);
                    }
                    return inf(neg, dbl);
                }
                if (a == 0 || b == 0) {
                    return zero(neg, dbl);
                }
                int ea = exponent(a), eb = exponent(b);
                double ma = Math.abs(Math.scalb(a, -ea)), mb = Math.abs(Math.scalb(b, -eb));
                double p = ma * mb;
                double err = Math.fma(ma, mb, -p);
                return roundValue(neg ? -p : p, neg ? -sgn(err) : sgn(err), ea + eb, dbl);
            }
            default -> { // DIV
                boolean neg = sign(a) ^ sign(b);
                if (Double.isNaN(a / b) && (Double.isInfinite(a) || a == 0)) {
                    return invalid(dbl); // inf/inf, 0/0
                }
                if (Double.isInfinite(a)) {
                    return inf(neg, dbl);
                }
                if (Double.isInfinite(b)) {
                    return zero(neg, dbl);
                }
                if (b == 0) {
                    pre |= ZE;
                    return inf(neg, dbl);
                }
                if (a == 0) {
                    return zero(neg, dbl);
                }
                int ea = exponent(a), eb = exponent(b);
                double ma = Math.abs(Math.scalb(a, -ea)), mb = Math.abs(Math.scalb(b, -eb));
                double q = ma / mb;
                double r = Math.fma(-q, mb, ma);
                return roundValue(neg ? -q : q, neg ? -sgn(r) : sgn(r), ea - eb, dbl);
            }
        }
    }

    public int sqrtS(int a) {
        if (nanS(a)) {
            return nanResultS(a, a);
        }
        int before = pre;
        pre = 0;
        a = inS(a);
        long r = sqrt(Float.intBitsToFloat(a), false);
        noDenormalIfInvalid(before);
        return (int) r;
    }

    public long sqrtD(long a) {
        if (nanD(a)) {
            return nanResultD(a, a);
        }
        int before = pre;
        pre = 0;
        a = inD(a);
        long r = sqrt(Double.longBitsToDouble(a), true);
        noDenormalIfInvalid(before);
        return r;
    }

    private long sqrt(double a, boolean dbl) {
        if (a == 0) {
            return exact(a, dbl); // sqrt(-0) = -0
        }
        if (a < 0) {
            return invalid(dbl);
        }
        if (Double.isInfinite(a)) {
            return exact(a, dbl);
        }
        int e = exponent(a) & ~1;
        double m = Math.scalb(a, -e); // [1, 4)
        double s = Math.sqrt(m);
        double r = Math.fma(-s, s, m);
        return roundValue(s, sgn(r), e / 2, dbl);
    }

    /** MINSS/MAXSS...: the second operand unless the first is strictly smaller/greater; IE on any NaN. */
    public int minMaxS(boolean max, int a, int b) {
        if (nanS(a) || nanS(b)) {
            pre |= IE;
            return dazS(b); // the second operand, through DAZ (host-checked)
        }
        a = inS(a);
        b = inS(b);
        float fa = Float.intBitsToFloat(a), fb = Float.intBitsToFloat(b);
        return (max ? fa > fb : fa < fb) ? a : b;
    }

    public long minMaxD(boolean max, long a, long b) {
        if (nanD(a) || nanD(b)) {
            pre |= IE;
            return dazD(b);
        }
        a = inD(a);
        b = inD(b);
        double fa = Double.longBitsToDouble(a), fb = Double.longBitsToDouble(b);
        return (max ? fa > fb : fa < fb) ? a : b;
    }

    /** CMPccSS predicate 0..7: all ones when true. LT, LE, NLT, NLE signal IE on QNaNs too. */
    public boolean cmpS(int pred, int a, int b) {
        boolean unordered = nanS(a) || nanS(b);
        if (unordered) {
            if (snanS(a) || snanS(b) || (pred & 3) == 1 || (pred & 3) == 2) {
                pre |= IE;
            }
        } else {
            a = inS(a);
            b = inS(b);
        }
        float fa = Float.intBitsToFloat(a), fb = Float.intBitsToFloat(b);
        return predicate(pred, unordered, fa < fb, fa == fb);
    }

    public boolean cmpD(int pred, long a, long b) {
        boolean unordered = nanD(a) || nanD(b);
        if (unordered) {
            if (snanD(a) || snanD(b) || (pred & 3) == 1 || (pred & 3) == 2) {
                pre |= IE;
            }
        } else {
            a = inD(a);
            b = inD(b);
        }
        double fa = Double.longBitsToDouble(a), fb = Double.longBitsToDouble(b);
        return predicate(pred, unordered, fa < fb, fa == fb);
    }

    private static boolean predicate(int pred, boolean un, boolean lt, boolean eq) {
        return switch (pred & 7) {
            case 0 -> !un && eq;
            case 1 -> !un && lt;
            case 2 -> !un && (lt || eq);
            case 3 -> un;
            case 4 -> un || !eq;
            case 5 -> un || !lt;
            case 6 -> un || !(lt || eq);
            default -> !un;
        };
    }

    /** COMISS/UCOMISS: ZF PF CF (0x40, 4, 1); {@code signalQuiet} for COMIS*. */
    public int comiS(boolean signalQuiet, int a, int b) {
        if (nanS(a) || nanS(b)) {
            if (signalQuiet || snanS(a) || snanS(b)) {
                pre |= IE;
            }
            return 0x45;
        }
        float fa = Float.intBitsToFloat(inS(a)), fb = Float.intBitsToFloat(inS(b));
        return fa < fb ? 1 : fa == fb ? 0x40 : 0;
    }

    public int comiD(boolean signalQuiet, long a, long b) {
        if (nanD(a) || nanD(b)) {
            if (signalQuiet || snanD(a) || snanD(b)) {
                pre |= IE;
            }
            return 0x45;
        }
        double fa = Double.longBitsToDouble(inD(a)), fb = Double.longBitsToDouble(inD(b));
        return fa < fb ? 1 : fa == fb ? 0x40 : 0;
    }

    // ------------------------------------------------------------------ conversions

    public int int32ToS(int v) {
        return v == 0 ? 0 : (int) round(v < 0, Math.abs((long) v), 0, 0, false);
    }

    public long int32ToD(int v) {
        return Double.doubleToRawLongBits(v);
    }

    /** CVTSD2SS. */
    public int dToS(long a) {
        if (nanD(a)) {
            if (snanD(a)) {
                pre |= IE;
            }
            return (int) (a >>> 32 & 0x80000000L) | 0x7fc00000 | (int) (a >>> 29 & 0x003fffff);
        }
        a = inD(a);
        double d = Double.longBitsToDouble(a);
        if (Double.isInfinite(d) || d == 0) {
            return Float.floatToRawIntBits((float) d);
        }
        return (int) roundValue(d, 0, 0, false);
    }

    /** CVTSS2SD: exact. */
    public long sToD(int a) {
        if (nanS(a)) {
            if (snanS(a)) {
                pre |= IE;
            }
            return (long) (a & 0x80000000) << 32 | 0x7ff8000000000000L | (long) (a & 0x003fffff) << 29;
        }
        return Double.doubleToRawLongBits(Float.intBitsToFloat(inS(a)));
    }

    /** CVT(T)SS2SI / CVT(T)SD2SI: integer indefinite with IE for NaN and out-of-range values, PE when inexact. */
    public int sToInt32(int a, boolean truncate) {
        if (nanS(a)) {
            pre |= IE;
            return INT_INDEFINITE;
        }
        return toInt32(Float.intBitsToFloat(dazS(a)), truncate);
    }

    public int dToInt32(long a, boolean truncate) {
        if (nanD(a)) {
            pre |= IE;
            return INT_INDEFINITE;
        }
        return toInt32(Double.longBitsToDouble(dazD(a)), truncate);
    }

    private int toInt32(double v, boolean truncate) {
        double r;
        int mode = truncate ? RZ : rc;
        r = switch (mode) {
            case RN -> Math.rint(v);
            case RD -> Math.floor(v);
            case RU -> Math.ceil(v);
            default -> v < 0 ? Math.ceil(v) : Math.floor(v);
        };
        if (!(r >= -2147483648.0 && r <= 2147483647.0)) {
            pre |= IE;
            return INT_INDEFINITE;
        }
        if (r != v) {
            post |= PE;
        }
        return (int) r;
    }

    // ------------------------------------------------------------------ approximations

    /**
     * RCPSS / RSQRTSS: the result rounded to nearest with 12 significant bits (relative error below
     * 2^-12, inside the SDM's bound of 1.5 * 2^-12). The low bits are implementation-defined and
     * differ between CPU models; denormal inputs are treated as zeros and tiny results flushed.
     */
    public static int approx(boolean rsqrt, int a) {
        if (nanS(a)) {
            return a | 0x00400000;
        }
        boolean neg = a < 0;
        int mag = a & 0x7fffffff;
        if (mag < 0x00800000) { // zero or denormal
            return neg ? 0xff800000 : 0x7f800000;
        }
        if (mag == 0x7f800000) {
            return neg && rsqrt ? QNAN_S : neg ? 0x80000000 : 0;
        }
        if (neg && rsqrt) {
            return QNAN_S;
        }
        double x = Float.intBitsToFloat(mag);
        double r = rsqrt ? 1 / Math.sqrt(x) : 1 / x;
        if (r < 0x1p-126) {
            return neg ? 0x80000000 : 0;
        }
        long bits = Double.doubleToRawLongBits(r);
        bits = (bits + (1L << 40)) & ~((1L << 41) - 1); // 12 significant bits
        int f = Float.floatToRawIntBits((float) Double.longBitsToDouble(bits));
        return neg ? f | 0x80000000 : f;
    }

    // ------------------------------------------------------------------ results

    private long invalid(boolean dbl) {
        pre |= IE;
        return dbl ? QNAN_D : QNAN_S & 0xffffffffL;
    }

    private static long exact(double v, boolean dbl) {
        return dbl ? Double.doubleToRawLongBits(v) : Float.floatToRawIntBits((float) v) & 0xffffffffL;
    }

    private static long inf(boolean neg, boolean dbl) {
        return dbl ? (neg ? 0xfff0000000000000L : 0x7ff0000000000000L) : (neg ? 0xff800000L : 0x7f800000L);
    }

    private static long zero(boolean neg, boolean dbl) {
        return !neg ? 0 : dbl ? Long.MIN_VALUE : 0x80000000L;
    }

    private static boolean sign(double v) {
        return (Double.doubleToRawLongBits(v) & Long.MIN_VALUE) != 0;
    }

    private static int sgn(double v) {
        return v > 0 ? 1 : v < 0 ? -1 : 0;
    }

    /** floor(log2 |v|) for finite nonzero v, denormals included. */
    private static int exponent(double v) {
        int e = Math.getExponent(v);
        return e >= Double.MIN_EXPONENT ? e : Math.getExponent(v * 0x1p64) - 64;
    }

    /**
     * Rounds the exact value ({@code s} + a residual of sign {@code rs}, smaller than half an ulp of
     * s) × 2^scale to the target format. {@code s} is finite and nonzero.
     */
    private long roundValue(double s, int rs, int scale, boolean dbl) {
        long bits = Double.doubleToRawLongBits(s);
        boolean neg = bits < 0;
        int be = (int) (bits >>> 52) & 0x7ff;
        long m = bits & 0x000fffffffffffffL;
        int e;
        if (be == 0) {
            e = -1074;
        } else {
            m |= 1L << 52;
            e = be - 1075;
        }
        if (neg) {
            rs = -rs;
        }
        return round(neg, m, e + scale, rs, dbl);
    }

    /**
     * Rounds (-1)^neg × (m + rs·ε) × 2^e (m &gt; 0 with at most 62 significant bits, ε infinitesimal)
     * to float or double bits in the current mode; raises OE, UE, PE (post-computation).
     */
    long round(boolean neg, long m, int e, int rs, boolean dbl) {
        int p = dbl ? 53 : 24;
        int emin = dbl ? -1022 : -126, emax = dbl ? 1023 : 127;
        int sh = Long.numberOfLeadingZeros(m) - 1;
        m <<= sh; // leading bit at 62
        e -= sh;
        if (rs > 0) {
            m |= 1;
        } else if (rs < 0) {
            m -= 1;
            if (Long.numberOfLeadingZeros(m) > 1) { // m was a power of two: keep the leading bit at 62
                m = m << 1 | 1;
                e -= 1;
            }
        }
        int lead = e + 62; // exponent of the leading bit
        boolean tiny = false;
        if (lead < emin) {
            tiny = lead < emin - 1 || !roundsUpToPowerOfTwo(neg, m, 63 - p);
        }
        int kept = lead >= emin ? p : p - (emin - lead);
        int shift = 63 - kept;
        long q, rem, half;
        if (shift >= 64) {
            q = 0;
            rem = m;
            half = Long.MAX_VALUE;
        } else {
            q = m >>> shift;
            rem = m & ((1L << shift) - 1);
            half = 1L << (shift - 1);
        }
        boolean inexact = rem != 0;
        if (roundUp(neg, q, rem, half)) {
            q++;
        }
        long signBit = neg ? (dbl ? Long.MIN_VALUE : 0x80000000L) : 0;
        if (kept == p) {
            if (q == 1L << p) {
                q >>>= 1;
                lead++;
            }
            if (lead > emax) {
                // masked: always inexact; unmasked: PE when the full-precision result is inexact (host-checked)
                post |= (masks & OE) != 0 || inexact ? OE | PE : OE;
                boolean toInf = rc == RN || rc == RU && !neg || rc == RD && neg;
                if (toInf) {
                    return inf(neg, dbl);
                }
                return signBit | (dbl ? 0x7fefffffffffffffL : 0x7f7fffffL);
            }
            if (inexact) {
                post |= PE;
            }
            long biased = lead + (dbl ? 1023 : 127);
            return signBit | biased << (p - 1) | (q & ((1L << (p - 1)) - 1));
        }
        if (tiny) {
            if ((masks & UE) == 0) {
                // unmasked underflow: PE when the result rounded to full precision with an unbounded
                // exponent is inexact (SDM vol. 1 §11.5.2.3; host-checked on AMD EPYC)
                boolean inexactP = (m & ((1L << (63 - p)) - 1)) != 0;
                post |= inexactP ? UE | PE : UE;
            } else if (ftz) {
                post |= UE | PE;
                return signBit;
            } else if (inexact) {
                post |= UE | PE;
            }
        } else if (inexact) {
            post |= PE;
        }
        return signBit | q; // a denormal (or the smallest normal after a carry)
    }

    private boolean roundUp(boolean neg, long q, long rem, long half) {
        if (rem == 0) {
            return false;
        }
        return switch (rc) {
            case RN -> rem > half || rem == half && (q & 1) != 0;
            case RD -> neg;
            case RU -> !neg;
            default -> false;
        };
    }

    /** Whether rounding m (leading bit 62) to 63 - shift bits carries into a new power of two. */
    private boolean roundsUpToPowerOfTwo(boolean neg, long m, int shift) {
        long q = m >>> shift;
        long rem = m & ((1L << shift) - 1);
        return roundUp(neg, q, rem, 1L << (shift - 1)) && Long.bitCount(q + 1) == 1;
    }
}
