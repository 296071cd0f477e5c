package org.xenj.hypervisor.internal.cpu.fpu;

/**
 * Register-stack instructions: the D9 register group (FLD/FXCH/FST of registers, FCHS, FABS,
 * FTST, FXAM, constants, FINCSTP/FDECSTP, the transcendental and exponent instructions), FCMOVcc,
 * and the push/underflow responses they share with the rest of the decoder.
 */
abstract class X87StackOps extends X87Env {

    /** EFLAGS of the current execute call, for FCMOVcc. */
    int eflagsForCmov;

    /** Sentinel result of the D9 dispatch for "undefined encoding". */
    static final int D9_UNDEFINED = FpuUnit.UNDEFINED;

    X87StackOps(FpuMemory mem) {
        super(mem);
    }

    /** Pushes with the stack-overflow check (masked response: push the indefinite). */
    final void pushChecked(long s, int e) {
        if ((emptyMask >>> ((top - 1) & 7) & 1) == 0) {
            if (stackOverflow()) {
                return;
            }
            s = INDEFINITE_SIG;
            e = INDEFINITE_SE;
        }
        push(s, e);
    }

    /** Masked stack-underflow response: the destination gets the indefinite (then pop). */
    final void stackUnderflowResult(int dst, boolean pop) {
        if (stackUnderflow()) {
            return;
        }
        setSt(dst, INDEFINITE_SIG, INDEFINITE_SE);
        if (pop) {
            pop();
        }
    }

    /** FCMOVB/E/BE/U condition from EFLAGS (reg field 0..3); the DB forms negate it. */
    static boolean conditionDA(int reg, int eflags) {
        return switch (reg) {
            case 0 -> (eflags & 0x1) != 0;
            case 1 -> (eflags & 0x40) != 0;
            case 2 -> (eflags & 0x41) != 0;
            default -> (eflags & 0x4) != 0;
        };
    }

    /** FCMOVcc; leaves C1 alone (measured on AMD). */
    final void fcmov(int i, boolean condition) {
        if (isEmpty(0) || isEmpty(i)) {
            stackUnderflowResult(0, false);
            return;
        }
        if (condition) {
            setSt(0, stSig(i), stSe(i));
        }
    }

    final void fxch(int i) {
        sw &= ~C1;
        if (isEmpty(0) || isEmpty(i)) {
            if (stackUnderflow()) {
                return;
            }
            if (isEmpty(0)) {
                setSt(0, INDEFINITE_SIG, INDEFINITE_SE);
            }
            if (isEmpty(i)) {
                setSt(i, INDEFINITE_SIG, INDEFINITE_SE);
            }
        }
        long s = stSig(0);
        int e = stSe(0);
        setSt(0, stSig(i), stSe(i));
        setSt(i, s, e);
    }

    /** FST/FSTP ST(i). */
    final void fstReg(int i, boolean pop) {
        sw &= ~C1;
        if (isEmpty(0)) {
            stackUnderflowResult(i, pop);
            return;
        }
        setSt(i, stSig(0), stSe(0));
        if (pop) {
            pop();
        }
    }

    final int executeD9(int modrm, int reg, int i) {
        switch (reg) {
            case 0 -> { // FLD ST(i)
                sw &= ~C1;
                if (isEmpty(i)) { // underflow wins over overflow (measured on AMD)
                    if (stackUnderflow()) {
                        return FpuUnit.NO_EFLAGS;
                    }
                    push(INDEFINITE_SIG, INDEFINITE_SE);
                } else {
                    pushChecked(stSig(i), stSe(i));
                }
            }
            case 1 -> fxch(i);
            case 2 -> {
                if (i != 0) {
                    return D9_UNDEFINED;
                }
                // FNOP
            }
            case 3 -> { // FSTP1 alias: on an empty ST0 it only pops, without a stack fault (measured on AMD)
                if (isEmpty(0)) {
                    sw &= ~C1;
                    pop();
                } else {
                    fstReg(i, true);
                }
            }
            case 4 -> {
                return signAndTest(i);
            }
            case 5 -> {
                if (i == 7) {
                    return D9_UNDEFINED;
                }
                loadConstant(i);
            }
            case 6 -> misc(i);
            default -> transcendentalGroup(i);
        }
        return FpuUnit.NO_EFLAGS;
    }

