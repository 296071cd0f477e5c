package org.xenj.hypervisor.internal.cpu.fpu;

/**
 * The x87 register file and status/control words, plus the helpers every instruction shares:
 * stack addressing, tags, exception signalling and operand classification. The instruction
 * implementation is split over subclasses by responsibility (arithmetic, conversions,
 * transcendentals, environment, decoding); the chain ends in the final class {@link X87}, so
 * calls between the layers are statically bound.
 *
 * <p>Registers are kept as 80-bit extended values: {@code sig[r]} the 64-bit significand with
 * its explicit integer bit, {@code se[r]} sign (bit 15) and biased exponent (bits 0..14).
 * Results of the arithmetic helpers come back in {@link #rSig}/{@link #rSe} so nothing is
 * allocated per instruction.
 */
abstract class X87State {

    // status word bits
    static final int IE = 0x1, DE = 0x2, ZE = 0x4, OE = 0x8, UE = 0x10, PE = 0x20, SF = 0x40, ES = 0x80;
    static final int C0 = 0x100, C1 = 0x200, C2 = 0x400, C3 = 0x4000, BUSY = 0x8000;
    static final int CC_MASK = C0 | C1 | C2 | C3;
    static final int EXC_MASK = 0x3f;

    // rounding control values (CW bits 10..11)
    static final int RC_NEAREST = 0, RC_DOWN = 1, RC_UP = 2, RC_CHOP = 3;

    static final int BIAS = 16383;
    static final int EXP_MAX = 0x7fff;
    static final long INTEGER_BIT = 0x8000_0000_0000_0000L;
    static final long QUIET_BIT = 0x4000_0000_0000_0000L;
    /** Significand of the QNaN "real indefinite" (sign set, exponent all ones). */
    static final long INDEFINITE_SIG = 0xC000_0000_0000_0000L;
    static final int INDEFINITE_SE = 0xffff;

    // operand classes
    static final int ZERO = 0, NORMAL = 1, DENORMAL = 2, INF = 3, QNAN = 4, SNAN = 5, UNSUPPORTED = 6;

    // tag values
    static final int TAG_VALID = 0, TAG_ZERO = 1, TAG_SPECIAL = 2, TAG_EMPTY = 3;

    protected final FpuMemory mem;

    /** Physical registers R0..R7. */
    final long[] sig = new long[8];
    final int[] se = new int[8];
    /** Bit r set: physical register r is empty. */
    int emptyMask;
    int top;
    /** Control word. */
    int cw;
    /** Status word without the TOP field (kept in {@link #top}). */
    int sw;
    int fip, fcs, fdp, fds, fop;
    int mxcsr;

    /** Result of the last arithmetic helper. */
    long rSig;
    int rSe;

    /** Unpacked operand: sign, unbiased-by-nothing exponent (normalized, may be < 1), significand, class. */
    boolean aNeg, bNeg;
    int aExp, bExp;
    long aSig, bSig;
    int aCls, bCls;

    X87State(FpuMemory mem) {
        this.mem = mem;
    }

    final int phys(int i) {
        return (top + i) & 7;
    }

    final boolean isEmpty(int i) {
        return (emptyMask >>> phys(i) & 1) != 0;
    }

    final long stSig(int i) {
        return sig[phys(i)];
    }

    final int stSe(int i) {
        return se[phys(i)];
    }

    final void setSt(int i, long s, int e) {
        int r = phys(i);
        sig[r] = s;
        se[r] = e & 0xffff;
        emptyMask &= ~(1 << r);
    }

    final void setStResult(int i) {
        setSt(i, rSig, rSe);
    }

    final void push(long s, int e) {
        top = (top - 1) & 7;
        setSt(0, s, e);
    }

    final void pop() {
        emptyMask |= 1 << top;
        top = (top + 1) & 7;
    }

    final void free(int i) {
        emptyMask |= 1 << phys(i);
    }

    final int rc() {
        return cw >>> 10 & 3;
    }

    /** Precision control in significand bits: 24, 53 or 64 (the reserved value 1 behaves as 64). */
    final int precisionBits() {
        int pc = cw >>> 8 & 3;
        return pc == 0 ? 24 : pc == 2 ? 53 : 64;
    }

