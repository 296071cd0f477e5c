package org.xenj.hypervisor.internal.cpu;

/**
 * Architectural register state of one IA-32 vCPU and the lazy-flags machinery. The CPU class is
 * split by responsibility into a chain of abstract classes ending in the final {@link Cpu}, so
 * that all state is in plain fields of one object (fast access, no indirection) while no source
 * file grows huge: {@code CpuRegs -> CpuTlb -> CpuMmu -> CpuSeg -> CpuAlu -> CpuDecode -> CpuExec ->
 * CpuExec0F -> Cpu}.
 */
abstract class CpuRegs {

    public static final int EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;
    public static final int ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5;

    public static final int CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, TF = 0x100, IF = 0x200,
            DF = 0x400, OF = 0x800, IOPL = 0x3000, NT = 0x4000, RF = 0x10000, VM = 0x20000, AC = 0x40000,
            VIF = 0x80000, VIP = 0x100000, ID = 0x200000;
    static final int ARITH = CF | PF | AF | ZF | SF | OF;
    /** EFLAGS bits software can ever see set (bit 1 always reads 1). */
    static final int EFLAGS_MASK = ARITH | TF | IF | DF | IOPL | NT | RF | VM | AC | VIF | VIP | ID;

    public static final int CR0_PE = 1, CR0_MP = 2, CR0_EM = 4, CR0_TS = 8, CR0_ET = 0x10, CR0_NE = 0x20,
            CR0_WP = 0x10000, CR0_AM = 0x40000, CR0_NW = 0x20000000, CR0_CD = 0x40000000, CR0_PG = 0x80000000;
    public static final int CR4_VME = 1, CR4_PVI = 2, CR4_TSD = 4, CR4_DE = 8, CR4_PSE = 0x10, CR4_PAE = 0x20,
            CR4_MCE = 0x40, CR4_PGE = 0x80, CR4_PCE = 0x100, CR4_OSFXSR = 0x200, CR4_OSXMMEXCPT = 0x400;

    /** Exception vectors. */
    public static final int DE = 0, DB = 1, NMI = 2, BP = 3, OFV = 4, BR = 5, UD = 6, NM = 7, DFV = 8, TS = 10,
            NP = 11, SSV = 12, GP = 13, PFV = 14, MF = 16, ACV = 17, MC = 18, XM = 19;

    // ---- lazy flags: the last flag-setting operation, evaluated only when a flag is read ----
    static final int LF_NONE = 0, LF_ADD = 1, LF_SUB = 2, LF_LOGIC = 3, LF_INC = 4, LF_DEC = 5;
    /**
     * Shifts (SHL/SHR/SAR) and multiplies: SF, ZF, PF from the result, AF clear, CF = {@link #lfCarry},
     * OF = {@link #lfDst} (0 or 1).
     */
    static final int LF_CARRY_OF = 6;

    final int[] regs = new int[8];
    int eip;
    /** EFLAGS; its arithmetic bits are valid only when {@link #lfOp} is {@link #LF_NONE}. */
    int flags = 2;
    int lfOp;
    /** Operand width of the lazy operation in bits: 8, 16 or 32. */
    int lfBits = 32;
    int lfDst, lfSrc, lfRes;
    /** CF preserved across INC/DEC. */
    int lfCarry;

    // ---- segments (index ES..GS), descriptor caches ----
    final int[] segSel = new int[6];
    final int[] segBase = new int[6];
    final int[] segLimit = new int[6];
    /** Descriptor attribute bits as in the high dword >> 8: type(0-3) S(4) DPL(5-6) P(7) AVL(12) D/B(14) G(15). */
    final int[] segAttr = new int[6];
    /** Valid offset range [lo, hi] (as unsigned longs) for reads and writes; empty (lo > hi) when not permitted. */
    final long[] segRdLo = new long[6], segRdHi = new long[6], segWrLo = new long[6], segWrHi = new long[6];

    int cpl;
    int cr0 = CR0_ET, cr2, cr3, cr4;
    final int[] dr = new int[8];
    int gdtrBase, gdtrLimit, idtrBase, idtrLimit;
    int ldtrSel, ldtrBase, ldtrLimit;
    int trSel, trBase, trLimit, trAttr;

    // ---- MSR state kept by the CPU ----
    int sysenterCs, sysenterEsp, sysenterEip;
    long pat = 0x0007040600070406L;
    long mtrrDefType;
    final long[] mtrrFixed = new long[11];
    final long[] mtrrVar = new long[16];
    long miscEnable = 1; // fast strings
    long tscOffset;
    /** IA32_TSC_AUX, returned in ECX by RDTSCP (an OS keeps the CPU number there). */
    int tscAux;
    long efer;

    // ---- exception being raised (the thrown CpuFault carries nothing) ----
    int faultVector;
    int faultError;

    /** Lazy flags of a shift or multiply: result {@code res} of width {@code bits}, CF and OF given (0/1). */
    final void setFlagsCarryOf(int bits, int res, int cf, int of) {
        lfOp = LF_CARRY_OF;
        lfBits = bits;
        lfRes = res;
        lfCarry = cf;
        lfDst = of;
    }

