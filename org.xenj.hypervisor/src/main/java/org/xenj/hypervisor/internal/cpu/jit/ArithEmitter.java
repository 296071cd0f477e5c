package org.xenj.hypervisor.internal.cpu.jit;

import static org.objectweb.asm.Opcodes.*;

import org.objectweb.asm.Label;

/**
 * The instructions with long semantics that {@link BlockCompiler} translates itself instead of
 * running them through the interpreter in place ({@code Cpu.execRow}: registers written back, a
 * row decoded again, a dispatch, registers reloaded): one-operand MUL/IMUL and DIV/IDIV of 32 bits,
 * BT/BTS/BTR/BTC with a register or an immediate bit offset (register destinations; BT and the
 * immediate forms also in memory), BSF/BSR, SHLD/SHRD, CMPXCHG and XADD (32-bit, no LOCK: the
 * subset has none), CLC/STC/CMC/CLD/STD, LAHF/SAHF and the 16-bit CBW/CWD.
 *
 * <p>Each calls the interpreter's own final helper for its result and flags ({@code mul32},
 * {@code idiv32}, {@code setCarry}, {@code bitScan}, {@code shiftDouble}, {@code alu}, {@code sahf}...
 * in {@code CpuAlu}, which the interpreter calls too), so the lazy flags come out in the
 * interpreter's representation. Fault order as the interpreter's: the operand is read (and for
 * a read-modify-write checked writable) first, a divide's #DE is thrown by the helper before
 * any register local changes, so the block's fault handler restores the instruction's start.
 *
 * <p>{@code -Dxenj.jit.arith=false} leaves these to the interpreter in place as before (A/B).
 */
abstract class ArithEmitter extends BlockEmitter {

    /** Whether the instructions of {@link #arith} are translated ({@code xenj.jit.arith}, default true). */
    static final boolean ARITH = !"false".equalsIgnoreCase(System.getProperty("xenj.jit.arith", "true").trim());

    private static final int DF = 0x400;
    /** Scratch local beyond the base class's (the accumulator of CMPXCHG). */
    static final int L_ACC = L_NOWB + 1;

    ArithEmitter(BlockSpec spec, boolean shadow) {
        super(spec, shadow);
    }

    /** Whether {@link #emitArith} translates {@code g} (32-bit addressing without LOCK is checked by the caller). */
    static boolean arith(GuestInsn g) {
        int op = g.op();
        boolean o32 = g.o32();
        boolean reg = g.mod() == 3;
        return switch (op) {
            case 0xf5, 0xf8, 0xf9, 0xfc, 0xfd, 0x9e, 0x9f -> true;
            case 0x98, 0x99 -> !o32; // the 32-bit CWDE/CDQ are BlockCompiler's
            case 0xf7 -> o32 && g.reg() >= 4;
            case 0x1a3, 0x1ab, 0x1b3, 0x1bb -> o32 && reg; // in memory the bit offset reaches beyond the operand
            case 0x1ba -> o32 && g.reg() >= 4;
            case 0x1bc, 0x1bd, 0x1a4, 0x1a5, 0x1ac, 0x1ad, 0x1b1, 0x1c1 -> o32;
            default -> false;
        };
    }

