package org.xenj.hypervisor.internal.cpu.fpu;

/**
 * The x87 FPU: decodes the D8..DF escape opcodes (the CPU has already computed the memory
 * operand's linear address) and runs them on the 80-bit register stack implemented by the
 * superclasses. One instance per vCPU; not thread-safe.
 */
public final class X87 extends X87StackOps implements FpuUnit {

    private static final int EFLAGS_CF = 0x1, EFLAGS_PF = 0x4, EFLAGS_ZF = 0x40;

    public X87(FpuMemory mem) {
        super(mem);
        reset();
    }

    @Override
    public void reset() {
        init();
        for (int r = 0; r < 8; r++) {
            sig[r] = 0;
            se[r] = 0;
        }
    }

    /** Selector of the segment the CPU used for the last memory operand (recorded as FDS). */
    private int dataSelector;

    /**
     * Tells the unit which data segment selector the next memory operand goes through, so that
     * FSTENV/FSAVE report FDS as hardware does. Optional: without it FDS reads 0.
     */
    public void setDataSelector(int selector) {
        dataSelector = selector & 0xffff;
    }

    @Override
    public boolean errorPending() {
        return (sw & ES) != 0;
    }

    @Override
    public int statusWord() {
        return fullStatusWord();
    }

    @Override
    public int controlWord() {
        return cw;
    }

    @Override
    public int tagWord() {
        return fullTagWord();
    }

    @Override
    public void fxsave(int linear) {
        fxsaveImage(linear);
    }

    @Override
    public void fxrstor(int linear) {
        fxrstorImage(linear);
    }

    @Override
    public FpuState saveState() {
        return new FpuState(cw, sw, top, emptyMask, fip, fcs, fdp, fds, fop, mxcsr, sig, se, dataSelector);
    }

    @Override
    public void restoreState(FpuState s) {
        cw = s.cw();
        sw = s.sw();
        top = s.top() & 7;
        emptyMask = s.emptyMask() & 0xff;
        fip = s.fip();
        fcs = s.fcs();
        fdp = s.fdp();
        fds = s.fds();
        fop = s.fop();
        mxcsr = s.mxcsr();
        long[] sg = s.sig();
        int[] e = s.se();
        for (int r = 0; r < 8; r++) {
            sig[r] = sg[r];
            se[r] = e[r] & 0xffff;
        }
        dataSelector = s.dataSelector() & 0xffff;
        updateSummary();
    }

    // ------------------------------------------------------------------ MMX aliasing (SDM vol. 1 §9.5)

    /**
     * Every MMX instruction except EMMS: TOP becomes 0 and every tag valid (SDM vol. 1 §9.5.1,
     * table 9-2). MMi is then the significand of physical register Ri.
     */
    public void mmxEnter() {
        top = 0;
        emptyMask = 0;
    }

    /** MMi: the low 64 bits of physical x87 register i. */
    public long mmx(int i) {
        return sig[i];
    }

    /** A write of MMi also sets that register's sign and exponent bits to ones (a NaN to x87 code). */
    public void setMmx(int i, long v) {
        sig[i] = v;
        se[i] = 0xffff;
    }

    /** MXCSR as the CPU keeps it (the CPU owns MXCSR; this copy goes into the unit's state record). */
    public void setMxcsr(int v) {
        mxcsr = v;
    }

    public int mxcsr() {
        return mxcsr;
    }

    /** EMMS: every tag empty (SDM vol. 2A EMMS); TOP becomes 0 as with every MMX instruction (checked on AMD EPYC). */
    public void emms() {
        top = 0;
        emptyMask = 0xff;
    }

    @Override
    public long st80Significand(int i) {
        return stSig(i);
    }

    @Override
    public int st80SignExponent(int i) {
        return stSe(i);
    }

