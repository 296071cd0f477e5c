package org.xenj.hypervisor.internal.cpu;

import org.xenj.hypervisor.internal.cpu.fpu.FpuUnit;
import org.xenj.hypervisor.internal.cpu.fpu.X87;
import org.xenj.hypervisor.internal.exec.CpuEnvironment;
import org.xenj.hypervisor.internal.mem.DomainMemory;

/**
 * Execution of the one-byte opcodes. {@link #execute} is one switch over the decoded opcode; each
 * case is short or calls a small method, so that the dispatch method stays well below HotSpot's
 * 8000-byte compile limit.
 */
abstract class CpuExec extends CpuString {

    FpuUnit fpu;
    /** Set by STI / MOV SS / POP SS: no interrupt before the next instruction completes. */
    boolean interruptShadow;
    /** Ends the current block (HLT, mode switches that the executor must see). */
    boolean stopBlock;

    CpuExec(DomainMemory memory, CpuEnvironment env) {
        super(memory, env);
    }

    abstract void execute0F(int op);

    /** Lets {@link Cpu#runTest} stop at software interrupts instead of delivering them. */
    abstract boolean interceptSoftwareInterrupt(int vector);

    final void execute(int op) {
        switch (op) {
            case 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
                 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
                 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d,
                 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d -> aluForm(op);
            case 0x06, 0x0e, 0x16, 0x1e -> push(segSel[op >>> 3], o32);
            case 0x07, 0x17, 0x1f -> popSeg(op >>> 3);
            case 0x27 -> daa();
            case 0x2f -> das();
            case 0x37 -> aaa(false);
            case 0x3f -> aaa(true);
            case 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47 -> setReg(opBits(), op & 7, inc(opBits(), regs[op & 7]));
            case 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f -> setReg(opBits(), op & 7, dec(opBits(), regs[op & 7]));
            case 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57 -> push(regs[op & 7], o32);
            case 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f -> popReg(op & 7);
            case 0x60 -> pusha();
            case 0x61 -> popa();
            case 0x62 -> bound();
            case 0x63 -> arpl();
            case 0x68 -> push(imm, o32);
            case 0x69 -> setReg(opBits(), reg, imul2(opBits(), readE(opBits()), imm));
            case 0x6a -> push(simm8(), o32);
            case 0x6b -> setReg(opBits(), reg, imul2(opBits(), readE(opBits()), simm8()));
            case 0x6c -> ins(8);
            case 0x6d -> ins(opBits());
            case 0x6e -> outs(8);
            case 0x6f -> outs(opBits());
            case 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f -> {
                if (cond(op & 15)) {
                    jumpRel(simm8());
                }
            }
            case 0x80, 0x82 -> group1(8, imm);
            case 0x81 -> group1(opBits(), imm);
            case 0x83 -> group1(opBits(), simm8());
            case 0x84 -> alu(OP_AND, 8, readE(8), reg8(reg));
            case 0x85 -> alu(OP_AND, opBits(), readE(opBits()), regs[reg]);
            case 0x86 -> xchgE(8);
            case 0x87 -> xchgE(opBits());
            case 0x88 -> writeE(8, reg8(reg));
            case 0x89 -> writeE(opBits(), regs[reg]);
            case 0x8a -> setReg8(reg, readE(8));
            case 0x8b -> setReg(opBits(), reg, readE(opBits()));
            case 0x8c -> movFromSeg();
            case 0x8d -> {
                requireMem();
                setReg(opBits(), reg, eaOff);
            }
            case 0x8e -> movToSeg();
            case 0x8f -> popE();
            case 0x90 -> {
                if (rep == 0xf3) {
                    pause();
                }
            }
            case 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97 -> {
                int bits = opBits();
                int t = getReg(bits, EAX);
                setReg(bits, EAX, regs[op & 7]);
                setReg(bits, op & 7, t);
            }
            case 0x98 -> {
                if (o32) {
                    regs[EAX] = (short) regs[EAX];
                } else {
                    setReg16(EAX, (byte) regs[EAX]);
                }
            }
            case 0x99 -> {
                if (o32) {
                    regs[EDX] = regs[EAX] >> 31;
                } else {
                    setReg16(EDX, ((short) regs[EAX]) >> 15);
                }
            }
            case 0x9a -> farCall(imm2, imm, o32);
            case 0x9b -> fwait();
            case 0x9c -> pushf();
            case 0x9d -> popf();
            case 0x9e -> sahf(regs[EAX]);
            case 0x9f -> regs[EAX] = lahf(regs[EAX]);
            case 0xa0 -> setReg8(EAX, readMem(8, dataSeg(), imm));
            case 0xa1 -> setReg(opBits(), EAX, readMem(opBits(), dataSeg(), imm));
            case 0xa2 -> writeMem(8, dataSeg(), imm, regs[EAX]);
            case 0xa3 -> writeMem(opBits(), dataSeg(), imm, regs[EAX]);
            case 0xa4 -> movs(8);
            case 0xa5 -> movs(opBits());
            case 0xa6 -> cmps(8);
            case 0xa7 -> cmps(opBits());
            case 0xa8 -> alu(OP_AND, 8, regs[EAX], imm);
            case 0xa9 -> alu(OP_AND, opBits(), regs[EAX], imm);
            case 0xaa -> stos(8);
            case 0xab -> stos(opBits());
            case 0xac -> lods(8);
            case 0xad -> lods(opBits());
            case 0xae -> scas(8);
            case 0xaf -> scas(opBits());
            case 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7 -> setReg8(op & 7, imm);
            case 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf -> setReg(opBits(), op & 7, imm);
            case 0xc0 -> writeRmw(8, shift(reg, 8, readRmw(8), imm));
            case 0xc1 -> writeRmw(opBits(), shift(reg, opBits(), readRmw(opBits()), imm));
            case 0xc2 -> retNear(imm);
            case 0xc3 -> retNear(0);
            case 0xc4 -> loadFarPointer(ES);
            case 0xc5 -> loadFarPointer(DS);
            case 0xc6 -> writeE(8, imm);
            case 0xc7 -> writeE(opBits(), imm);
            case 0xc8 -> enter();
            case 0xc9 -> leave();
            case 0xca -> farRet(o32, imm);
            case 0xcb -> farRet(o32, 0);
            case 0xcc -> softInt(3);
            case 0xcd -> softInt(imm & 0xff);
            case 0xce -> {
                if (of()) {
                    softInt(4);
                }
            }
            case 0xcf -> {
                iretInsn();
                serialize();
            }
            case 0xd0 -> writeRmw(8, shift(reg, 8, readRmw(8), 1));
            case 0xd1 -> writeRmw(opBits(), shift(reg, opBits(), readRmw(opBits()), 1));
            case 0xd2 -> writeRmw(8, shift(reg, 8, readRmw(8), regs[ECX]));
            case 0xd3 -> writeRmw(opBits(), shift(reg, opBits(), readRmw(opBits()), regs[ECX]));
            case 0xd4 -> aam(imm & 0xff);
            case 0xd5 -> aad(imm & 0xff);
            case 0xd6 -> setReg8(EAX, cf() != 0 ? 0xff : 0);
            case 0xd7 -> setReg8(EAX, readMem(8, dataSeg(), a32 ? regs[EBX] + (regs[EAX] & 0xff) : (regs[EBX] + (regs[EAX] & 0xff)) & 0xffff));
            case 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf -> esc(op);
            case 0xe0, 0xe1, 0xe2 -> loop(op);
            case 0xe3 -> {
                if ((a32 ? regs[ECX] : regs[ECX] & 0xffff) == 0) {
                    jumpRel(simm8());
                }
            }
            case 0xe4 -> setReg8(EAX, in(imm & 0xff, 1));
            case 0xe5 -> setReg(opBits(), EAX, in(imm & 0xff, o32 ? 4 : 2));
            case 0xe6 -> out(imm & 0xff, 1, regs[EAX]);
            case 0xe7 -> out(imm & 0xff, o32 ? 4 : 2, regs[EAX]);
            case 0xe8 -> callNear(eip + imm);
            case 0xe9 -> jumpRel(imm);
            case 0xea -> farJmp(imm2, imm, o32);
            case 0xeb -> jumpRel(simm8());
            case 0xec -> setReg8(EAX, in(regs[EDX] & 0xffff, 1));
            case 0xed -> setReg(opBits(), EAX, in(regs[EDX] & 0xffff, o32 ? 4 : 2));
            case 0xee -> out(regs[EDX] & 0xffff, 1, regs[EAX]);
            case 0xef -> out(regs[EDX] & 0xffff, o32 ? 4 : 2, regs[EAX]);
            case 0xf1 -> {
                interceptSoftwareInterrupt(DB);
                interrupt(DB, DeliveryHook.EXCEPTION, -1);
            }
            case 0xf4 -> hlt();
            case 0xf5 -> setCarry(cf() ^ 1);
            case 0xf6 -> group3(8);
            case 0xf7 -> group3(opBits());
            case 0xf8 -> setCarry(0);
            case 0xf9 -> setCarry(1);
            case 0xfa -> cli();
            case 0xfb -> sti();
            case 0xfc -> flags &= ~DF;
            case 0xfd -> flags |= DF;
            case 0xfe -> group4();
            case 0xff -> group5();
            default -> {
                if (op >= 0x100) {
                    execute0F(op);
                } else {
                    throw fault(UD, 0);
                }
            }
        }
    }

