package org.xenj.hypervisor.internal.cpu.fpu;

/**
 * Exact 80-bit arithmetic: add, subtract, multiply, divide, square root and compare on the
 * unpacked operands a/b, with one correct rounding per the control word's RC and PC, and the
 * x87's masked/unmasked responses to invalid, denormal, zero-divide, overflow, underflow and
 * precision. Significands are 64-bit {@code long}s; wider intermediates are (hi, lo) pairs.
 */
abstract class X87Arith extends X87State {

    static final int OP_ADD = 0, OP_MUL = 1, OP_SUB = 4, OP_DIV = 6;
    /** Exponent adjustment for unmasked overflow/underflow results (IEEE 754 "bias adjust"). */
    static final int BIAS_ADJUST = 24576;

    /** Scratch for {@link #shiftRightJam}. */
    long tHi, tLo;

    X87Arith(FpuMemory mem) {
        super(mem);
    }

    /** Shifts the 128-bit (hi, lo) right by n, OR-ing every bit shifted out into the lowest bit. */
    final void shiftRightJam(long hi, long lo, int n) {
        if (n == 0) {
            tHi = hi;
            tLo = lo;
        } else if (n < 64) {
            tLo = hi << (64 - n) | lo >>> n | ((lo << (64 - n)) != 0 ? 1 : 0);
            tHi = hi >>> n;
        } else if (n == 64) {
            tLo = hi | (lo != 0 ? 1 : 0);
            tHi = 0;
        } else if (n < 128) {
            tLo = hi >>> (n - 64) | (((hi << (128 - n)) | lo) != 0 ? 1 : 0);
            tHi = 0;
        } else {
            tLo = (hi | lo) != 0 ? 1 : 0;
            tHi = 0;
        }
    }

    /** Set by {@link #roundSig}: the discarded bits were nonzero / the kept part was incremented. */
    boolean rInexact, rInc;

    /**
     * Rounds (hi, lo) to the top {@code prec} bits of hi per RC. Returns the kept bits (low bits
     * cleared); 0 means the increment carried out of bit 63 (the caller renormalizes).
     */
    final long roundSig(boolean neg, long hi, long lo, int prec) {
        long unit = prec == 64 ? 1 : 1L << (64 - prec);
        long mask = unit - 1;
        boolean half;
        boolean rest;
        if (prec == 64) {
            half = lo < 0;
            rest = (lo << 1) != 0;
        } else {
            half = (hi & (unit >>> 1)) != 0;
            rest = (hi & (mask >>> 1)) != 0 || lo != 0;
        }
        boolean inexact = half || rest;
        boolean inc = switch (rc()) {
            case RC_NEAREST -> half && (rest || (hi & unit) != 0);
            case RC_DOWN -> inexact && neg;
            case RC_UP -> inexact && !neg;
            default -> false;
        };
        rInexact = inexact;
        rInc = inc;
        hi &= ~mask;
        return inc ? hi + unit : hi;
    }

    /**
     * Rounds the normalized value (hi has its top bit set; lo holds the bits below) with biased
     * exponent {@code exp} to {@code prec} significand bits, handling denormal results, overflow
     * and underflow; sets C1 (rounded up), PE, UE, OE; the result goes to rSig/rSe. Tininess is
     * detected after rounding, as measured on the host (AMD).
     */
    final void roundPack(boolean neg, int exp, long hi, long lo, int prec) {
        int flags = 0;
        if (exp == 0 && roundSig(neg, hi, lo, prec) == 0) {
            // rounds up to the smallest normal: not tiny (AMD detects tininess after rounding)
            exp = 1;
            hi = INTEGER_BIT;
            lo = 0;
            flags = PE;
            setC1(true);
            setResult(neg, exp, hi);
            signal(flags);
            return;
        }
        if (exp <= 0 && (cw & UE) == 0) {
            exp += BIAS_ADJUST;
            flags |= UE;
        }
        boolean tiny = false;
        if (exp <= 0) {
            tiny = true;
            shiftRightJam(hi, lo, 1 - exp);
            hi = tHi;
            lo = tLo;
            exp = 0;
        }
        hi = roundSig(neg, hi, lo, prec);
        boolean inexact = rInexact;
        boolean inc = rInc;
        long mask = prec == 64 ? 0 : (1L << (64 - prec)) - 1;
        if (inc) {
            if (hi == 0) {
                hi = INTEGER_BIT;
                exp++;
            } else if (exp == 0 && hi < 0) {
                exp = 1; // a denormal rounded up into the normal range
            }
        }
        int rc = rc();
        if (exp >= EXP_MAX) {
            if ((cw & OE) == 0 && exp - BIAS_ADJUST < EXP_MAX) {
                exp -= BIAS_ADJUST;
                flags |= OE;
            } else {
                flags |= OE | PE;
                inexact = true;
                if (rc == RC_NEAREST || rc == RC_DOWN && neg || rc == RC_UP && !neg) {
                    exp = EXP_MAX;
                    hi = INTEGER_BIT;
                    inc = true;
                } else {
                    exp = EXP_MAX - 1;
                    hi = ~mask;
                    inc = false;
                }
            }
        }
        if (tiny && inexact) {
            flags |= UE;
        }
        if (inexact) {
            flags |= PE;
        }
        setC1(inc);
        setResult(neg, exp, hi);
        signal(flags);
    }

