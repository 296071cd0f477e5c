package org.xenj.hypervisor.internal.cpu.fpu;

/**
 * Transcendental instructions (FSIN, FCOS, FSINCOS, FPTAN, FPATAN, F2XM1, FYL2X, FYL2XP1).
 * Special operands (NaN, infinities, zeros, out-of-range arguments) follow the x87 rules exactly;
 * finite results are computed in double precision and are therefore accurate to about 2^-52
 * relative, not to the hardware's last bit — the differential tests compare these with a
 * tolerance. Logarithm scaling by y uses the exact extended multiply so that huge or tiny
 * exponents outside double's range still work.
 */
abstract class X87Transcendental extends X87Convert {

    static final int T_SIN = 0, T_COS = 1, T_TAN = 2;
    private static final double LN2 = 0.6931471805599453;
    static final long LN2_SIG = 0xB172_17F7_D1CF_79ACL;
    static final long LOG2E_SIG = 0xB8AA_3B29_5C17_F0BCL;

    X87Transcendental(FpuMemory mem) {
        super(mem);
    }

    /** The top 53 bits of a 64-bit significand as an exact double (the value's "head"). */
    static double head(long sig, int exp, boolean neg) {
        double d = Math.scalb((double) (sig >>> 11), exp - BIAS - 52);
        return neg ? -d : d;
    }

    /** The low 11 bits as an exact double: head + tail is the extended value exactly. */
    static double tail(long sig, int exp, boolean neg) {
        double d = Math.scalb((double) (sig & 0x7ff), exp - BIAS - 63);
        return neg ? -d : d;
    }

    final void resultFromDouble(double d) {
        doubleToExt(Double.doubleToRawLongBits(d));
    }

    /** Flags of an approximated (inexact) result: PE, and UE when it came out denormal. */
    final void approximateFlags() {
        int flags = PE;
        if ((rSe & EXP_MAX) == 0 && rSig != 0) {
            flags |= UE;
        }
        signal(flags);
    }

    /** sin/cos/tan of a. Returns 1 = done, 0 = unmasked exception (no write), 2 = out of range (C2 set). */
    final int trig(int fn) {
        sw &= ~(C1 | C2);
        if (aCls >= QNAN) {
            return nanUnary() ? 1 : 0;
        }
        if (aCls == INF) {
            return invalid() ? 1 : 0;
        }
        if (aCls == ZERO) {
            if (fn == T_COS) {
                setResult(false, BIAS, INTEGER_BIT);
            } else {
                setResult(aNeg, 0, 0);
            }
            return 1;
        }
        if (denormalTrap(false)) {
            return 0;
        }
        if (aExp - BIAS >= 63) {
            sw |= C2;
            return 2;
        }
        if (aExp - BIAS < -33) { // sin x = tan x = x, cos x = 1 to extended precision
            if (fn == T_COS) {
                setResult(false, BIAS, INTEGER_BIT);
                signal(PE);
            } else {
                roundPack(aNeg, aExp, aSig, 0, 64);
                signal(PE);
            }
            return 1;
        }
        // f(h + t) = f(h) + f'(h) t: the tail carries the 11 significand bits a double drops
        double h = head(aSig, aExp, aNeg);
        double t = tail(aSig, aExp, aNeg);
        double r;
        if (Math.abs(h) < 0x1p20) {
            resultFromDouble(reducedTrig(fn, h, t));
            approximateFlags();
            return 1;
        }
        if (fn == T_SIN) {
            r = Math.sin(h) + Math.cos(h) * t;
        } else if (fn == T_COS) {
            r = Math.cos(h) - Math.sin(h) * t;
        } else {
            double tan = Math.tan(h);
            r = tan + (1 + tan * tan) * t;
        }
        resultFromDouble(r);
        approximateFlags();
        return 1;
    }

    /** pi/2 rounded to 66 bits, the hardware's reduction constant, in three exact 22-bit pieces. */
    private static final double PIO2_1 = 0x3243f6 * 0x1p-21;
    private static final double PIO2_2 = 0x2a2216 * 0x1p-43;
    private static final double PIO2_3 = 0x2308d3 * 0x1p-65;

