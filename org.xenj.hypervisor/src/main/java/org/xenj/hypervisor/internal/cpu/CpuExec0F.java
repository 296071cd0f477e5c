package org.xenj.hypervisor.internal.cpu;

import org.xenj.hypervisor.internal.cpu.fpu.FpuUnit;
import org.xenj.hypervisor.internal.exec.CpuEnvironment;
import org.xenj.hypervisor.internal.mem.DomainMemory;

/** Execution of the two-byte (0F xx) opcodes. */
abstract class CpuExec0F extends CpuSimdFloat {

    CpuExec0F(DomainMemory memory, CpuEnvironment env) {
        super(memory, env);
    }

    @Override
    final void execute0F(int op) {
        switch (op & 0xff) {
            case 0x00 -> group6();
            case 0x01 -> group7();
            case 0x02, 0x03 -> larLsl(op == 0x103);
            case 0x06 -> {
                requireCpl0();
                cr0 &= ~CR0_TS;
            }
            case 0x08, 0x09 -> {
                requireCpl0(); // INVD, WBINVD: no caches to manage
                serialize();
            }
            case 0x0b -> throw fault(UD, 0);
            case 0x0d, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f -> { } // hint NOPs
            case 0x20 -> {
                requireCpl0();
                regs[rm] = readCr(reg);
            }
            case 0x21 -> {
                requireCpl0();
                regs[rm] = readDr(reg);
            }
            case 0x22 -> {
                requireCpl0();
                writeCr(reg, regs[rm]);
                serialize();
            }
            case 0x23 -> {
                requireCpl0();
                writeDr(reg, regs[rm]);
                serialize();
            }
            case 0x30 -> {
                requireCpl0();
                writeMsr(regs[ECX], (regs[EAX] & 0xffffffffL) | ((long) regs[EDX] << 32));
                serialize();
            }
            case 0x31 -> rdtsc();
            case 0x32 -> {
                requireCpl0();
                long v = readMsr(regs[ECX]);
                regs[EAX] = (int) v;
                regs[EDX] = (int) (v >>> 32);
            }
            case 0x33 -> throw fault(GP, 0); // RDPMC: no performance counters
            case 0x34 -> sysenter();
            case 0x35 -> sysexit();
            case 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f -> {
                int v = readE(opBits());
                if (cond(op & 15)) {
                    setReg(opBits(), reg, v);
                }
            }
            case 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f -> {
                if (cond(op & 15)) {
                    jumpRel(imm);
                }
            }
            case 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f ->
                    writeE(8, cond(op & 15) ? 1 : 0);
            case 0xa0 -> push(segSel[FS], o32);
            case 0xa1 -> popSegment(FS);
            case 0xa2 -> {
                cpuid();
                serialize();
            }
            case 0xa3 -> bitOp(0, regs[reg]);
            case 0xa4 -> writeRmw(opBits(), shiftDouble(true, opBits(), readRmw(opBits()), regs[reg], imm));
            case 0xa5 -> writeRmw(opBits(), shiftDouble(true, opBits(), readRmw(opBits()), regs[reg], regs[ECX]));
            case 0xa8 -> push(segSel[GS], o32);
            case 0xa9 -> popSegment(GS);
            case 0xab -> bitOp(1, regs[reg]);
            case 0xac -> writeRmw(opBits(), shiftDouble(false, opBits(), readRmw(opBits()), regs[reg], imm));
            case 0xad -> writeRmw(opBits(), shiftDouble(false, opBits(), readRmw(opBits()), regs[reg], regs[ECX]));
            case 0xae -> group15();
            case 0xaf -> setReg(opBits(), reg, imul2(opBits(), regs[reg], readE(opBits())));
            case 0xb0 -> cmpxchg(8);
            case 0xb1 -> cmpxchg(opBits());
            case 0xb2 -> loadFarPointer(SS);
            case 0xb3 -> bitOp(2, regs[reg]);
            case 0xb4 -> loadFarPointer(FS);
            case 0xb5 -> loadFarPointer(GS);
            case 0xb6 -> setReg(opBits(), reg, readE(8));
            case 0xb7 -> setReg(opBits(), reg, readE(16));
            case 0xba -> {
                if (reg < 4) {
                    throw fault(UD, 0);
                }
                bitOp(reg - 4, imm & (opBits() - 1));
            }
            case 0xbb -> bitOp(3, regs[reg]);
            case 0xbc, 0xbd -> bitScanOp(op == 0x1bd);
            case 0xbe -> setReg(opBits(), reg, (byte) readE(8));
            case 0xbf -> setReg(opBits(), reg, (short) readE(16));
            case 0xc0 -> xadd(8);
            case 0xc1 -> xadd(opBits());
            case 0xc7 -> cmpxchg8b();
            case 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf -> regs[op & 7] = Integer.reverseBytes(regs[op & 7]);
            default -> {
                if (!isSimdOpcode(op)) {
                    throw fault(UD, 0);
                }
                executeSimd(op);
            }
        }
    }