    /** Emits {@code g} (one {@link #arith} accepts); returns whether it touched memory. */
    final boolean emitArith(GuestInsn g) {
        int op = g.op();
        int reg = g.reg();
        boolean mem = g.mod() != 3;
        switch (op) {
            case 0xf8, 0xf9 -> {
                loadCpu();
                iconst(op & 1);
                setCarry();
            }
            case 0xf5 -> {
                loadCpu();
                loadCpu();
                mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "cf", "()I", false);
                iconst(1);
                mv.visitInsn(IXOR);
                setCarry();
            }
            case 0xfc, 0xfd -> {
                loadCpu();
                mv.visitInsn(DUP);
                mv.visitFieldInsn(GETFIELD, CPU, "flags", "I");
                if (op == 0xfc) {
                    iconst(~DF);
                    mv.visitInsn(IAND);
                } else {
                    iconst(DF);
                    mv.visitInsn(IOR);
                }
                mv.visitFieldInsn(PUTFIELD, CPU, "flags", "I");
            }
            case 0x9e -> {
                loadCpu();
                getReg(32, EAX);
                mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "sahf", "(I)V", false);
            }
            case 0x9f -> {
                loadCpu();
                getReg(32, EAX);
                mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "lahf", "(I)I", false);
                setReg(32, EAX);
            }
            case 0x98 -> { // CBW: AX = AL sign-extended
                getReg(32, EAX);
                mv.visitInsn(I2B);
                setReg(16, EAX);
            }
            case 0x99 -> { // CWD: DX = the sign of AX
                getReg(32, EAX);
                mv.visitInsn(I2S);
                iconst(15);
                mv.visitInsn(ISHR);
                setReg(16, EDX);
            }
            case 0xf7 -> {
                // the operand first (it may fault), then the helper (#DE before anything changes), then EDX:EAX
                loadCpu();
                if (reg >= 6) {
                    getReg(32, EDX);
                }
                getReg(32, EAX);
                readE(g, 32);
                String name = switch (reg) {
                    case 4 -> "mul32";
                    case 5 -> "imul32";
                    case 6 -> "div32";
                    default -> "idiv32";
                };
                mv.visitMethodInsn(INVOKEVIRTUAL, CPU, name, reg >= 6 ? "(III)J" : "(II)J", false);
                mv.visitInsn(DUP2);
                mv.visitInsn(L2I);
                setReg(32, EAX);
                iconst(32);
                mv.visitInsn(LUSHR);
                mv.visitInsn(L2I);
                setReg(32, EDX);
            }
            case 0x1a3, 0x1ab, 0x1b3, 0x1bb, 0x1ba -> bitOp(g);
            case 0x1bc, 0x1bd -> {
                loadCpu();
                iconst(op == 0x1bd ? 1 : 0);
                readE(g, 32);
                getReg(32, reg);
                mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "bitScan", "(ZII)I", false);
                setReg(32, reg);
            }
            case 0x1a4, 0x1a5, 0x1ac, 0x1ad -> {
                loadCpu();
                iconst(op <= 0x1a5 ? 1 : 0);
                iconst(32);
                readRmw(g, 32);
                getReg(32, reg);
                if ((op & 1) == 0) {
                    iconst(g.imm());
                } else {
                    getReg(32, ECX);
                }
                mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "shiftDouble", "(ZIIII)I", false);
                writeRmw(g, 32);
            }
            case 0x1b1 -> cmpxchg(g);
            case 0x1c1 -> {
                // XADD: the sum to the destination, then the old destination to the source register
                // (when both are the same register the sum stays)
                readRmw(g, 32);
                mv.visitVarInsn(ISTORE, L_T);
                aluCall(0 /* ADD */, 32, () -> mv.visitVarInsn(ILOAD, L_T), () -> getReg(32, reg));
                writeRmw(g, 32);
                if (mem || g.rm() != reg) {
                    mv.visitVarInsn(ILOAD, L_T);
                    setReg(32, reg);
                }
            }
            default -> throw new IllegalStateException("not an arith instruction: " + Integer.toHexString(op));
        }
        return mem;
    }

    /** cpu and CF (0/1) on the stack: CF replaced, the other flags kept ({@code CpuAlu.setCarry}). */
    private void setCarry() {
        mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "setCarry", "(I)V", false);
    }

    /** BT/BTS/BTR/BTC: register destination (bit offset register or immediate), or memory with an immediate. */
    private void bitOp(GuestInsn g) {
        int op = g.op();
        int kind = op == 0x1ba ? g.reg() - 4 : (op >>> 3) & 3; // 0xa3 BT, 0xab BTS, 0xb3 BTR, 0xbb BTC
        // bit index into L_VAL (register offset read before the destination may change)
        if (op == 0x1ba) {
            iconst(g.imm() & 31);
        } else {
            getReg(32, g.reg());
            iconst(31);
            mv.visitInsn(IAND);
        }
        mv.visitVarInsn(ISTORE, L_VAL);
        if (kind == 0) {
            readE(g, 32);
        } else {
            readRmw(g, 32);
        }
        mv.visitVarInsn(ISTORE, L_T);
        loadCpu();
        mv.visitVarInsn(ILOAD, L_T);
        mv.visitVarInsn(ILOAD, L_VAL);
        mv.visitInsn(IUSHR);
        iconst(1);
        mv.visitInsn(IAND);
        setCarry();
        if (kind == 0) {
            return;
        }
        mv.visitVarInsn(ILOAD, L_T);
        iconst(1);
        mv.visitVarInsn(ILOAD, L_VAL);
        mv.visitInsn(ISHL);
        if (kind == 2) {
            iconst(-1);
            mv.visitInsn(IXOR);
            mv.visitInsn(IAND);
        } else {
            mv.visitInsn(kind == 1 ? IOR : IXOR);
        }
        writeRmw(g, 32); // uses L_VAL for a store: the index is no longer needed
    }

    /**
     * CMPXCHG r/m32, r32 (no LOCK): the destination gets the source when it equals EAX, else its own
     * value back (the interpreter writes either way); then the flags of CMP EAX, dest; then EAX gets
     * the destination when they differed.
     */
    private void cmpxchg(GuestInsn g) {
        readRmw(g, 32);
        mv.visitVarInsn(ISTORE, L_T);
        getReg(32, EAX);
        mv.visitVarInsn(ISTORE, L_ACC);
        Label differ = new Label(), store = new Label(), same = new Label();
        mv.visitVarInsn(ILOAD, L_ACC);
        mv.visitVarInsn(ILOAD, L_T);
        mv.visitJumpInsn(IF_ICMPNE, differ);
        getReg(32, g.reg());
        mv.visitJumpInsn(GOTO, store);
        mv.visitLabel(differ);
        mv.visitVarInsn(ILOAD, L_T);
        mv.visitLabel(store);
        writeRmw(g, 32);
        aluCall(OP_CMP, 32, () -> mv.visitVarInsn(ILOAD, L_ACC), () -> mv.visitVarInsn(ILOAD, L_T));
        mv.visitInsn(POP);
        mv.visitVarInsn(ILOAD, L_ACC);
        mv.visitVarInsn(ILOAD, L_T);
        mv.visitJumpInsn(IF_ICMPEQ, same);
        mv.visitVarInsn(ILOAD, L_T);
        setReg(32, EAX);
        mv.visitLabel(same);
    }
}