    private void aluForm(int op) {
        int kind = (op >>> 3) & 7;
        switch (op & 7) {
            case 0, 1 -> {
                int bits = (op & 1) == 0 ? 8 : opBits();
                if (kind == OP_CMP) {
                    alu(OP_CMP, bits, readE(bits), getReg(bits, reg));
                } else {
                    while (!writeRmw(bits, alu(kind, bits, readRmw(bits), getReg(bits, reg)))) {
                        Thread.onSpinWait(); // a locked operand changed under us: compute again
                    }
                }
            }
            case 2, 3 -> {
                int bits = (op & 1) == 0 ? 8 : opBits();
                int r = alu(kind, bits, getReg(bits, reg), readE(bits));
                if (kind != OP_CMP) {
                    setReg(bits, reg, r);
                }
            }
            case 4 -> {
                int r = alu(kind, 8, regs[EAX], imm);
                if (kind != OP_CMP) {
                    setReg8(EAX, r);
                }
            }
            default -> {
                int bits = opBits();
                int r = alu(kind, bits, regs[EAX], imm);
                if (kind != OP_CMP) {
                    setReg(bits, EAX, r);
                }
            }
        }
    }

    private void group1(int bits, int src) {
        if (reg == OP_CMP) {
            alu(OP_CMP, bits, readE(bits), src);
        } else {
            while (!writeRmw(bits, alu(reg, bits, readRmw(bits), src))) {
                Thread.onSpinWait(); // a locked operand changed under us: compute again
            }
        }
    }