    private void popSegment(int seg) {
        int v = peek(0, o32);
        loadSeg(seg, v & 0xffff);
        addSp(o32 ? 4 : 2);
    }

    private void group6() {
        requireProtected();
        switch (reg) {
            case 0 -> writeSelector(ldtrSel);
            case 1 -> writeSelector(trSel);
            case 2 -> lldt(readE(16));
            case 3 -> ltr(readE(16));
            case 4, 5 -> {
                int sel = readE(16);
                boolean ok = probeDescriptor(sel, false) && (descHi & 0x1000) != 0;
                if (ok) {
                    boolean code = (descHi & 0x800) != 0;
                    ok = reg == 4 ? (!code || (descHi & 0x200) != 0) : (!code && (descHi & 0x200) != 0);
                }
                setArith(ok ? eflags() | ZF : eflags() & ~ZF);
            }
            default -> throw fault(UD, 0);
        }
    }

    private void writeSelector(int sel) {
        if (mod == 3) {
            setReg(o32 ? 32 : 16, rm, sel);
        } else {
            writeMem(16, eaSeg, eaOff, sel);
        }
    }

    private void group7() {
        if (mod == 3) {
            switch (modrm) {
                case 0xc1, 0xd9 -> {
                    HypercallHandler h = hypercallHandler;
                    if (h == null || !h.hypercall((Cpu) this, HypercallHandler.VMCALL)) {
                        throw fault(UD, 0);
                    }
                    breakEpoch(); // the hypercall may have written guest memory, code included
                    return;
                }
                case 0xf9 -> {
                    // SDM vol. 2B RDTSCP: EDX:EAX = TSC, ECX = IA32_TSC_AUX. Done here: falling through to
                    // the memory forms below would run it as INVLPG (#GP in ring 3, where Linux's vDSO uses it)
                    rdtscp();
                    return;
                }
                default -> {
                    if (reg == 4) {
                        setReg(o32 ? 32 : 16, rm, cr0);
                        return;
                    }
                    if (reg == 6) {
                        lmsw(regs[rm]);
                        return;
                    }
                    throw fault(UD, 0);
                }
            }
        }
        switch (reg) {
            case 0 -> sgdtSidt(false);
            case 1 -> sgdtSidt(true);
            case 2 -> lgdtLidt(false);
            case 3 -> lgdtLidt(true);
            case 4 -> writeMem(16, eaSeg, eaOff, cr0);
            case 6 -> lmsw(readE(16));
            case 7 -> {
                requireCpl0();
                invlpg(segBase[eaSeg] + eaOff);
            }
            default -> throw fault(UD, 0);
        }
    }

    private void lmsw(int v) {
        requireCpl0();
        // LMSW can set PE but never clear it; it only touches PE, MP, EM, TS
        int nv = (cr0 & ~0xe) | (v & 0xf) | (cr0 & CR0_PE);
        writeCr(0, nv);
    }

    private void larLsl(boolean lsl) {
        requireProtected();
        int sel = readE(16);
        boolean ok = probeDescriptor(sel, lsl);
        if (ok) {
            int v = lsl ? descLimit(descLo, descHi) : descHi & 0x00f0ff00;
            setReg(opBits(), reg, v);
        }
        setArith(ok ? eflags() | ZF : eflags() & ~ZF);
    }

    /** BT (0), BTS (1), BTR (2), BTC (3); {@code bit} is the register or immediate bit offset. */
    private void bitOp(int kind, int bit) {
        int bits = opBits();
        if (mod == 3) {
            int b = bit & (bits - 1);
            int v = getReg(bits, rm);
            setCarry((v >>> b) & 1);
            if (kind != 0) {
                setReg(bits, rm, kind == 1 ? v | (1 << b) : kind == 2 ? v & ~(1 << b) : v ^ (1 << b));
            }
            return;
        }
        int off = eaOff;
        if (op != 0x1ba) { // register bit offsets address memory beyond the operand
            int unit = bits == 32 ? bit >> 5 : (int) ((short) bit) >> 4;
            off += unit * (bits >>> 3);
            if (!a32) {
                off &= 0xffff;
            }
        }
        int b = bit & (bits - 1);
        int size = bits >>> 3;
        if (kind == 0) {
            int v = readMem(bits, eaSeg, off);
            setCarry((v >>> b) & 1);
            return;
        }
        int lin = linW(eaSeg, off, size);
        checkWritable(lin, size);
        if (lock) {
            // LOCK BTS/BTR/BTC: a compare-and-set of the word (see CpuMmu.lockedRead), again if it changed
            int v;
            do {
                v = (int) lockedRead(lin, size);
            } while (!lockedWrite((kind == 1 ? v | (1 << b) : kind == 2 ? v & ~(1 << b) : v ^ (1 << b)) & 0xffffffffL));
            setCarry((v >>> b) & 1);
            return;
        }
        int v = readLin(bits, lin);
        setCarry((v >>> b) & 1);
        writeLin(bits, lin, kind == 1 ? v | (1 << b) : kind == 2 ? v & ~(1 << b) : v ^ (1 << b));
    }