    /** Error of the floating-point sum s = a + b (Knuth's TwoSum). */
    private static double sumError(double a, double b, double s) {
        double bb = s - a;
        return (a - (s - bb)) + (b - bb);
    }

    /**
     * sin/cos/tan of h + t (|h| &lt; 2^20) with the argument reduced like the x87 does it: modulo
     * pi/2 as a 66-bit constant, so that results near the function's zeros match the hardware
     * rather than the exact value. The reduced argument is kept as a double-double (rh, rl).
     */
    private static double reducedTrig(int fn, double h, double t) {
        double k = Math.rint(h * (2 / Math.PI));
        double r = h - k * PIO2_1; // exact: 42-bit product, Sterbenz subtraction
        double p2 = k * PIO2_2;
        double s1 = r - p2;
        double e = sumError(r, -p2, s1);
        double p3 = k * PIO2_3;
        double s2 = s1 - p3;
        e += sumError(s1, -p3, s2);
        double s3 = s2 + t;
        e += sumError(s2, t, s3);
        double rh = s3 + e;
        double rl = e - (rh - s3);
        int q = (int) (long) k & 3;
        double sin = Math.sin(rh) + Math.cos(rh) * rl;
        double cos = Math.cos(rh) - Math.sin(rh) * rl;
        if (fn == T_TAN) {
            if ((q & 1) == 0) {
                double tan = Math.tan(rh);
                return tan + (1 + tan * tan) * rl;
            }
            double cot = 1 / Math.tan(rh);
            return -(cot - (1 + cot * cot) * rl);
        }
        if (fn == T_COS) {
            q = (q + 1) & 3; // cos x = sin(x + pi/2)
        }
        return switch (q) {
            case 0 -> sin;
            case 1 -> cos;
            case 2 -> -sin;
            default -> -cos;
        };
    }

    /** F2XM1: 2^a - 1. */
    final boolean twoXMinus1() {
        sw &= ~C1;
        if (aCls >= QNAN) {
            return nanUnary();
        }
        if (aCls == ZERO) {
            setResult(aNeg, 0, 0);
            return true;
        }
        if (aCls == INF) {
            if (aNeg) {
                setResult(true, BIAS, INTEGER_BIT);
            } else {
                setResult(false, EXP_MAX, INTEGER_BIT);
            }
            return true;
        }
        if (denormalTrap(false)) {
            return false;
        }
        if (aExp - BIAS < -60) { // 2^x - 1 = x ln 2 to extended precision
            unpackB(LN2_SIG, BIAS - 1);
            return arith(OP_MUL, 64);
        }
        double h = head(aSig, aExp, aNeg);
        double e = Math.expm1(h * LN2);
        resultFromDouble(e + (e + 1) * LN2 * tail(aSig, aExp, aNeg));
        approximateFlags();
        return true;
    }

    /** FYL2X (plusOne=false): b * log2(a); FYL2XP1: b * log2(a + 1). a = ST0, b = ST1. */
    final boolean yLog2X(boolean plusOne) {
        sw &= ~C1;
        if (aCls >= QNAN || bCls >= QNAN) {
            return nanResult();
        }
        if (plusOne) {
            if (aCls == INF || aCls == ZERO && bCls == INF) {
                return invalid();
            }
        } else if (aNeg && aCls != ZERO || aCls == ZERO && bCls == ZERO || aCls == INF && bCls == ZERO) {
            return invalid();
        }
        if (denormalTrap(true)) {
            return false;
        }
        boolean yNeg = bNeg;
        int yExp = bExp;
        long ySig = bSig;
        int yCls = bCls;
        // L = log2(x) or log2(1 + x) into rSig/rSe, then y * L with the exact multiply
        if (plusOne) {
            if (aCls == ZERO) {
                if (yCls == INF) {
                    return invalid();
                }
                setResult(aNeg ^ yNeg, 0, 0);
                return true;
            }
            if (aExp - BIAS < -60) { // log2(1 + x) = x * log2(e) to extended precision
                unpackB(LOG2E_SIG, BIAS);
                if (!arith(OP_MUL, 64)) {
                    return false;
                }
            } else {
                double h = head(aSig, aExp, aNeg);
                double l = (Math.log1p(h) + tail(aSig, aExp, aNeg) / (1 + h)) / LN2;
                if (Double.isNaN(l)) {
                    return invalid();
                }
                resultFromDouble(l);
            }
        } else if (aCls == ZERO) {
            if (signal(ZE)) {
                return false;
            }
            setResult(true, EXP_MAX, INTEGER_BIT);
        } else if (aCls == INF) {
            setResult(false, EXP_MAX, INTEGER_BIT);
        } else {
            resultFromDouble(log2(aExp - BIAS, aSig));
        }
        unpackA(rSig, rSe);
        bNeg = yNeg;
        bExp = yExp;
        bSig = ySig;
        bCls = yCls == DENORMAL ? NORMAL : yCls;
        boolean ok = arith(OP_MUL, 64);
        if (ok && aCls == NORMAL && bCls == NORMAL) {
            approximateFlags();
        }
        return ok;
    }