    final void jumpRel(int rel) {
        jumpAbs(eip + rel);
    }

    /**
     * Near branch (SDM vol. 2 JMP/Jcc/CALL/RET/LOOP): tempEIP is truncated to 16 bits with a 16-bit
     * operand size and must lie within the CS limit, else #GP(0) at the branch, not at the target.
     */
    final void jumpAbs(int t) {
        eip = nearTarget(t);
    }

    final int nearTarget(int t) {
        int e = o32 ? t : t & 0xffff;
        if (Integer.compareUnsigned(e, segLimit[CS]) > 0) {
            throw fault(GP, 0);
        }
        return e;
    }

    /** CALL near: the target is checked before the return address is pushed (precise #GP). */
    private void callNear(int t) {
        int e = nearTarget(t);
        push(eip, o32);
        eip = e;
    }

    private void loop(int op) {
        int c;
        if (a32) {
            c = --regs[ECX];
        } else {
            c = (regs[ECX] - 1) & 0xffff;
            setReg16(ECX, c);
        }
        boolean take = c != 0 && (op == 0xe2 || (op == 0xe1) == zf());
        if (take) {
            jumpRel(simm8());
        }
    }

    private void popReg(int r) {
        int v = pop(o32);
        setReg(opBits(), r, v);
    }

    private void popSeg(int seg) {
        // SDM vol. 2 POP: the stack pointer is incremented per the stack-address size in force when
        // the value was read — for POP SS that of the old SS, not of the descriptor just loaded.
        boolean big = stack32();
        int v = peek(0, o32);
        loadSeg(seg, v & 0xffff);
        addSp(o32 ? 4 : 2, big);
        if (seg == SS) {
            interruptShadow = true;
        }
    }