    private void bitScanOp(boolean reverse) {
        int bits = opBits();
        int v = readE(bits);
        if (bits == 16) {
            v &= 0xffff;
        }
        setReg(bits, reg, bitScan(reverse, v, getReg(bits, reg)));
    }

    private void cmpxchg(int bits) {
        int dst, acc;
        boolean equal;
        do {
            dst = readRmw(bits);
            acc = getReg(bits, EAX);
            equal = ((acc ^ dst) << (32 - bits)) == 0;
            // the failing form writes the old value back: locked, that checks it is still there
        } while (!writeRmw(bits, equal ? getReg(bits, reg) : dst));
        alu(OP_CMP, bits, acc, dst);
        if (!equal) {
            setReg(bits, EAX, dst);
        }
    }

    private void xadd(int bits) {
        int dst, src, sum;
        do {
            dst = readRmw(bits);
            src = getReg(bits, reg);
            sum = alu(OP_ADD, bits, dst, src);
        } while (!writeRmw(bits, sum));
        // when the destination is the same register the sum wins: write the source first
        if (mod == 3 && rm == reg) {
            return;
        }
        setReg(bits, reg, dst);
        if (mod == 3) {
            setReg(bits, rm, sum);
        }
    }

    private void cmpxchg8b() {
        if (reg != 1 || mod == 3) {
            throw fault(UD, 0);
        }
        int lin = linW(eaSeg, eaOff, 8);
        checkWritable(lin, 8);
        int lo, hi;
        boolean equal;
        if (lock) {
            long v, expect = (regs[EAX] & 0xffffffffL) | (long) regs[EDX] << 32;
            do {
                v = lockedRead(lin, 8);
                equal = v == expect;
            } while (!lockedWrite(equal ? (regs[EBX] & 0xffffffffL) | (long) regs[ECX] << 32 : v));
            lo = (int) v;
            hi = (int) (v >>> 32);
        } else {
            lo = read32(lin);
            hi = read32(lin + 4);
            equal = lo == regs[EAX] && hi == regs[EDX];
            write32(lin, equal ? regs[EBX] : lo);
            write32(lin + 4, equal ? regs[ECX] : hi);
        }
        if (equal) {
            setArith(eflags() | ZF);
        } else {
            regs[EAX] = lo;
            regs[EDX] = hi;
            setArith(eflags() & ~ZF);
        }
    }

    /**
     * 0F AE: FXSAVE, FXRSTOR, LDMXCSR, STMXCSR, CLFLUSH (memory forms); LFENCE, MFENCE, SFENCE
     * (register forms). The fences are full Java fences: backend threads share guest memory (rings).
     */
    private void group15() {
        if (mod == 3) {
            if (reg >= 5) {
                // backend threads read and write guest memory concurrently (rings): a fence orders too
                java.lang.invoke.VarHandle.fullFence();
                return;
            }
            throw fault(UD, 0);
        }
        FpuUnit f = fpu;
        switch (reg) {
            case 0, 1 -> {
                if (f == null) {
                    throw fault(UD, 0);
                }
                if ((cr0 & (CR0_EM | CR0_TS)) != 0) {
                    throw fault((cr0 & CR0_EM) != 0 ? UD : NM, 0);
                }
                int lin = reg == 0 ? linW(eaSeg, eaOff, 512) : linR(eaSeg, eaOff, 512);
                if ((lin & 15) != 0) {
                    throw fault(GP, 0);
                }
                if (reg == 0) {
                    checkWritable(lin, 512);
                    f.fxsave(lin);
                    if (x87 != null) {
                        fxsaveSimd(lin);
                    }
                } else {
                    read8(lin);
                    read8(lin + 511);
                    if (x87 != null) {
                        fxrstorCheck(lin);
                    }
                    f.fxrstor(lin);
                    if (x87 != null) {
                        fxrstorSimd(lin);
                    }
                }
            }
            case 2 -> {
                checkSse();
                ldmxcsr();
            }
            case 3 -> {
                checkSse();
                stmxcsr();
            }
            case 7 -> linR(eaSeg, eaOff, 1); // CLFLUSH: nothing cached, but the address must be valid
            default -> throw fault(UD, 0);
        }
    }
}