    /**
     * Whether an ESC encoding exists (the others raise #UD, which takes priority over a pending
     * #MF). Includes the undocumented aliases real CPUs execute (FSTP1, FXCH4, FCOM2, FFREEP, ...).
     */
    public static boolean isDefined(int opcode, int modrm) {
        int reg = modrm >>> 3 & 7;
        if (modrm < 0xC0) {
            return switch (opcode) {
                case 0xD9 -> reg != 1;
                case 0xDB -> reg != 4 && reg != 6;
                case 0xDD -> reg != 5;
                default -> true;
            };
        }
        int i = modrm & 7;
        return switch (opcode) {
            case 0xD9 -> switch (reg) {
                case 2 -> i == 0;
                case 4 -> i != 2 && i != 3 && i != 6 && i != 7;
                case 5 -> i != 7;
                default -> true;
            };
            case 0xDA -> reg < 4 || modrm == 0xE9;
            case 0xDB -> reg < 4 || reg == 5 || reg == 6 || reg == 4 && i <= 4;
            case 0xDD -> reg < 6;
            case 0xDE -> reg != 3 || i == 1;
            case 0xDF -> reg < 4 || reg == 5 || reg == 6 || modrm == 0xE0;
            default -> true;
        };
    }

    /** True for the control instructions, which leave FIP/FOP/FDP alone. */
    private static boolean isControl(int opcode, int modrm) {
        boolean mem = modrm < 0xC0;
        int reg = modrm >>> 3 & 7;
        return switch (opcode) {
            case 0xD9 -> mem && reg >= 4;
            case 0xDB -> !mem && modrm >= 0xE0 && modrm <= 0xE7;
            case 0xDD -> mem && (reg == 4 || reg == 6 || reg == 7);
            case 0xDF -> modrm == 0xE0;
            default -> false;
        };
    }

    @Override
    public int execute(int opcode, int modrm, int linear, int eflags, boolean opSize32, boolean protectedMode,
            int fip, int fcs) {
        int oldFip = this.fip, oldFcs = this.fcs, oldFop = this.fop, oldFdp = this.fdp, oldFds = this.fds, oldSw = sw;
        if (!isControl(opcode, modrm)) {
            this.fip = fip;
            this.fcs = fcs & 0xffff;
            this.fop = (opcode & 7) << 8 | modrm;
            if (modrm < 0xC0) {
                this.fdp = linear;
                this.fds = dataSelector;
            }
        }
        eflagsForCmov = eflags;
        int result;
        if (modrm < 0xC0) {
            try {
                result = executeMemory(opcode, modrm >>> 3 & 7, linear, opSize32, protectedMode);
            } catch (RuntimeException pageFault) {
                // operands are read before anything is committed and stores are written before the
                // pop; only the flags and pointers recorded on the way need undoing
                this.sw = oldSw;
                this.fip = oldFip;
                this.fcs = oldFcs;
                this.fop = oldFop;
                this.fdp = oldFdp;
                this.fds = oldFds;
                throw pageFault;
            }
        } else {
            result = executeRegister(opcode, modrm);
        }
        if (result == UNDEFINED) { // #UD leaves the last-instruction pointers alone
            this.fip = oldFip;
            this.fcs = oldFcs;
            this.fop = oldFop;
            this.fdp = oldFdp;
            this.fds = oldFds;
        }
        return result;
    }

    // ---------------------------------------------------------------- memory forms