    /** Exact value (no rounding needed beyond 64 bits), still checked for tiny/overflow. */
    final void packExact(boolean neg, int exp, long s) {
        if (s == 0) {
            setResult(neg, 0, 0);
            return;
        }
        int lz = Long.numberOfLeadingZeros(s);
        roundPack(neg, exp - lz, s << lz, 0, 64);
    }

    /** Invalid operation: masked response is the QNaN indefinite. False if unmasked (no write). */
    final boolean invalid() {
        if (signal(IE)) {
            return false;
        }
        setIndefinite();
        return true;
    }

    /** NaN/unsupported operand handling for two-operand operations (a and b unpacked). */
    final boolean nanResult() {
        if (aCls == UNSUPPORTED || bCls == UNSUPPORTED) {
            return invalid();
        }
        if ((aCls == SNAN || bCls == SNAN) && signal(IE)) {
            return false;
        }
        boolean pickA;
        if (aCls == SNAN) {
            pickA = bCls == SNAN ? largerSignificandIsA() : !isNan(bCls);
        } else if (aCls == QNAN) {
            pickA = bCls == SNAN || !isNan(bCls) || largerSignificandIsA();
        } else {
            pickA = false;
        }
        if (pickA) {
            setResult(aNeg, EXP_MAX, aSig | QUIET_BIT);
        } else {
            setResult(bNeg, EXP_MAX, bSig | QUIET_BIT);
        }
        return true;
    }

    private boolean largerSignificandIsA() {
        long as = aSig | QUIET_BIT;
        long bs = bSig | QUIET_BIT;
        int c = Long.compareUnsigned(as, bs);
        return c != 0 ? c > 0 : !aNeg;
    }

    /** NaN/unsupported handling for one-operand operations on a. */
    final boolean nanUnary() {
        if (aCls == UNSUPPORTED) {
            return invalid();
        }
        if (aCls == SNAN && signal(IE)) {
            return false;
        }
        setResult(aNeg, EXP_MAX, aSig | QUIET_BIT);
        return true;
    }

    /** Raises DE when a or b is denormal; true if that is unmasked (operation suppressed). */
    final boolean denormalTrap(boolean checkB) {
        if (aCls == DENORMAL || checkB && bCls == DENORMAL) {
            return signal(DE);
        }
        return false;
    }