    private int signAndTest(int i) {
        switch (i) {
            case 0, 1 -> { // FCHS, FABS
                sw &= ~C1;
                if (isEmpty(0)) {
                    stackUnderflowResult(0, false);
                } else {
                    int e = stSe(0);
                    setSt(0, stSig(0), i == 0 ? e ^ 0x8000 : e & 0x7fff);
                }
            }
            case 4 -> { // FTST
                sw &= ~C1;
                if (isEmpty(0)) {
                    stackUnderflow();
                    setConditionCodes(C3 | C2 | C0);
                } else {
                    unpackSt0AsA();
                    unpackB(0, 0);
                    setConditionCodes(compareCodes(compare(false)));
                }
            }
            case 5 -> fxam();
            default -> {
                return D9_UNDEFINED;
            }
        }
        return FpuUnit.NO_EFLAGS;
    }

    private void fxam() {
        int e = stSe(0);
        int codes = (e & 0x8000) != 0 ? C1 : 0;
        if (isEmpty(0)) {
            codes |= C3 | C0;
        } else {
            codes |= switch (classify(stSig(0), e)) {
                case ZERO -> C3;
                case NORMAL -> C2;
                case DENORMAL -> C3 | C2;
                case INF -> C2 | C0;
                case QNAN, SNAN -> C0;
                default -> 0;
            };
        }
        setConditionCodes(codes);
    }

    /** FLD1, FLDL2T, FLDL2E, FLDPI, FLDLG2, FLDLN2, FLDZ; the irrational ones rounded per RC. */
    private void loadConstant(int i) {
        sw &= ~C1;
        boolean downOrChop = rc() == RC_DOWN || rc() == RC_CHOP;
        long s;
        int e;
        switch (i) {
            case 0 -> {
                s = INTEGER_BIT;
                e = BIAS;
            }
            case 1 -> {
                s = 0xD49A_784B_CD1B_8AFEL + (rc() == RC_UP ? 1 : 0);
                e = BIAS + 1;
            }
            case 2 -> {
                s = 0xB8AA_3B29_5C17_F0BCL - (downOrChop ? 1 : 0);
                e = BIAS;
            }
            case 3 -> {
                s = 0xC90F_DAA2_2168_C235L - (downOrChop ? 1 : 0);
                e = BIAS + 1;
            }
            case 4 -> {
                s = 0x9A20_9A84_FBCF_F799L - (downOrChop ? 1 : 0);
                e = BIAS - 2;
            }
            case 5 -> {
                s = 0xB172_17F7_D1CF_79ACL - (downOrChop ? 1 : 0);
                e = BIAS - 1;
            }
            default -> {
                s = 0;
                e = 0;
            }
        }
        pushChecked(s, e);
    }

    /** D9 F0..F7: F2XM1, FYL2X, FPTAN, FPATAN, FXTRACT, FPREM1, FDECSTP, FINCSTP. */
    private void misc(int i) {
        switch (i) {
            case 0 -> unaryOnSt0(-1); // F2XM1
            case 1 -> binaryOnSt1(0); // FYL2X
            case 2 -> ptan();
            case 3 -> binaryOnSt1(1); // FPATAN
            case 4 -> xtract();
            case 5 -> remainder(true);
            case 6 -> {
                sw &= ~C1;
                top = (top - 1) & 7;
            }
            default -> {
                sw &= ~C1;
                top = (top + 1) & 7;
            }
        }
    }

    /** D9 F8..FF: FPREM, FYL2XP1, FSQRT, FSINCOS, FRNDINT, FSCALE, FSIN, FCOS. */
    private void transcendentalGroup(int i) {
        switch (i) {
            case 0 -> remainder(false);
            case 1 -> binaryOnSt1(2); // FYL2XP1
            case 2 -> unaryOnSt0(-2); // FSQRT
            case 3 -> sincos();
            case 4 -> unaryOnSt0(-3); // FRNDINT
            case 5 -> scaleSt0();
            case 6 -> unaryOnSt0(T_SIN);
            default -> unaryOnSt0(T_COS);
        }
    }

