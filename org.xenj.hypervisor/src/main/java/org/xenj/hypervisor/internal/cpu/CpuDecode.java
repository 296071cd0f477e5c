package org.xenj.hypervisor.internal.cpu;

import org.xenj.hypervisor.internal.exec.CpuEnvironment;
import org.xenj.hypervisor.internal.mem.DomainMemory;

/**
 * Instruction fetch and decode. Fetch reads straight from the RAM chunk of the current code page
 * (a window {@code [fPageStart, fLimit)} of chunk indexes, bounded by the page and the CS limit),
 * so self-modifying code needs no special care. Decoding is driven by {@link OpTable}: prefixes,
 * opcode, ModRM/SIB/displacement (effective address computed) and immediates are all consumed
 * before execution starts, and EIP then already points to the next instruction; a fault restores
 * it from {@link #startEip}.
 */
abstract class CpuDecode extends CpuAlu {

    // ---- fetch window ----
    /** Chunk and index of the next byte to fetch (read by the block cache after a decode). */
    byte[] fMem;
    /** The machine frame of {@link #fMem}'s current page (when it is RAM). */
    int fMfn;
    int fIdx;
    private int fLimit, fPageStart, fOff;
    /** CS default size (D bit) and base, cached from the descriptor cache. */
    boolean code32;
    private int csBase;

    // ---- the decoded instruction ----
    int startEip;
    int op;
    int modrm, mod, reg, rm;
    int eaSeg, eaOff;
    int imm, imm2;
    int prefixSeg;
    /** 0, 0xF2 (REPNE) or 0xF3 (REP/REPE). */
    int rep;
    boolean o32, a32, lock;
    /** The effective address uses ESP as its base (POP m computes it after the increment). */
    boolean eaBaseEsp;
    /**
     * Parts of the effective address as decoded (kept so a cached instruction can recompute it
     * from the registers of the moment): base and index register or -1, scale shift,
     * displacement and the default segment.
     */
    int eaBase, eaIndex, eaScale, eaDisp, eaDefSeg;
    /** Whether the last decoded instruction has a memory operand (eaOff/eaSeg were computed). */
    boolean hasEa;

    CpuDecode(DomainMemory memory, CpuEnvironment env) {
        super(memory, env);
    }

    @Override
    final void flushFetch() {
        blockBreak = true; // ends the block; a TLB flush also starts an epoch (breakEpoch), a CS or CPL change does not
        fLimit = 0;
        fPageStart = 0;
        fIdx = 0;
    }

    @Override
    final void codeSegmentChanged() {
        code32 = (segAttr[CS] & ATTR_DB) != 0;
        csBase = segBase[CS];
        flushFetch();
    }

    private void refill(int lin) {
        long off = (lin - segBase[CS]) & 0xffffffffL;
        long limit = segLimit[CS] & 0xffffffffL;
        if (off > limit) {
            throw fault(GP, 0);
        }
        if (codePage(lin)) {
            fMem = codeChunk;
            fMfn = codeMfn;
            fOff = codeOff;
            fIdx = fOff + lin;
            fPageStart = fOff + (lin & PAGE_MASK);
            int pageRemain = 0x1000 - (lin & 0xfff);
            fLimit = fIdx + (int) Math.min(pageRemain, limit - off + 1);
        } else {
            fMem = null;
            fOff = 0;
            fIdx = lin;
            fLimit = lin;
            fPageStart = lin;
        }
    }

    private void fetchStart() {
        int lin = csBase + eip;
        int idx = fOff + lin;
        if (idx >= fPageStart && idx < fLimit) {
            fIdx = idx;
        } else {
            refill(lin);
        }
    }

    /**
     * Points the fetch window at CS:EIP (may fault: #GP past the limit, #PF) and returns the index
     * of that byte in {@link #fMem}, or -1 when the code is not in RAM.
     */
    final int codeIndexAtEip() {
        fetchStart();
        return fMem == null ? -1 : fIdx;
    }

    /** Index in {@link #fMem} of the current code page's first byte (its frame's). */
    final int codePageStart() {
        return fPageStart;
    }

    /** Index in {@link #fMem} just past the current code page (the end of the fetch window's page). */
    final int codePageEnd() {
        return fPageStart + 0x1000;
    }

