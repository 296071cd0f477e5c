package org.xenj.hypervisor.internal.cpu.fpu;

/**
 * Exact operations around integers and exponents: rounding to an integer (FRNDINT and the
 * integer stores), FSCALE, FXTRACT's parts and the partial remainders FPREM/FPREM1.
 */
abstract class X87Round extends X87Arith {

    /** Set by {@link #roundToIntMagnitude}. */
    boolean iInexact, iInc, iHuge;

    X87Round(FpuMemory mem) {
        super(mem);
    }

    /**
     * Rounds the finite value (normalized exponent/significand) to an integer per {@code rc} and
     * returns its magnitude; {@link #iHuge} when it is 2^64 or more.
     */
    final long roundToIntMagnitude(boolean neg, int exp, long s, int rc) {
        iInexact = false;
        iInc = false;
        iHuge = false;
        int unb = exp - BIAS;
        if (unb >= 64) {
            iHuge = true;
            return 0;
        }
        if (unb == 63) {
            return s;
        }
        long ip;
        boolean half;
        boolean rest;
        if (unb >= 0) {
            int sh = 63 - unb;
            ip = s >>> sh;
            long frac = s << (64 - sh);
            half = frac < 0;
            rest = (frac << 1) != 0;
        } else if (unb == -1) {
            ip = 0;
            half = true;
            rest = (s << 1) != 0;
        } else {
            ip = 0;
            half = false;
            rest = s != 0;
        }
        iInexact = half || rest;
        iInc = switch (rc) {
            case RC_NEAREST -> half && (rest || (ip & 1) != 0);
            case RC_DOWN -> iInexact && neg;
            case RC_UP -> iInexact && !neg;
            default -> false;
        };
        return iInc ? ip + 1 : ip;
    }

    /** FRNDINT on a (unpacked ST0). False if an unmasked exception suppresses the write. */
    final boolean roundToInteger() {
        sw &= ~C1;
        if (aCls >= QNAN) {
            return nanUnary();
        }
        if (denormalTrap(false)) {
            return false;
        }
        if (aCls == ZERO || aCls == INF || aExp - BIAS >= 63) {
            setResult(aNeg, aCls == ZERO ? 0 : aExp, aSig);
            return true;
        }
        long mag = roundToIntMagnitude(aNeg, aExp, aSig, rc());
        if (mag == 0) {
            setResult(aNeg, 0, 0);
        } else {
            int lz = Long.numberOfLeadingZeros(mag);
            setResult(aNeg, BIAS + 63 - lz, mag << lz);
        }
        setC1(iInc);
        if (iInexact) {
            signal(PE);
        }
        return true;
    }

    /** FSCALE: a * 2^trunc(b). False if an unmasked exception suppresses the write. */
    final boolean scale() {
        sw &= ~C1;
        if (aCls >= QNAN || bCls >= QNAN) {
            return nanResult();
        }
        if (bCls == INF) {
            if (bNeg ? aCls == INF : aCls == ZERO) {
                return invalid();
            }
            if (denormalTrap(false)) {
                return false;
            }
            setResult(aNeg, bNeg ? 0 : EXP_MAX, bNeg ? 0 : INTEGER_BIT);
            return true;
        }
        if (denormalTrap(true)) {
            return false;
        }
        if (aCls == ZERO || aCls == INF) {
            setResult(aNeg, aCls == ZERO ? 0 : EXP_MAX, aSig);
            return true;
        }
        int n;
        int unb = bExp - BIAS;
        if (bCls == ZERO || unb < 0) {
            n = 0;
        } else if (unb >= 17) {
            n = 1 << 17;
        } else {
            n = (int) (bSig >>> (63 - unb));
        }
        roundPack(aNeg, aExp + (bNeg ? -n : n), aSig, 0, 64);
        return true;
    }

    /** Converts a small integer exactly to extended (FXTRACT's exponent, FILD helpers). */
    final void intToExt(long v) {
        if (v == 0) {
            setResult(false, 0, 0);
            return;
        }
        boolean neg = v < 0;
        long mag = neg ? -v : v; // -2^63 stays 0x8000.., the right unsigned magnitude
        int lz = Long.numberOfLeadingZeros(mag);
        setResult(neg, BIAS + 63 - lz, mag << lz);
    }

    /**
     * FPREM (truncating) / FPREM1 (round to nearest) of a by b; sets C2 (incomplete) and the low
     * quotient bits in C0/C3/C1. False if an unmasked exception suppresses the write.
     */
    final boolean partialRemainder(boolean nearest, long rawASig, int rawASe) {
        if (aCls >= QNAN || bCls >= QNAN) {
            sw &= ~(C1 | C2);
            return nanResult();
        }
        if (aCls == INF || bCls == ZERO) {
            sw &= ~(C1 | C2);
            return invalid();
        }
        if (denormalTrap(true)) {
            return false;
        }
        if (aCls == ZERO || bCls == INF || aExp - bExp < (nearest ? -1 : 0)) {
            setConditionCodes(0); // quotient 0, complete: ST0 unchanged
            rSig = rawASig;
            rSe = (rawASe & EXP_MAX) == 0 && rawASig < 0 ? rawASe | 1 : rawASe; // pseudo-denormal comes back normal
            return true;
        }
        int d = aExp - bExp;
        boolean partial = d >= 64;
        int steps = partial ? (d & 31) | 32 : d;
        int scaleExp = bExp + (d - steps);
        long bs = bSig;
        long rem = aSig;
        long q = 0;
        boolean neg = aNeg;
        if (steps < 0) { // FPREM1 with |a| in [|b|/4, |b|/2) .. [|b|/2, |b|): a - b when above half
            if (Long.compareUnsigned(aSig, bs) > 0) {
                rem = bs - aSig + bs;
                q = 1;
                neg = !neg;
            }
            packExact(neg, bExp - 1, rem);
            setConditionCodes(q != 0 ? C1 : 0);
            return true;
        }
        boolean remHi = false;
        for (int i = 0; i <= steps; i++) {
            if (i > 0) {
                remHi = rem < 0;
                rem <<= 1;
            }
            q <<= 1;
            if (remHi || Long.compareUnsigned(rem, bs) >= 0) {
                rem -= bs;
                q |= 1;
            }
        }
        if (nearest && !partial) {
            int c = rem < 0 ? 1 : Long.compareUnsigned(rem << 1, bs);
            if (c > 0 || c == 0 && (q & 1) != 0) {
                rem = bs - rem;
                q++;
                neg = !neg;
            }
        }
        packExact(neg, scaleExp, rem);
        if (rem == 0) {
            setResult(aNeg, 0, 0);
        }
        if (partial) {
            setConditionCodes(C2);
        } else {
            setConditionCodes(((q & 4) != 0 ? C0 : 0) | ((q & 2) != 0 ? C3 : 0) | ((q & 1) != 0 ? C1 : 0));
        }
        return true;
    }
}