    private void popE() {
        int esp = regs[ESP];
        int v = pop(o32);
        try {
            // SDM vol. 2 POP: an ESP base is used after the increment; recomputed from the new ESP
            // (adding the operand size to the old address missed SP's wrap on a 16-bit stack)
            if (mod != 3 && eaBaseEsp) {
                computeEa();
            }
            writeE(opBits(), v);
        } catch (CpuFault f) {
            regs[ESP] = esp;
            throw f;
        }
    }

    private void pusha() {
        int esp = regs[ESP];
        try {
            for (int r = 0; r < 8; r++) {
                push(r == ESP ? esp : regs[r], o32);
            }
        } catch (CpuFault f) {
            regs[ESP] = esp;
            throw f;
        }
    }

    private final int[] popaBuf = new int[8];

    private void popa() {
        int size = o32 ? 4 : 2;
        int bits = opBits();
        int[] v = popaBuf;
        for (int r = 0; r < 8; r++) {
            v[7 - r] = peek(r * size, o32);
        }
        for (int r = 0; r < 8; r++) {
            if (r != ESP) {
                setReg(bits, r, v[r]);
            }
        }
        addSp(8 * size);
    }

    private void bound() {
        requireMem();
        int bits = opBits();
        int idx = getReg(bits, reg);
        int lo = readMem(bits, eaSeg, eaOff);
        int hi = readMem(bits, eaSeg, eaPlus(bits >>> 3));
        if (bits == 16) {
            idx = (short) idx;
            lo = (short) lo;
            hi = (short) hi;
        }
        if (idx < lo || idx > hi) {
            throw fault(BR, 0);
        }
    }

    private void arpl() {
        if (!protectedMode() || v86()) {
            throw fault(UD, 0);
        }
        int dst = readRmw(16);
        int src = reg16(reg);
        int f = eflags() & ~ZF;
        if ((dst & 3) < (src & 3)) {
            writeRmw(16, (dst & ~3) | (src & 3));
            f |= ZF;
        }
        setArith(f);
    }

    private void xchgE(int bits) {
        int v;
        do {
            v = readRmw(bits);
        } while (!writeRmw(bits, getReg(bits, reg)));
        setReg(bits, reg, v);
    }

    private void movFromSeg() {
        if (reg > 5) {
            throw fault(UD, 0);
        }
        int v = segSel[reg];
        if (mod == 3) {
            setReg(o32 ? 32 : 16, rm, v);
        } else {
            writeMem(16, eaSeg, eaOff, v);
        }
    }

    private void movToSeg() {
        if (reg > 5 || reg == CS) {
            throw fault(UD, 0);
        }
        loadSeg(reg, readE(16));
        if (reg == SS) {
            interruptShadow = true;
        }
    }

    final void loadFarPointer(int seg) {
        requireMem();
        int bits = opBits();
        int off = readMem(bits, eaSeg, eaOff);
        int sel = readMem(16, eaSeg, eaPlus(bits >>> 3));
        loadSeg(seg, sel);
        setReg(bits, reg, off);
    }

    private void retNear(int extra) {
        int t = nearTarget(peek(0, o32)); // checked before ESP moves: #GP leaves the stack as it was
        addSp((o32 ? 4 : 2) + extra);
        eip = t;
    }

    private void enter() {
        int size = o32 ? 4 : 2;
        int frameSize = imm & 0xffff;
        int level = imm2 & 0x1f;
        int esp = regs[ESP];
        try {
            push(regs[EBP], o32);
            // SDM vol. 2 ENTER: FrameTemp is ESP for a 32-bit operand size and SP for 16 — it follows the
            // operand size, not the stack size (a 32-bit ENTER on a 16-bit stack keeps ESP's upper half).
            int frameTemp = o32 ? regs[ESP] : regs[ESP] & 0xffff;
            int bp = regs[EBP];
            for (int i = 1; i < level; i++) {
                bp -= size;
                push(readMem(o32 ? 32 : 16, SS, stack32() ? bp : bp & 0xffff), o32);
            }
            if (level > 0) {
                push(frameTemp, o32);
            }
            addSp(-frameSize);
            // the new stack top must be writable (hardware checks it)
            int top = stack32() ? regs[ESP] : regs[ESP] & 0xffff;
            if (frameSize > 0) {
                checkWritable(linW(SS, top, 1), 1);
            }
            setReg(o32 ? 32 : 16, EBP, frameTemp);
        } catch (CpuFault f) {
            regs[ESP] = esp;
            throw f;
        }
    }