    /** Recomputes {@link #eaOff}/{@link #eaSeg} from the decoded parts and the current registers. */
    final void computeEa() {
        int off = eaDisp;
        if (eaBase >= 0) {
            off += regs[eaBase];
        }
        if (eaIndex >= 0) {
            off += regs[eaIndex] << eaScale;
        }
        eaOff = a32 ? off : off & 0xffff;
        eaSeg = prefixSeg >= 0 ? prefixSeg : eaDefSeg;
    }

    final int fetch8() {
        int i = fIdx;
        if (i < fLimit) {
            fIdx = i + 1;
            return fMem[i] & 0xff;
        }
        return fetchSlow();
    }

    private int fetchSlow() {
        int lin = fIdx - fOff;
        if (lin - (csBase + startEip) >= 15) {
            throw fault(GP, 0); // instruction longer than 15 bytes
        }
        refill(lin);
        if (fMem == null) {
            fIdx = lin + 1;
            return read8(lin);
        }
        return fMem[fIdx++] & 0xff;
    }

    final int fetch16() {
        int i = fIdx;
        if (i + 2 <= fLimit) {
            fIdx = i + 2;
            return (short) LE16.get(fMem, i) & 0xffff;
        }
        return fetch8() | fetch8() << 8;
    }

    final int fetch32() {
        int i = fIdx;
        if (i + 4 <= fLimit) {
            fIdx = i + 4;
            return (int) LE32.get(fMem, i);
        }
        return fetch16() | fetch16() << 16;
    }

    /**
     * Offset in CS of the next byte to fetch. Never truncated to 16 bits, not even in 16-bit code:
     * since the 80386 the instruction pointer is EIP, sequential execution past offset 0xFFFF is
     * checked against the CS limit (#GP with a real-mode limit, where the 8086 wrapped) and goes on
     * with a 4 GiB limit ("big real mode" code reached by an o32 CALL/JMP). Only branches with a
     * 16-bit operand size truncate (SDM vol. 2 JMP/CALL: tempEIP AND 0000FFFFH).
     */
    final int fetchEip() {
        return fIdx - fOff - csBase;
    }

    /**
     * Decodes the instruction at CS:EIP into the fields above and advances EIP past it. Returns the
     * opcode (0x000-0x0FF one byte, 0x100-0x1FF two byte).
     */
    final int decode() {
        startEip = eip;
        fetchStart();
        boolean o = code32, a = code32;
        int seg = -1, rp = 0;
        boolean lk = false;
        int b = fetch8();
        int attr = OpTable.ATTR[b];
        while ((attr & OpTable.PREFIX) != 0) {
            switch (b) {
                case 0x26 -> seg = ES;
                case 0x2e -> seg = CS;
                case 0x36 -> seg = SS;
                case 0x3e -> seg = DS;
                case 0x64 -> seg = FS;
                case 0x65 -> seg = GS;
                case 0x66 -> o = !code32;
                case 0x67 -> a = !code32;
                case 0xf0 -> lk = true;
                default -> rp = b;
            }
            b = fetch8();
            attr = OpTable.ATTR[b];
        }
        if (b == 0x0f) {
            b = 0x100 | fetch8();
            attr = OpTable.ATTR[b];
        }
        o32 = o;
        a32 = a;
        prefixSeg = seg;
        rep = rp;
        lock = lk;
        op = b;
        hasEa = false;
        if ((attr & OpTable.MODRM) != 0) {
            int m = fetch8();
            modrm = m;
            mod = m >>> 6;
            reg = (m >>> 3) & 7;
            rm = m & 7;
            if (mod != 3) {
                if (a) {
                    decodeEa32(m);
                } else {
                    decodeEa16(m);
                }
                hasEa = true;
                computeEa();
            }
        }
        switch (attr & 0xf) {
            case OpTable.I_NONE -> { }
            case OpTable.I_B -> imm = fetch8();
            case OpTable.I_W -> imm = fetch16();
            case OpTable.I_Z -> imm = o ? fetch32() : fetch16();
            case OpTable.I_MOFFS -> imm = a ? fetch32() : fetch16();
            case OpTable.I_FAR -> {
                imm = o ? fetch32() : fetch16();
                imm2 = fetch16();
            }
            case OpTable.I_ENTER -> {
                imm = fetch16();
                imm2 = fetch8();
            }
            case OpTable.I_GRP3B -> {
                if (reg < 2) {
                    imm = fetch8();
                }
            }
            case OpTable.I_GRP3Z -> {
                if (reg < 2) {
                    imm = o ? fetch32() : fetch16();
                }
            }
            default -> { }
        }
        eip = fetchEip();
        if (((eip - startEip) & (code32 ? -1 : 0xffff)) > 15) {
            throw fault(GP, 0); // SDM vol. 2 §2.3.11: no instruction may be longer than 15 bytes
        }
        if (lk && !lockable(b)) {
            // SDM vol. 2 "LOCK": #UD unless the instruction is one of the lockable read-modify-writes
            // with a memory destination; decoded as UD2 so the block cache replays the same fault.
            op = b = 0x10b;
        }
        return b;
    }