    /** ST0 = f(ST0): -1 F2XM1, -2 FSQRT, -3 FRNDINT, else a trig function. */
    private void unaryOnSt0(int fn) {
        if (isEmpty(0)) {
            stackUnderflowResult(0, false);
            return;
        }
        unpackSt0AsA();
        boolean ok = switch (fn) {
            case -1 -> twoXMinus1();
            case -2 -> sqrt(precisionBits());
            case -3 -> roundToInteger();
            default -> trig(fn) == 1;
        };
        if (ok) {
            setStResult(0);
        }
    }

    /** ST1 = f(ST0, ST1), pop: 0 FYL2X, 1 FPATAN, 2 FYL2XP1. */
    private void binaryOnSt1(int fn) {
        if (isEmpty(0) || isEmpty(1)) {
            stackUnderflowResult(1, true);
            return;
        }
        unpackSt0AsA();
        unpackB(stSig(1), stSe(1));
        boolean ok = switch (fn) {
            case 0 -> yLog2X(false);
            case 1 -> arcTan();
            default -> yLog2X(true);
        };
        if (ok) {
            setStResult(1);
            pop();
        }
    }

    private void scaleSt0() {
        if (isEmpty(0) || isEmpty(1)) {
            stackUnderflowResult(0, false);
            return;
        }
        unpackSt0AsA();
        unpackB(stSig(1), stSe(1));
        if (scale()) {
            setStResult(0);
        }
    }

    private void remainder(boolean nearest) {
        if (isEmpty(0) || isEmpty(1)) {
            sw &= ~C2;
            stackUnderflowResult(0, false);
            return;
        }
        unpackSt0AsA();
        unpackB(stSig(1), stSe(1));
        if (partialRemainder(nearest, stSig(0), stSe(0))) {
            setStResult(0);
        }
    }

    /** Two results: ST0 replaced, then a push (FPTAN, FSINCOS, FXTRACT); checks both stack conditions first. */
    private boolean twoResultStackCheck() {
        sw &= ~C1;
        boolean empty = isEmpty(0);
        boolean full = (emptyMask >>> ((top - 1) & 7) & 1) == 0;
        if (empty || full) {
            if (empty ? stackUnderflow() : stackOverflow()) {
                return false;
            }
            setSt(0, INDEFINITE_SIG, INDEFINITE_SE);
            push(INDEFINITE_SIG, INDEFINITE_SE);
            return false;
        }
        return true;
    }

    private void ptan() {
        if (!twoResultStackCheck()) {
            return;
        }
        unpackSt0AsA();
        int r = trig(T_TAN);
        if (r == 1) {
            setStResult(0);
            if (!isNan(classify(rSig, rSe))) {
                push(INTEGER_BIT, BIAS);
            } else {
                push(rSig, rSe);
            }
        }
    }

    private void sincos() {
        if (!twoResultStackCheck()) {
            return;
        }
        unpackSt0AsA();
        long xs = stSig(0);
        int xe = stSe(0);
        int r = trig(T_SIN);
        if (r != 1) {
            return;
        }
        long sinSig = rSig;
        int sinSe = rSe;
        unpackA(xs, xe);
        trig(T_COS);
        setSt(0, sinSig, sinSe);
        push(rSig, rSe);
    }

    private void xtract() {
        if (!twoResultStackCheck()) {
            return;
        }
        unpackSt0AsA();
        if (aCls >= QNAN) {
            if (nanUnary()) {
                setStResult(0);
                push(rSig, rSe);
            }
            return;
        }
        if (aCls == ZERO) {
            if (signal(ZE)) {
                return;
            }
            int zeroSe = stSe(0);
            setSt(0, INTEGER_BIT, 0xFFFF); // exponent: -infinity
            push(0, zeroSe);
            return;
        }
        if (aCls == INF) {
            int infSe = stSe(0);
            setSt(0, INTEGER_BIT, EXP_MAX);
            push(INTEGER_BIT, infSe);
            return;
        }
        if (denormalTrap(false)) {
            return;
        }
        boolean neg = aNeg;
        long s = aSig;
        intToExt(aExp - BIAS);
        setStResult(0);
        push(s, (neg ? 0x8000 : 0) | BIAS);
    }
}