    private int executeMemory(int opcode, int reg, int a, boolean opSize32, boolean pm) {
        switch (opcode) {
            case 0xD8 -> {
                singleToExt(mem.readDword(a));
                arithWithSt0(reg, rSig, rSe, srcDenormal);
            }
            case 0xDC -> {
                doubleToExt(mem.readQword(a));
                arithWithSt0(reg, rSig, rSe, srcDenormal);
            }
            case 0xDA -> {
                intToExt(mem.readDword(a));
                arithWithSt0(reg, rSig, rSe, false);
            }
            case 0xDE -> {
                intToExt((short) mem.readWord(a));
                arithWithSt0(reg, rSig, rSe, false);
            }
            case 0xD9 -> {
                switch (reg) {
                    case 0 -> {
                        singleToExt(mem.readDword(a));
                        loadConverted(true);
                    }
                    case 2, 3 -> storeFloat(FMT_SINGLE, a, reg == 3);
                    case 4 -> loadEnv(a, opSize32, pm);
                    case 5 -> {
                        cw = mem.readWord(a) & 0x1F7F | 0x0040;
                        updateSummary();
                    }
                    case 6 -> {
                        storeEnv(a, opSize32, pm);
                        cw |= EXC_MASK;
                        updateSummary(); // everything masked now: no #MF pending any more
                    }
                    case 7 -> mem.writeWord(a, cw);
                    default -> {
                        return UNDEFINED;
                    }
                }
            }
            case 0xDB -> {
                switch (reg) {
                    case 0 -> {
                        intToExt(mem.readDword(a));
                        loadConverted(false);
                    }
                    case 1, 2, 3 -> storeInt(32, a, reg != 2, reg == 1);
                    case 5 -> {
                        long s = mem.readQword(a);
                        int e = mem.readWord(a + 8);
                        rSig = s;
                        rSe = e;
                        loadConverted(false);
                    }
                    case 7 -> storeExtended(a);
                    default -> {
                        return UNDEFINED;
                    }
                }
            }
            case 0xDD -> {
                switch (reg) {
                    case 0 -> {
                        doubleToExt(mem.readQword(a));
                        loadConverted(true);
                    }
                    case 1 -> storeInt(64, a, true, true);
                    case 2, 3 -> storeFloat(FMT_DOUBLE, a, reg == 3);
                    case 4 -> frstor(a, opSize32, pm);
                    case 6 -> fsave(a, opSize32, pm);
                    case 7 -> mem.writeWord(a, fullStatusWord());
                    default -> {
                        return UNDEFINED;
                    }
                }
            }
            default -> { // 0xDF
                switch (reg) {
                    case 0 -> {
                        intToExt((short) mem.readWord(a));
                        loadConverted(false);
                    }
                    case 1, 2, 3 -> storeInt(16, a, reg != 2, reg == 1);
                    case 4 -> {
                        long low = mem.readQword(a);
                        int high = mem.readWord(a + 8);
                        bcdToExt(low, high);
                        loadConverted(false);
                    }
                    case 5 -> {
                        intToExt(mem.readQword(a));
                        loadConverted(false);
                    }
                    case 6 -> storeBcd(a);
                    default -> storeInt(64, a, true, false);
                }
            }
        }
        return NO_EFLAGS;
    }

    /** Pushes rSig/rSe (a converted memory operand); real formats check SNaN and denormal. */
    private void loadConverted(boolean realFormat) {
        sw &= ~C1;
        long s = rSig;
        int e = rSe;
        if ((emptyMask >>> ((top - 1) & 7) & 1) == 0) { // stack overflow takes priority over operand checks
            pushChecked(s, e);
            return;
        }
        if (realFormat) {
            int cls = classify(s, e);
            if (cls == SNAN) {
                if (signal(IE)) {
                    return;
                }
                s |= QUIET_BIT;
            } else if (srcDenormal) {
                signal(DE); // even unmasked, the (normalized) value is loaded (measured on AMD)
            }
        }
        pushChecked(s, e);
    }


    private void storeFloat(int fmt, int a, boolean pop) {
        boolean ok;
        if (isEmpty(0)) {
            if (stackUnderflow()) {
                return;
            }
            ok = true;
            outBits = fmt == FMT_SINGLE ? 0xFFC0_0000L : 0xFFF8_0000_0000_0000L;
        } else {
            int saveSw = sw;
            ok = extToFloat(fmt, stSig(0), stSe(0));
            if (ok) {
                try {
                    writeFloat(fmt, a);
                } catch (RuntimeException fault) {
                    sw = saveSw; // a page fault leaves the FPU as it was
                    throw fault;
                }
                if (pop) {
                    pop();
                }
                return;
            }
        }
        if (ok) {
            writeFloat(fmt, a);
            if (pop) {
                pop();
            }
        }
    }

    private void writeFloat(int fmt, int a) {
        if (fmt == FMT_SINGLE) {
            mem.writeDword(a, (int) outBits);
        } else {
            mem.writeQword(a, outBits);
        }
    }