    private void leave() {
        int bp = stack32() ? regs[EBP] : regs[EBP] & 0xffff;
        int v = o32 ? read32(linR(SS, bp, 4)) : read16(linR(SS, bp, 2));
        if (stack32()) {
            regs[ESP] = bp + (o32 ? 4 : 2);
        } else {
            setReg16(ESP, bp + (o32 ? 4 : 2));
        }
        setReg(opBits(), EBP, v);
    }

    private int iopl() {
        return (flags >>> 12) & 3;
    }

    private void pushf() {
        if (v86() && iopl() < 3) {
            throw fault(GP, 0);
        }
        push(eflags() & ~(VM | RF), o32);
    }

    private void popf() {
        if (v86() && iopl() < 3) {
            throw fault(GP, 0);
        }
        int v = peek(0, o32);
        int mask;
        if (!protectedMode()) {
            mask = ARITH | TF | IF | DF | IOPL | NT | AC | ID;
        } else if (v86()) {
            mask = ARITH | TF | IF | DF | NT | AC | ID;
        } else {
            mask = ARITH | TF | DF | NT | AC | ID;
            if (cpl <= iopl()) {
                mask |= IF;
            }
            if (cpl == 0) {
                mask |= IOPL;
            }
        }
        if (!o32) {
            mask &= 0xffff;
        }
        addSp(o32 ? 4 : 2);
        boolean wasEnabled = (flags & IF) != 0;
        writeFlags(v, mask);
        if ((!wasEnabled && (flags & IF) != 0) || (flags & TF) != 0) {
            stopBlock = true; // interrupts just got enabled, or single-stepping starts: back to the executor
        }
    }

    private void cli() {
        if (protectedMode() && (v86() ? iopl() < 3 : cpl > iopl())) {
            throw fault(GP, 0);
        }
        flags &= ~IF;
    }

    private void sti() {
        if (protectedMode() && (v86() ? iopl() < 3 : cpl > iopl())) {
            throw fault(GP, 0);
        }
        if ((flags & IF) == 0) {
            interruptShadow = true;
            stopBlock = true;
        }
        flags |= IF;
    }

    private void hlt() {
        if (protectedMode() && cpl != 0) {
            throw fault(GP, 0);
        }
        halted = true;
        stopBlock = true;
    }

    private void softInt(int vector) {
        if (v86() && iopl() < 3) {
            throw fault(GP, 0);
        }
        interceptSoftwareInterrupt(vector);
        if (vector == 0x82 && hypercallHandler != null && hypercallHandler.hypercall((Cpu) this, HypercallHandler.INT82)) {
            breakEpoch(); // the hypercall may have written guest memory, code included
            return;
        }
        try {
            interrupt(vector, DeliveryHook.SOFTWARE_INT, -1);
        } catch (CpuFault f) {
            eip = startEip;
            throw f;
        }
    }

    private void iretInsn() {
        boolean wasEnabled = (flags & IF) != 0;
        iret(o32);
        if ((!wasEnabled && (flags & IF) != 0) || (flags & TF) != 0) {
            stopBlock = true;
        }
    }

    private void group3(int bits) {
        switch (reg) {
            case 0, 1 -> alu(OP_AND, bits, readE(bits), imm);
            case 2 -> {
                while (!writeRmw(bits, ~readRmw(bits))) {
                    Thread.onSpinWait();
                }
            }
            case 3 -> {
                while (!writeRmw(bits, neg(bits, readRmw(bits)))) {
                    Thread.onSpinWait();
                }
            }
            case 4 -> mul(bits, readE(bits));
            case 5 -> imul1(bits, readE(bits));
            case 6 -> div(bits, readE(bits));
            default -> idiv(bits, readE(bits));
        }
    }

    private void group4() {
        switch (reg) {
            case 0 -> {
                while (!writeRmw(8, inc(8, readRmw(8)))) {
                    Thread.onSpinWait();
                }
            }
            case 1 -> {
                while (!writeRmw(8, dec(8, readRmw(8)))) {
                    Thread.onSpinWait();
                }
            }
            default -> throw fault(UD, 0);
        }
    }

