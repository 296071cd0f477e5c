package org.xenj.hypervisor.internal.cpu.fpu;

/**
 * Conversions between the register format and the memory formats: single/double real,
 * 16/32/64-bit integers and 18-digit packed BCD. Loads are exact; stores round per RC with the
 * destination's precision and exponent range and produce the format's indefinite on masked
 * invalid operations.
 */
abstract class X87Convert extends X87Round {

    /** The memory operand converted by the last load was a denormal (raises DE when used). */
    boolean srcDenormal;
    /** Bits produced by the last store conversion. */
    long outBits;

    static final int FMT_SINGLE = 0, FMT_DOUBLE = 1;
    private static final int[] FRAC_BITS = {23, 52};
    private static final int[] FMT_BIAS = {127, 1023};
    private static final int[] FMT_EMAX = {255, 2047};
    private static final long[] FMT_INDEFINITE = {0xFFC0_0000L, 0xFFF8_0000_0000_0000L};

    X87Convert(FpuMemory mem) {
        super(mem);
    }

    /** Single real to extended in rSig/rSe (exact; SNaN stays signalling). */
    final void singleToExt(int v) {
        binaryToExt(v < 0, v >>> 23 & 0xff, v & 0x7fffffL, 127, 23);
    }

    /** Double real to extended in rSig/rSe (exact; SNaN stays signalling). */
    final void doubleToExt(long v) {
        binaryToExt(v < 0, (int) (v >>> 52) & 0x7ff, v & 0xF_FFFF_FFFF_FFFFL, 1023, 52);
    }

    /**
     * An IEEE binary format (biased exponent {@code e}, fraction {@code f} of {@code fracBits}
     * bits, exponent bias {@code bias}) widened exactly to extended: denormals are normalised,
     * the all-ones exponent maps to the extended one.
     */
    private void binaryToExt(boolean neg, int e, long f, int bias, int fracBits) {
        srcDenormal = false;
        if (e == 0) {
            if (f == 0) {
                setResult(neg, 0, 0);
            } else {
                srcDenormal = true;
                int lz = Long.numberOfLeadingZeros(f);
                setResult(neg, BIAS + 63 - lz - (bias - 1 + fracBits), f << lz);
            }
        } else if (e == 2 * bias + 1) {
            setResult(neg, EXP_MAX, INTEGER_BIT | f << (63 - fracBits));
        } else {
            setResult(neg, e - bias + BIAS, INTEGER_BIT | f << (63 - fracBits));
        }
    }

    /**
     * Register value to single/double real in {@link #outBits}. Returns false when an unmasked
     * exception (IE, DE, OE, UE) means memory must not be written.
     */
    final boolean extToFloat(int fmt, long s, int e) {
        int cls = classify(s, e);
        boolean neg = (e & 0x8000) != 0;
        int fracBits = FRAC_BITS[fmt];
        long signBit = neg ? 1L << (fracBits + (fmt == FMT_SINGLE ? 8 : 11)) : 0;
        long expAll = (long) FMT_EMAX[fmt] << fracBits;
        sw &= ~C1;
        switch (cls) {
            case UNSUPPORTED -> {
                if (signal(IE)) {
                    return false;
                }
                outBits = FMT_INDEFINITE[fmt];
                return true;
            }
            case SNAN, QNAN -> {
                if (cls == SNAN && signal(IE)) {
                    return false;
                }
                outBits = signBit | expAll | (s << 1 >>> (64 - fracBits)) | 1L << (fracBits - 1);
                return true;
            }
            case INF -> {
                outBits = signBit | expAll;
                return true;
            }
            case ZERO -> {
                outBits = signBit;
                return true;
            }
            default -> { // a denormal source raises no DE (measured on AMD)
                return roundToFloat(fmt, neg, normExp(s, e), normSig(s, e), signBit);
            }
        }
    }