    private void storeInt(int bits, int a, boolean pop, boolean truncate) {
        if (isEmpty(0)) {
            if (stackUnderflow()) {
                return;
            }
            outBits = 1L << (bits - 1);
        } else if (!extToInt(bits, stSig(0), stSe(0), truncate)) {
            return;
        }
        switch (bits) {
            case 16 -> mem.writeWord(a, (int) outBits);
            case 32 -> mem.writeDword(a, (int) outBits);
            default -> mem.writeQword(a, outBits);
        }
        if (pop) {
            pop();
        }
    }

    private void storeExtended(int a) {
        sw &= ~C1;
        long s;
        int e;
        if (isEmpty(0)) {
            if (stackUnderflow()) {
                return;
            }
            s = INDEFINITE_SIG;
            e = INDEFINITE_SE;
        } else {
            s = stSig(0);
            e = stSe(0);
        }
        mem.writeQword(a, s);
        mem.writeWord(a + 8, e);
        pop();
    }

    private void storeBcd(int a) {
        if (isEmpty(0)) {
            if (stackUnderflow()) {
                return;
            }
            outBits = 0xC000_0000_0000_0000L;
            bcdHigh = 0xFFFF;
        } else if (!extToBcd(stSig(0), stSe(0))) {
            return;
        }
        mem.writeQword(a, outBits);
        mem.writeWord(a + 8, bcdHigh);
        pop();
    }

    // ---------------------------------------------------------------- arithmetic dispatch

    /** D8/DC/DA/DE memory forms and D8 register forms: ST0 = ST0 (op) x, or compare. */
    private void arithWithSt0(int reg, long xSig, int xSe, boolean xDenormal) {
        if (reg == 2 || reg == 3) {
            compareSt0(xSig, xSe, xDenormal, false, reg == 3 ? 1 : 0, false);
            return;
        }
        binary(reg, (reg & 1) == 1 && reg >= 4, 0, xSig, xSe, xDenormal, false);
    }

    /**
     * ST(dst) = ST(dst) (op) x, or x (op) ST(dst) when reversed; {@code reg} is the ModRM reg
     * field (0 add, 1 mul, 4/5 sub, 6/7 div). Emptiness of the operands is checked by callers
     * for register forms and here for ST(dst).
     */
    private void binary(int reg, boolean reversed, int dst, long xSig, int xSe, boolean xDenormal, boolean pop) {
        if (isEmpty(dst)) {
            stackUnderflowResult(dst, pop);
            return;
        }
        long dSig = stSig(dst);
        int dSe = stSe(dst);
        if (reversed) {
            unpackA(xSig, xSe);
            if (xDenormal) {
                aCls = DENORMAL;
            }
            unpackB(dSig, dSe);
        } else {
            unpackA(dSig, dSe);
            unpackB(xSig, xSe);
            if (xDenormal) {
                bCls = DENORMAL;
            }
        }
        int op = reg == 0 ? OP_ADD : reg == 1 ? OP_MUL : reg < 6 ? OP_SUB : OP_DIV;
        if (arith(op, precisionBits())) {
            setStResult(dst);
            if (pop) {
                pop();
            }
        }
    }


    private int compareSt0(long xSig, int xSe, boolean xDenormal, boolean quiet, int pops, boolean toEflags) {
        if (isEmpty(0)) {
            return compareUnderflow(pops, toEflags);
        }
        unpackSt0AsA();
        unpackB(xSig, xSe);
        if (xDenormal) {
            bCls = DENORMAL;
        }
        if (!toEflags) {
            sw &= ~C1; // FCOMI/FUCOMI leave C1 alone (measured on AMD)
        }
        int r = compare(quiet);
        if (compareTrapped) {
            pops = 0; // an unmasked exception still sets the codes/flags, but suppresses the pops
        }
        for (int i = 0; i < pops; i++) {
            pop();
        }
        if (toEflags) {
            return r == 0 ? 0 : r == 1 ? EFLAGS_CF : r == 2 ? EFLAGS_ZF : EFLAGS_ZF | EFLAGS_PF | EFLAGS_CF;
        }
        setConditionCodes(compareCodes(r));
        return NO_EFLAGS;
    }