    /**
     * a (op) b with {@code op} one of OP_ADD, OP_SUB, OP_MUL, OP_DIV, rounded to {@code prec} bits.
     * Returns false when an unmasked exception suppresses writing the destination.
     */
    final boolean arith(int op, int prec) {
        sw &= ~C1;
        if (aCls >= QNAN || bCls >= QNAN) {
            return nanResult();
        }
        boolean aInf = aCls == INF, bInf = bCls == INF;
        boolean aZero = aCls == ZERO, bZero = bCls == ZERO;
        switch (op) {
            case OP_ADD, OP_SUB -> {
                boolean bn = op == OP_SUB ? !bNeg : bNeg;
                if (aInf && bInf && aNeg != bn) {
                    return invalid();
                }
                if (denormalTrap(true)) {
                    return false;
                }
                if (aInf || bInf) {
                    setResult(aInf ? aNeg : bn, EXP_MAX, INTEGER_BIT);
                } else if (aZero && bZero) {
                    setResult(aNeg == bn ? aNeg : rc() == RC_DOWN, 0, 0);
                } else if (aZero) {
                    roundPack(bn, bExp, bSig, 0, prec);
                } else if (bZero) {
                    roundPack(aNeg, aExp, aSig, 0, prec);
                } else {
                    addFinite(aNeg, aExp, aSig, bn, bExp, bSig, prec);
                }
                return true;
            }
            case OP_MUL -> {
                boolean neg = aNeg ^ bNeg;
                if (aInf && bZero || aZero && bInf) {
                    return invalid();
                }
                if (denormalTrap(true)) {
                    return false;
                }
                if (aInf || bInf) {
                    setResult(neg, EXP_MAX, INTEGER_BIT);
                } else if (aZero || bZero) {
                    setResult(neg, 0, 0);
                } else {
                    long lo = aSig * bSig;
                    long hi = Math.multiplyHigh(aSig, bSig) + (aSig >> 63 & bSig) + (bSig >> 63 & aSig);
                    int exp = aExp + bExp - BIAS + 1;
                    if (hi >= 0) {
                        hi = hi << 1 | lo >>> 63;
                        lo <<= 1;
                        exp--;
                    }
                    roundPack(neg, exp, hi, lo, prec);
                }
                return true;
            }
            default -> {
                boolean neg = aNeg ^ bNeg;
                if (aInf && bInf || aZero && bZero) {
                    return invalid();
                }
                if (bZero && !aInf) { // x / 0: only ZE, even for a denormal x (measured on AMD)
                    if (signal(ZE)) {
                        return false;
                    }
                    setResult(neg, EXP_MAX, INTEGER_BIT);
                    return true;
                }
                if (denormalTrap(true)) {
                    return false;
                }
                if (aInf) {
                    setResult(neg, EXP_MAX, INTEGER_BIT);
                } else if (bInf || aZero) {
                    setResult(neg, 0, 0);
                } else if (bZero) {
                    if (signal(ZE)) {
                        return false;
                    }
                    setResult(neg, EXP_MAX, INTEGER_BIT);
                } else {
                    divide(neg, aExp, aSig, bExp, bSig, prec);
                }
                return true;
            }
        }
    }

    private void addFinite(boolean an, int ae, long as, boolean bn, int be, long bs, int prec) {
        if (ae < be || ae == be && Long.compareUnsigned(as, bs) < 0) {
            boolean tn = an;
            an = bn;
            bn = tn;
            int te = ae;
            ae = be;
            be = te;
            long ts = as;
            as = bs;
            bs = ts;
        }
        // now |a| >= |b|
        shiftRightJam(bs, 0, ae - be);
        long bh = tHi, bl = tLo;
        long hi, lo;
        int exp = ae;
        if (an == bn) {
            lo = bl;
            hi = as + bh;
            if (Long.compareUnsigned(hi, as) < 0) { // carry out of bit 63
                shiftRightJam(hi, lo, 1);
                hi = tHi | INTEGER_BIT;
                lo = tLo;
                exp++;
            }
        } else {
            lo = -bl;
            hi = as - bh - (bl != 0 ? 1 : 0);
            if (hi == 0 && lo == 0) {
                setResult(rc() == RC_DOWN, 0, 0);
                sw &= ~C1;
                return;
            }
            int lz = hi != 0 ? Long.numberOfLeadingZeros(hi) : 64 + Long.numberOfLeadingZeros(lo);
            if (lz >= 64) {
                hi = lo << (lz - 64);
                lo = 0;
            } else if (lz > 0) {
                hi = hi << lz | lo >>> (64 - lz);
                lo <<= lz;
            }
            exp -= lz;
        }
        roundPack(an, exp, hi, lo, prec);
    }

    private void divide(boolean neg, int ae, long as, int be, long bs, int prec) {
        int exp = ae - be + BIAS;
        long rem = as;
        boolean remHi = false;
        if (Long.compareUnsigned(as, bs) < 0) {
            remHi = rem < 0;
            rem <<= 1;
            exp--;
        }
        long qHi = 0, qLo = 0;
        for (int i = 0; i < 128; i++) {
            boolean bit = remHi || Long.compareUnsigned(rem, bs) >= 0;
            if (bit) {
                rem -= bs;
            }
            qHi = qHi << 1 | qLo >>> 63;
            qLo = qLo << 1 | (bit ? 1 : 0);
            remHi = rem < 0;
            rem <<= 1;
        }
        if (rem != 0 || remHi) {
            qLo |= 1;
        }
        roundPack(neg, exp, qHi, qLo, prec);
    }