    final void setFlagsLogic(int bits, int res) {
        lfOp = LF_LOGIC;
        lfBits = bits;
        lfRes = res;
    }

    final int cf() {
        switch (lfOp) {
            case LF_NONE:
                return flags & CF;
            case LF_ADD:
                return (((lfDst & lfSrc) | ((lfDst ^ lfSrc) & ~lfRes)) >>> (lfBits - 1)) & 1;
            case LF_SUB:
                return (((~lfDst & lfSrc) | (~(lfDst ^ lfSrc) & lfRes)) >>> (lfBits - 1)) & 1;
            case LF_LOGIC:
                return 0;
            default:
                return lfCarry;
        }
    }

    final boolean zf() {
        return lfOp == LF_NONE ? (flags & ZF) != 0 : (lfRes << (32 - lfBits)) == 0;
    }

    final boolean sf() {
        return lfOp == LF_NONE ? (flags & SF) != 0 : (lfRes << (32 - lfBits)) < 0;
    }

    final boolean of() {
        switch (lfOp) {
            case LF_NONE:
                return (flags & OF) != 0;
            case LF_ADD:
            case LF_INC:
                return (((lfDst ^ lfRes) & (lfSrc ^ lfRes)) << (32 - lfBits)) < 0;
            case LF_SUB:
            case LF_DEC:
                return (((lfDst ^ lfSrc) & (lfDst ^ lfRes)) << (32 - lfBits)) < 0;
            case LF_CARRY_OF:
                return lfDst != 0;
            default:
                return false;
        }
    }

    final boolean pf() {
        return lfOp == LF_NONE ? (flags & PF) != 0 : (Integer.bitCount(lfRes & 0xff) & 1) == 0;
    }

    final boolean af() {
        return lfOp == LF_NONE ? (flags & AF) != 0
                : lfOp != LF_LOGIC && lfOp != LF_CARRY_OF && ((lfDst ^ lfSrc ^ lfRes) & 0x10) != 0;
    }

    /** The six arithmetic flags as EFLAGS bits. */
    final int arithFlags() {
        if (lfOp == LF_NONE) {
            return flags & ARITH;
        }
        return cf() | (pf() ? PF : 0) | (af() ? AF : 0) | (zf() ? ZF : 0) | (sf() ? SF : 0) | (of() ? OF : 0);
    }

    /** Architectural EFLAGS (lazy flags evaluated). */
    final int eflags() {
        return (lfOp == LF_NONE ? flags : (flags & ~ARITH) | arithFlags()) | 2;
    }

    /** Replaces the EFLAGS bits in {@code mask} by those of {@code value}. */
    final void writeFlags(int value, int mask) {
        int f = eflags();
        lfOp = LF_NONE;
        flags = ((f & ~mask) | (value & mask) | 2) & (EFLAGS_MASK | 2);
    }

    /** Folds the lazy state into {@link #flags}. */
    final void materializeFlags() {
        if (lfOp != LF_NONE) {
            flags = (flags & ~ARITH) | arithFlags();
            lfOp = LF_NONE;
        }
    }

    /** Sets the arithmetic flags given as EFLAGS bits (for eagerly computed operations). */
    final void setArith(int bits) {
        flags = (flags & ~ARITH) | (bits & ARITH);
        lfOp = LF_NONE;
    }

    /** Evaluates condition code {@code cc} (0..15, the low nibble of Jcc/SETcc/CMOVcc). */
    final boolean cond(int cc) {
        boolean r;
        switch (cc >> 1) {
            case 0: r = of(); break;
            case 1: r = cf() != 0; break;
            case 2: r = zf(); break;
            case 3: r = cf() != 0 || zf(); break;
            case 4: r = sf(); break;
            case 5: r = pf(); break;
            case 6: r = sf() != of(); break;
            default: r = zf() || sf() != of(); break;
        }
        return r ^ ((cc & 1) != 0);
    }

    final int reg8(int idx) {
        return idx < 4 ? regs[idx] & 0xff : (regs[idx - 4] >>> 8) & 0xff;
    }

    final void setReg8(int idx, int v) {
        if (idx < 4) {
            regs[idx] = (regs[idx] & ~0xff) | (v & 0xff);
        } else {
            regs[idx - 4] = (regs[idx - 4] & ~0xff00) | ((v & 0xff) << 8);
        }
    }

    final int reg16(int idx) {
        return regs[idx] & 0xffff;
    }

    final void setReg16(int idx, int v) {
        regs[idx] = (regs[idx] & 0xffff0000) | (v & 0xffff);
    }

    final boolean protectedMode() {
        return (cr0 & CR0_PE) != 0;
    }

    final boolean v86() {
        return (flags & VM) != 0;
    }

    /** Records an exception and returns the preallocated throwable: {@code throw fault(GP, 0)}. */
    final CpuFault fault(int vector, int error) {
        faultVector = vector;
        faultError = error;
        return CpuFault.INSTANCE;
    }
}