    /** Whether LOCK may prefix opcode {@code b} with the ModRM just decoded (SDM vol. 2, LOCK). */
    private boolean lockable(int b) {
        if (mod == 3 || !hasEa) {
            return false;
        }
        if (b < 0x40) { // ADD OR ADC SBB AND SUB XOR with r/m destination (CMP and the rest excluded)
            return (b & 7) <= 1 && (b >>> 3) != 7;
        }
        return switch (b) {
            case 0x80, 0x81, 0x82, 0x83 -> reg != 7;          // group 1 except CMP
            case 0x86, 0x87 -> true;                           // XCHG
            case 0xf6, 0xf7 -> reg == 2 || reg == 3;           // NOT, NEG
            case 0xfe, 0xff -> reg <= 1;                       // INC, DEC
            case 0x1ab, 0x1b3, 0x1bb, 0x1b0, 0x1b1, 0x1c0, 0x1c1 -> true; // BTS BTR BTC CMPXCHG XADD
            case 0x1ba -> reg >= 5;                            // BTS/BTR/BTC imm8
            case 0x1c7 -> reg == 1;                            // CMPXCHG8B
            default -> false;
        };
    }

    private void decodeEa16(int m) {
        eaBaseEsp = false;
        eaScale = 0;
        int base = -1, index = -1, seg = DS;
        switch (m & 7) {
            case 0 -> { base = EBX; index = ESI; }
            case 1 -> { base = EBX; index = EDI; }
            case 2 -> { base = EBP; index = ESI; seg = SS; }
            case 3 -> { base = EBP; index = EDI; seg = SS; }
            case 4 -> base = ESI;
            case 5 -> base = EDI;
            case 6 -> {
                if (mod != 0) {
                    base = EBP;
                    seg = SS;
                }
            }
            default -> base = EBX;
        }
        int disp = 0;
        if (mod == 1) {
            disp = (byte) fetch8();
        } else if (mod == 2 || (mod == 0 && (m & 7) == 6)) {
            disp = fetch16();
        }
        eaBase = base;
        eaIndex = index;
        eaDisp = disp;
        eaDefSeg = seg;
    }

    private void decodeEa32(int m) {
        int r = m & 7;
        int base = -1, index = -1, scale = 0, disp = 0;
        int seg = DS;
        eaBaseEsp = false;
        if (r == 4) {
            int sib = fetch8();
            int b = sib & 7;
            int x = (sib >>> 3) & 7;
            if (b == 5 && mod == 0) {
                disp = fetch32();
            } else {
                base = b;
                if (b == ESP || b == EBP) {
                    seg = SS;
                    eaBaseEsp = b == ESP;
                }
            }
            if (x != 4) {
                index = x;
                scale = sib >>> 6;
            }
        } else if (r == 5 && mod == 0) {
            disp = fetch32();
        } else {
            base = r;
            if (r == EBP) {
                seg = SS;
            }
        }
        if (mod == 1) {
            disp += (byte) fetch8();
        } else if (mod == 2) {
            disp += fetch32();
        }
        eaBase = base;
        eaIndex = index;
        eaScale = scale;
        eaDisp = disp;
        eaDefSeg = seg;
    }

    // ------------------------------------------------------------------ operand access

    final int opBits() {
        return o32 ? 32 : 16;
    }

    final int getReg(int bits, int idx) {
        return bits == 32 ? regs[idx] : bits == 16 ? regs[idx] & 0xffff : reg8(idx);
    }

    final void setReg(int bits, int idx, int v) {
        if (bits == 32) {
            regs[idx] = v;
        } else if (bits == 16) {
            setReg16(idx, v);
        } else {
            setReg8(idx, v);
        }
    }