    private boolean roundToFloat(int fmt, boolean neg, int exp, long s, long signBit) {
        int fracBits = FRAC_BITS[fmt];
        int prec = fracBits + 1;
        int emax = FMT_EMAX[fmt];
        int te = exp - BIAS + FMT_BIAS[fmt];
        long lo = 0;
        boolean tiny = te <= 0;
        if (te == 0 && roundSig(neg, s, 0, prec) == 0) {
            tiny = false; // rounds up to the smallest normal (tininess after rounding)
        }
        if (tiny) {
            if ((cw & UE) == 0) {
                signal(UE);
                return false;
            }
            shiftRightJam(s, 0, 1 - te);
            s = tHi;
            lo = tLo;
            te = 0;
        }
        long hi = roundSig(neg, s, lo, prec);
        boolean inexact = rInexact;
        boolean inc = rInc;
        if (inc) {
            if (hi == 0) {
                hi = INTEGER_BIT;
                te++;
            } else if (te == 0 && hi < 0) {
                te = 1;
            }
        }
        int flags = 0;
        if (te >= emax) {
            if ((cw & OE) == 0) {
                signal(OE);
                return false;
            }
            flags |= OE | PE;
            inexact = true;
            int rc = rc();
            if (rc == RC_NEAREST || rc == RC_DOWN && neg || rc == RC_UP && !neg) {
                outBits = signBit | (long) emax << fracBits;
                inc = true;
            } else {
                outBits = signBit | ((long) emax << fracBits) - 1;
                inc = false;
            }
        } else {
            outBits = signBit | (long) te << fracBits | (hi << 1 >>> (64 - fracBits));
        }
        if (tiny && inexact) {
            flags |= UE;
        }
        if (inexact) {
            flags |= PE;
        }
        setC1(inc);
        signal(flags);
        return true;
    }

    /**
     * Register value to a {@code bits}-wide signed integer in {@link #outBits}, rounding per RC or
     * truncating (FISTTP). Returns false when an unmasked IE/DE means memory must not be written.
     */
    final boolean extToInt(int bits, long s, int e, boolean truncate) {
        int cls = classify(s, e);
        boolean neg = (e & 0x8000) != 0;
        long indefinite = 1L << (bits - 1);
        sw &= ~C1;
        if (cls >= INF) {
            if (signal(IE)) {
                return false;
            }
            outBits = indefinite;
            return true;
        }
        if (cls == ZERO) {
            outBits = 0;
            return true;
        }
        // a denormal source raises no DE here (measured on AMD): it just rounds to 0 or +-1
        long mag = roundToIntMagnitude(neg, normExp(s, e), normSig(s, e), truncate ? RC_CHOP : rc());
        long limit = neg ? indefinite : indefinite - 1; // 2^(bits-1) or 2^(bits-1)-1, unsigned
        if (iHuge || Long.compareUnsigned(mag, limit) > 0) {
            if (signal(IE)) {
                return false;
            }
            outBits = indefinite;
            return true;
        }
        outBits = neg ? -mag : mag;
        setC1(iInc);
        if (iInexact) {
            signal(PE);
        }
        return true;
    }

    /** Packed BCD (low 9 bytes = 18 digits, byte 9 bit 7 = sign) to extended in rSig/rSe. */
    final void bcdToExt(long lowDigits, int high) {
        long v = 0;
        for (int i = 1; i >= 0; i--) {
            v = v * 10 + (high >>> (4 * i) & 0xf);
        }
        for (int i = 15; i >= 0; i--) {
            v = v * 10 + (lowDigits >>> (4 * i) & 0xf);
        }
        boolean neg = (high & 0x8000) != 0;
        intToExt(v);
        if (v == 0) {
            setResult(neg, 0, 0);
        } else {
            rSe |= neg ? 0x8000 : 0;
        }
    }

    /**
     * Register value to packed BCD: digits 0..15 in {@link #outBits}, digits 16..17 and the sign
     * in {@link #bcdHigh}. Returns false when an unmasked exception suppresses the store.
     */
    int bcdHigh;

    final boolean extToBcd(long s, int e) {
        int cls = classify(s, e);
        boolean neg = (e & 0x8000) != 0;
        sw &= ~C1;
        long mag = 0;
        boolean bad = cls >= INF;
        if (!bad && cls != ZERO) {
            mag = roundToIntMagnitude(neg, normExp(s, e), normSig(s, e), rc());
            bad = iHuge || Long.compareUnsigned(mag, 999_999_999_999_999_999L) > 0;
        }
        if (bad) {
            if (signal(IE)) {
                return false;
            }
            outBits = 0xC000_0000_0000_0000L;
            bcdHigh = 0xFFFF;
            return true;
        }
        long low = 0;
        for (int i = 0; i < 16; i++) {
            low |= (mag % 10) << (4 * i);
            mag /= 10;
        }
        int high = (int) (mag % 10) | (int) (mag / 10 % 10) << 4;
        outBits = low;
        bcdHigh = high | (neg ? 0x8000 : 0);
        if (cls != ZERO) {
            setC1(iInc);
            if (iInexact) {
                signal(PE);
            }
        }
        return true;
    }
}