    /** Square root of a (unpacked) rounded to {@code prec}; false if an unmasked exception suppresses the write. */
    final boolean sqrt(int prec) {
        sw &= ~C1;
        if (aCls >= QNAN) {
            return nanUnary();
        }
        if (aCls == ZERO) {
            setResult(aNeg, 0, 0);
            return true;
        }
        if (aNeg) {
            return invalid();
        }
        if (denormalTrap(false)) {
            return false;
        }
        if (aCls == INF) {
            setResult(false, EXP_MAX, INTEGER_BIT);
            return true;
        }
        int e = aExp - BIAS;
        long nHi, nLo;
        int resultExp;
        if ((e & 1) != 0) {
            nHi = aSig;
            nLo = 0;
            resultExp = (e - 1) >> 1;
        } else {
            nHi = aSig >>> 1;
            nLo = aSig << 63;
            resultExp = e >> 1;
        }
        // digit-by-digit square root of the 128-bit (nHi, nLo): 64 result bits, remainder kept in 66 bits
        long root = 0;
        long remLo = 0;
        int remHi = 0;
        for (int i = 0; i < 64; i++) {
            int two = (int) (nHi >>> 62);
            nHi = nHi << 2 | nLo >>> 62;
            nLo <<= 2;
            remHi = remHi << 2 | (int) (remLo >>> 62);
            remLo = remLo << 2 | two;
            // trial = root * 4 + 1 as a 66-bit value
            int trialHi = (int) (root >>> 62);
            long trialLo = root << 2 | 1;
            if (remHi > trialHi || remHi == trialHi && Long.compareUnsigned(remLo, trialLo) >= 0) {
                long newLo = remLo - trialLo;
                remHi = remHi - trialHi - (Long.compareUnsigned(remLo, trialLo) < 0 ? 1 : 0);
                remLo = newLo;
                root = root << 1 | 1;
            } else {
                root <<= 1;
            }
        }
        long extra;
        if (remHi == 0 && remLo == 0) {
            extra = 0;
        } else if (remHi > 0 || Long.compareUnsigned(remLo, root) > 0) {
            extra = INTEGER_BIT | 1; // above the half-way point (exactly half is impossible)
        } else {
            extra = 1;
        }
        roundPack(false, resultExp + BIAS, root, extra, prec);
        return true;
    }

    /** Set by {@link #compare}: an unmasked exception was raised (the caller must not pop). */
    boolean compareTrapped;

    /**
     * Compares a with b. Returns 0 (a &gt; b), 1 (a &lt; b), 2 (equal) or 3 (unordered); the result is
     * valid even when an exception is unmasked ({@link #compareTrapped}), as measured on hardware. {@code quiet}: only SNaN/unsupported
     * operands are invalid (FUCOM), otherwise any NaN (FCOM).
     */
    final int compare(boolean quiet) {
        compareTrapped = false;
        if (aCls >= QNAN || bCls >= QNAN) {
            boolean inv = !quiet || aCls == SNAN || aCls == UNSUPPORTED || bCls == SNAN || bCls == UNSUPPORTED;
            if (inv) {
                compareTrapped = signal(IE);
            }
            return 3;
        }
        compareTrapped = denormalTrap(true);
        if (aCls == ZERO && bCls == ZERO) {
            return 2;
        }
        if (aNeg != bNeg) {
            return aNeg ? 1 : 0;
        }
        int mag = compareMagnitude();
        if (mag == 0) {
            return 2;
        }
        return (mag > 0) != aNeg ? 0 : 1;
    }

    private int compareMagnitude() {
        int ra = aCls == ZERO ? 0 : aCls == INF ? 2 : 1;
        int rb = bCls == ZERO ? 0 : bCls == INF ? 2 : 1;
        if (ra != rb || ra != 1) {
            return Integer.compare(ra, rb);
        }
        if (aExp != bExp) {
            return Integer.compare(aExp, bExp);
        }
        return Long.compareUnsigned(aSig, bSig);
    }

    /** Condition codes C3/C2/C0 for a {@link #compare} result. */
    static int compareCodes(int result) {
        return switch (result) {
            case 0 -> 0;
            case 1 -> C0;
            case 2 -> C3;
            default -> C3 | C2 | C0;
        };
    }
}