    private void group5() {
        int bits = opBits();
        switch (reg) {
            case 0 -> {
                while (!writeRmw(bits, inc(bits, readRmw(bits)))) {
                    Thread.onSpinWait();
                }
            }
            case 1 -> {
                while (!writeRmw(bits, dec(bits, readRmw(bits)))) {
                    Thread.onSpinWait();
                }
            }
            case 2 -> callNear(readE(bits));
            case 3, 5 -> {
                requireMem();
                int off = readMem(bits, eaSeg, eaOff);
                int sel = readMem(16, eaSeg, eaPlus(bits >>> 3));
                if (reg == 3) {
                    farCall(sel, off, o32);
                } else {
                    farJmp(sel, off, o32);
                }
            }
            case 4 -> jumpAbs(readE(bits));
            case 6 -> push(readE(bits), o32);
            default -> throw fault(UD, 0);
        }
    }

    // ------------------------------------------------------------------ x87 escape

    private void fwait() {
        if ((cr0 & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS)) {
            throw fault(NM, 0);
        }
        FpuUnit f = fpu;
        if (f != null && f.errorPending() && (cr0 & CR0_NE) != 0) {
            throw fault(MF, 0);
        }
    }

    /** Control instructions that do not wait for pending x87 exceptions (FN* forms). */
    private boolean noWait(int op) {
        if (mod == 3) {
            // FNENI, FNDISI, FNCLEX, FNINIT, FNSETPM and FNSTSW AX do not wait
            return (op == 0xdb && modrm >= 0xe0 && modrm <= 0xe4) || (op == 0xdf && modrm == 0xe0);
        }
        return (op == 0xd9 && (reg == 6 || reg == 7)) || (op == 0xdd && (reg == 6 || reg == 7));
    }

    private void esc(int op) {
        FpuUnit f = fpu;
        if ((cr0 & (CR0_EM | CR0_TS)) != 0 || f == null) {
            throw fault(NM, 0);
        }
        if (!X87.isDefined(op, modrm)) {
            throw fault(UD, 0); // #UD has priority over a pending #MF
        }
        if (!noWait(op) && f.errorPending() && (cr0 & CR0_NE) != 0) {
            throw fault(MF, 0);
        }
        int lin = 0;
        if (mod != 3) {
            lin = segBase[eaSeg] + eaOff;
        }
        int r = f.execute(op, modrm, lin, eflags(), o32, protectedMode() && !v86(), segBase[CS] + startEip, segSel[CS]);
        if (r == FpuUnit.UNDEFINED) {
            throw fault(UD, 0);
        }
        if (op == 0xdf && modrm == 0xe0) {
            setReg16(EAX, f.statusWord());
        }
        if (r != FpuUnit.NO_EFLAGS) {
            setArith((eflags() & ~(OF | SF | AF | ZF | PF | CF)) | (r & (ZF | PF | CF)));
        }
    }

    // ------------------------------------------------------------------ pause-loop exiting

    /**
     * PAUSEs in a row of one run after which an SMP vCPU gives its host thread up (0: never;
     * {@code xenj.cpu.pauseLoopExit}). A guest spinning on a lock whose holder's thread the host
     * (or the pool's scheduler) is not running only burns the core the holder needs: on a 2-core
     * host the vCPU threads share the cores with HotSpot's compiler and GC threads, so a holder is
     * often off-CPU. Hardware has the same answer (Intel's PAUSE-loop exiting, AMD's pause filter):
     * after a window of PAUSEs the hypervisor yields the spinning vCPU.
     */
    static final int PAUSE_LOOP_EXIT = Math.max(0, Integer.getInteger("xenj.cpu.pauseLoopExit", 2048));

    /** Statistics: PAUSEs executed, and the yields they caused. */
    long pauses, pauseExits;
    /** PAUSEs since the vCPU last yielded or began a run. */
    int pauseRun;
    /** Set by the PAUSE that reached the window: the executor ends the run with a yield. */
    boolean pauseExit;

    /** PAUSE (F3 90): a spin-wait hint; in an SMP domain it counts towards a pause-loop exit. */
    final void pause() {
        pauses++;
        if (smp && PAUSE_LOOP_EXIT > 0 && ++pauseRun >= PAUSE_LOOP_EXIT) {
            pauseRun = 0;
            pauseExits++;
            pauseExit = true;
            stopBlock = true;
        }
    }
}