    /** Empty operand: IE+SF; the codes/flags say "unordered" even when unmasked, only the pops are suppressed. */
    private int compareUnderflow(int pops, boolean toEflags) {
        if (!stackUnderflow()) {
            for (int i = 0; i < pops; i++) {
                pop();
            }
        }
        if (toEflags) {
            return EFLAGS_ZF | EFLAGS_PF | EFLAGS_CF;
        }
        setConditionCodes(C3 | C2 | C0);
        return NO_EFLAGS;
    }

    private int compareRegs(int i, boolean quiet, int pops, boolean toEflags) {
        if (isEmpty(i)) {
            return compareUnderflow(pops, toEflags);
        }
        return compareSt0(stSig(i), stSe(i), false, quiet, pops, toEflags);
    }

    // ---------------------------------------------------------------- register forms

    private int executeRegister(int opcode, int modrm) {
        int reg = modrm >>> 3 & 7;
        int i = modrm & 7;
        switch (opcode) {
            case 0xD8 -> {
                if (reg == 2 || reg == 3) {
                    return compareRegs(i, false, reg - 2, false);
                }
                if (isEmpty(i)) {
                    stackUnderflowResult(0, false);
                } else {
                    binary(reg, (reg & 1) == 1 && reg >= 4, 0, stSig(i), stSe(i), false, false);
                }
            }
            case 0xDC, 0xDE -> {
                boolean pop = opcode == 0xDE;
                if (reg == 2 || reg == 3) {
                    if (opcode == 0xDE && reg == 3) {
                        return i == 1 ? compareRegs(1, false, 2, false) : UNDEFINED; // FCOMPP
                    }
                    return compareRegs(i, false, opcode == 0xDE || reg == 3 ? 1 : 0, false);
                }
                if (isEmpty(0)) {
                    stackUnderflowResult(i, pop);
                } else {
                    binary(reg, (reg & 1) == 0 && reg >= 4, i, stSig(0), stSe(0), false, pop);
                }
            }
            case 0xD9 -> {
                return executeD9(modrm, reg, i);
            }
            case 0xDA -> {
                if (modrm == 0xE9) {
                    return compareRegs(1, true, 2, false); // FUCOMPP
                }
                if (reg >= 4) {
                    return UNDEFINED;
                }
                fcmov(i, conditionDA(reg, eflagsForCmov));
            }
            case 0xDB -> {
                if (reg < 4) {
                    fcmov(i, !conditionDA(reg, eflagsForCmov));
                } else if (reg == 4) {
                    switch (i) {
                        case 2 -> sw &= ~(EXC_MASK | SF | ES | BUSY); // FNCLEX
                        case 3 -> init(); // FNINIT
                        case 0, 1, 4 -> { } // FNENI, FNDISI, FNSETPM: no-ops since the 387
                        default -> {
                            return UNDEFINED;
                        }
                    }
                } else if (reg == 5 || reg == 6) {
                    return compareRegs(i, reg == 5, 0, true); // FUCOMI / FCOMI
                } else {
                    return UNDEFINED;
                }
            }
            case 0xDD -> {
                switch (reg) {
                    case 0 -> { // FFREE (clears C1 on AMD)
                        sw &= ~C1;
                        free(i);
                    }
                    case 1 -> fxch(i);
                    case 2, 3 -> fstReg(i, reg == 3);
                    case 4, 5 -> {
                        return compareRegs(i, true, reg - 4, false); // FUCOM / FUCOMP
                    }
                    default -> {
                        return UNDEFINED;
                    }
                }
            }
            default -> { // 0xDF
                switch (reg) {
                    case 0 -> { // FFREEP
                        sw &= ~C1;
                        free(i);
                        pop();
                    }
                    case 1 -> fxch(i);
                    case 2, 3 -> fstReg(i, true);
                    case 4 -> {
                        return i == 0 ? NO_EFLAGS : UNDEFINED; // FNSTSW AX: the CPU writes AX from statusWord()
                    }
                    case 5, 6 -> {
                        return compareRegs(i, reg == 5, 1, true); // FUCOMIP / FCOMIP
                    }
                    default -> {
                        return UNDEFINED;
                    }
                }
            }
        }
        return NO_EFLAGS;
    }
}