    final int readMem(int bits, int seg, int off) {
        if (bits == 32) {
            return read32(linR(seg, off, 4));
        }
        if (bits == 16) {
            return read16(linR(seg, off, 2));
        }
        return read8(linR(seg, off, 1));
    }

    final void writeMem(int bits, int seg, int off, int v) {
        if (bits == 32) {
            write32(linW(seg, off, 4), v);
        } else if (bits == 16) {
            write16(linW(seg, off, 2), v);
        } else {
            write8(linW(seg, off, 1), v);
        }
    }

    final int readLin(int bits, int lin) {
        return bits == 32 ? read32(lin) : bits == 16 ? read16(lin) : read8(lin);
    }

    final void writeLin(int bits, int lin, int v) {
        if (bits == 32) {
            write32(lin, v);
        } else if (bits == 16) {
            write16(lin, v);
        } else {
            write8(lin, v);
        }
    }

    /** The r/m operand. */
    final int readE(int bits) {
        return mod == 3 ? getReg(bits, rm) : readMem(bits, eaSeg, eaOff);
    }

    final void writeE(int bits, int v) {
        if (mod == 3) {
            setReg(bits, rm, v);
        } else {
            writeMem(bits, eaSeg, eaOff, v);
        }
    }

    private int rmwLin;
    /** The lazy flags as a locked instruction found them, put back when it must compute again (ADC/SBB read CF). */
    private int rmwFlags, rmwLfOp, rmwLfBits, rmwLfDst, rmwLfSrc, rmwLfRes, rmwLfCarry;

    /** Whether the instruction at hand is locked: LOCK-prefixed, or XCHG with memory (always locked). */
    private boolean lockedRmw() {
        return lock || op == 0x86 || op == 0x87;
    }

    /**
     * Reads the r/m operand of a read-modify-write; the later {@link #writeRmw} cannot fault. A
     * locked one reads through {@code lockedRead} (see CpuMmu): its callers loop until writeRmw
     * returns true.
     */
    final int readRmw(int bits) {
        if (mod == 3) {
            return getReg(bits, rm);
        }
        int size = bits >>> 3;
        int lin = linW(eaSeg, eaOff, size);
        checkWritable(lin, size);
        rmwLin = lin;
        if (lockedRmw()) {
            return readRmwLocked(lin, size);
        }
        return readLin(bits, lin);
    }

    /** Out of line, so that the plain read-modify-write stays as small (and as inlined) as before. */
    private int readRmwLocked(int lin, int size) {
        rmwFlags = flags;
        rmwLfOp = lfOp;
        rmwLfBits = lfBits;
        rmwLfDst = lfDst;
        rmwLfSrc = lfSrc;
        rmwLfRes = lfRes;
        rmwLfCarry = lfCarry;
        return (int) lockedRead(lin, size);
    }

    /**
     * Writes the result of a read-modify-write. False only for a locked instruction whose operand
     * another vCPU (or a hypervisor thread) changed since {@link #readRmw}: nothing was written and
     * the flags are as the instruction found them; compute again from a new readRmw.
     */
    final boolean writeRmw(int bits, int v) {
        if (mod == 3) {
            setReg(bits, rm, v);
            return true;
        }
        if (!lockedRmw()) {
            writeLin(bits, rmwLin, v);
            return true;
        }
        return writeRmwLocked(v);
    }

    private boolean writeRmwLocked(int v) {
        if (lockedWrite(v & 0xffffffffL)) {
            return true;
        }
        flags = rmwFlags;
        lfOp = rmwLfOp;
        lfBits = rmwLfBits;
        lfDst = rmwLfDst;
        lfSrc = rmwLfSrc;
        lfRes = rmwLfRes;
        lfCarry = rmwLfCarry;
        return false;
    }

    /** Effective address offset + {@code delta}, wrapped to the address size. */
    final int eaPlus(int delta) {
        int o = eaOff + delta;
        return a32 ? o : o & 0xffff;
    }

    final int dataSeg() {
        return prefixSeg >= 0 ? prefixSeg : DS;
    }

    /** Sign-extended 8-bit immediate. */
    final int simm8() {
        return (byte) imm;
    }

    /** Requires a memory operand (LEA, LDS, LGDT...): #UD for a register form. */
    final void requireMem() {
        if (mod == 3) {
            throw fault(UD, 0);
        }
    }
}