    /**
     * log2 of sig * 2^(e - 63) (sig normalized). Near 1 (e = -1 or 0) it goes through log1p of the
     * exact difference x - 1, avoiding the cancellation of e + log2(m).
     */
    private static double log2(int e, long sig) {
        if (e == 0 || e == -1) {
            // x - 1 exactly in fixed point: f * 2^-63 for x in [1, 2), f * 2^-64 for x in [0.5, 1)
            long f = e == 0 ? sig ^ Long.MIN_VALUE : sig;
            int scale = e == 0 ? 63 : 64;
            double hi = Math.scalb((double) (f >> 11), 11 - scale);
            double lo = Math.scalb((double) (f & 0x7ff), -scale);
            return (Math.log1p(hi) + lo / (1 + hi)) / LN2;
        }
        double mh = head(sig, BIAS, false);
        double ml = tail(sig, BIAS, false);
        return e + (Math.log(mh) + ml / mh) / LN2;
    }

    /** FPATAN: atan(b / a) with the quadrant of (a, b) = (ST0, ST1). */
    final boolean arcTan() {
        sw &= ~C1;
        if (aCls >= QNAN || bCls >= QNAN) {
            return nanResult();
        }
        if (denormalTrap(true)) {
            return false;
        }
        double x = aCls == ZERO ? (aNeg ? -0.0 : 0.0) : aCls == INF ? (aNeg ? -1.0 / 0 : 1.0 / 0) : 0;
        double y = bCls == ZERO ? (bNeg ? -0.0 : 0.0) : bCls == INF ? (bNeg ? -1.0 / 0 : 1.0 / 0) : 0;
        double correction = 0;
        if (aCls != ZERO && aCls != INF && bCls != ZERO && bCls != INF) {
            if (!aNeg && bExp - aExp < -30) {
                // atan(y/x) = y/x to extended precision; the exact divide also gets denormals right
                boolean yNeg = bNeg;
                int yExp = bExp;
                long ySig = bSig;
                int yCls = bCls;
                bNeg = aNeg;
                bExp = aExp;
                bSig = aSig;
                bCls = aCls;
                aNeg = yNeg;
                aExp = yExp;
                aSig = ySig;
                aCls = yCls;
                boolean ok = arith(OP_DIV, 64);
                if (ok) {
                    approximateFlags();
                }
                return ok;
            }
            int k = Math.max(aExp, bExp);
            aExp -= k - BIAS;
            bExp -= k - BIAS;
            x = head(aSig, aExp, aNeg);
            y = head(bSig, bExp, bNeg);
            double xl = tail(aSig, aExp, aNeg);
            double yl = tail(bSig, bExp, bNeg);
            correction = (x * yl - y * xl) / (x * x + y * y);
        } else {
            if (aCls != ZERO && aCls != INF) {
                x = aNeg ? -1 : 1;
            }
            if (bCls != ZERO && bCls != INF) {
                y = bNeg ? -1 : 1;
            }
        }
        double r = Math.atan2(y, x);
        if (correction != 0) {
            r += correction; // (never on signed zeros: -0 + 0 would lose the sign)
        }
        resultFromDouble(r);
        if (r != 0) {
            approximateFlags();
        }
        return true;
    }
}
