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

    /** a (finite, nonzero, unpacked) as a double; exponent outside double's range saturates naturally. */
    final double aToDouble() {
        double m = (double) (aSig >>> 1) * 2.0; // round-to-nearest of the 64-bit significand
        double d = Math.scalb(m, aExp - BIAS - 63);
        return aNeg ? -d : d;
    }

    final double bToDouble() {
        double m = (double) (bSig >>> 1) * 2.0;
        double d = Math.scalb(m, bExp - BIAS - 63);
        return bNeg ? -d : d;
    }

    final void resultFromDouble(double d) {
        doubleToExt(Double.doubleToRawLongBits(d));
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
        double x = aToDouble();
        double r = fn == T_SIN ? Math.sin(x) : fn == T_COS ? Math.cos(x) : Math.tan(x);
        resultFromDouble(r);
        signal(PE);
        return 1;
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
        resultFromDouble(Math.expm1(aToDouble() * LN2));
        signal(PE);
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
                double l = Math.log1p(aToDouble()) / LN2;
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
        } else { // log2(m * 2^e) = e + log2(m), m in [1, 2)
            double m = (double) (aSig >>> 1) * 2.0 / 0x1p63;
            resultFromDouble((aExp - BIAS) + Math.log(m) / LN2);
        }
        unpackA(rSig, rSe);
        bNeg = yNeg;
        bExp = yExp;
        bSig = ySig;
        bCls = yCls == DENORMAL ? NORMAL : yCls;
        boolean ok = arith(OP_MUL, 64);
        if (ok && aCls == NORMAL && bCls == NORMAL) {
            signal(PE);
        }
        return ok;
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
        if (aCls != ZERO && aCls != INF && bCls != ZERO && bCls != INF) {
            int k = Math.max(aExp, bExp);
            aExp -= k - BIAS;
            bExp -= k - BIAS;
            x = aToDouble();
            y = bToDouble();
        } else {
            if (aCls != ZERO && aCls != INF) {
                x = aNeg ? -1 : 1;
            }
            if (bCls != ZERO && bCls != INF) {
                y = bNeg ? -1 : 1;
            }
        }
        double r = Math.atan2(y, x);
        resultFromDouble(r);
        if (r != 0) {
            signal(PE);
        }
        return true;
    }
}