    /**
     * Records exception flags. Returns true when one of them is unmasked: the caller must then
     * leave the destination alone for IE/DE/ZE (the trap handler sees the original operands).
     */
    final boolean signal(int flags) {
        sw |= flags;
        if ((flags & ~cw & EXC_MASK) != 0) {
            sw |= ES | BUSY;
            return true;
        }
        return false;
    }

    /** Recomputes ES/B after the control word or status word was loaded. */
    final void updateSummary() {
        if ((sw & ~cw & EXC_MASK) != 0) {
            sw |= ES | BUSY;
        } else {
            sw &= ~(ES | BUSY);
        }
    }

    final int fullStatusWord() {
        return sw & ~0x3800 | top << 11;
    }

    final void setC1(boolean on) {
        sw = on ? sw | C1 : sw & ~C1;
    }

    final void setConditionCodes(int c3c2c1c0Bits) {
        sw = sw & ~CC_MASK | c3c2c1c0Bits;
    }

    /** Stack underflow (reading an empty register): IE+SF, C1=0. True if unmasked. */
    final boolean stackUnderflow() {
        sw &= ~C1;
        return signal(IE | SF);
    }

    /** Stack overflow (pushing onto a full register): IE+SF, C1=1. True if unmasked. */
    final boolean stackOverflow() {
        sw |= C1;
        return signal(IE | SF);
    }

    /** Tag of a value by its contents (what FSTENV/FSAVE report for a non-empty register). */
    static int tagOf(long s, int e) {
        int exp = e & EXP_MAX;
        if (exp == EXP_MAX) {
            return TAG_SPECIAL;
        }
        if (exp == 0) {
            return s == 0 ? TAG_ZERO : TAG_SPECIAL;
        }
        return s < 0 ? TAG_VALID : TAG_SPECIAL; // unnormals are special
    }

    final int fullTagWord() {
        int tw = 0;
        for (int r = 0; r < 8; r++) {
            int t = (emptyMask >>> r & 1) != 0 ? TAG_EMPTY : tagOf(sig[r], se[r]);
            tw |= t << (2 * r);
        }
        return tw;
    }

    /** Classifies an 80-bit value; fills uNeg/uExp/uSig (denormals normalized, exponent may go below 1). */
    static int classify(long s, int e) {
        int exp = e & EXP_MAX;
        if (exp == 0) {
            return s == 0 ? ZERO : DENORMAL;
        }
        if (exp == EXP_MAX) {
            if (s >= 0) {
                return UNSUPPORTED; // pseudo-infinity / pseudo-NaN
            }
            if ((s << 1) == 0) {
                return INF;
            }
            return (s & QUIET_BIT) != 0 ? QNAN : SNAN;
        }
        return s < 0 ? NORMAL : UNSUPPORTED; // unnormal
    }

    /** Normalized exponent of a finite nonzero value (denormals: below 1). */
    static int normExp(long s, int e) {
        int exp = e & EXP_MAX;
        if (exp == 0) {
            return 1 - Long.numberOfLeadingZeros(s);
        }
        return exp;
    }

    static long normSig(long s, int e) {
        return (e & EXP_MAX) == 0 && s != 0 ? s << Long.numberOfLeadingZeros(s) : s;
    }

    final void unpackA(long s, int e) {
        aCls = classify(s, e);
        aNeg = (e & 0x8000) != 0;
        aExp = normExp(s, e);
        aSig = normSig(s, e);
    }

    final void unpackB(long s, int e) {
        bCls = classify(s, e);
        bNeg = (e & 0x8000) != 0;
        bExp = normExp(s, e);
        bSig = normSig(s, e);
    }

    final void unpackSt0AsA() {
        unpackA(stSig(0), stSe(0));
    }

    final void setResult(boolean neg, int exp, long s) {
        rSig = s;
        rSe = (neg ? 0x8000 : 0) | exp;
    }

    final void setIndefinite() {
        rSig = INDEFINITE_SIG;
        rSe = INDEFINITE_SE;
    }

    static boolean isNan(int cls) {
        return cls == QNAN || cls == SNAN;
    }
}
