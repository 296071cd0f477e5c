package org.xenj.hypervisor.internal.cpu.jit;

import static org.objectweb.asm.Opcodes.*;

import org.objectweb.asm.Label;
import org.objectweb.asm.MethodVisitor;

/**
 * The pieces {@link BlockCompiler} builds each instruction from: register and operand access in
 * the method's locals, effective addresses, linear-address translation through the vCPU's TLB fast
 * path, loads, stores, read-modify-writes, push and pop, and calls of the interpreter's ALU. Kept
 * apart so the instruction-by-instruction translation reads on its own.
 */
abstract class BlockEmitter {

    static final String CPU = "org/xenj/hypervisor/internal/cpu/Cpu";
    static final String FAULT = "org/xenj/hypervisor/internal/cpu/CpuFault";
    static final String GLUE = "org/xenj/hypervisor/internal/cpu/CpuJit";
    static final String BASE = "org/xenj/hypervisor/internal/cpu/jit/CompiledBlock";

    static final int ES = 0, CS = 1, SS = 2, DS = 3;
    static final int EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5;
    static final int OP_CMP = 7, OP_AND = 4;

    // locals of run(Cpu cpu, int max)
    static final int L_CPU = 1, L_MAX = 2, L_REG = 3, L_CUR_EIP = 11, L_DONE = 12, L_LIN = 13, L_VAL = 14,
            L_EXIT_EIP = 15, L_EXIT_N = 16, L_REGS = 17, L_RMW = 18, L_T = 19, L_BASE = 21, L_NOWB = 22;

    final BlockSpec spec;
    /** Shadow variant for lockstep checking: loads and stores go through the glue's buffer. */
    final boolean shadow;
    MethodVisitor mv;
    /** Bit per register the block has changed so far: what an exit writes back. */
    int modified;
    /** Bit per segment the block uses as flat: what its guards check. */
    int guardSegs;
    boolean usesStack;

    /**
     * A self-loop block ({@link BlockSpec#loops}): where a branch back to the block's own start
     * jumps to (after the entry guards and the register loads); null when the block does not loop.
     */
    Label loopHead;
    /** The compiled instruction count: what the entry guard wants left of the slice, again at each loop-back. */
    int blockInsns;

    BlockEmitter(BlockSpec spec, boolean shadow) {
        this.spec = spec;
        this.shadow = shadow;
    }

    /** Ends the block: EIP {@code eip}, {@code count} more instructions done (the registers are written back). */
    abstract void exitTo(int eip, int count);

    /**
     * A direct branch to {@code target} taken after {@code count} instructions of this pass: exits,
     * or, when it is the block's own start and the block loops, goes round again inside the method
     * with the registers kept in locals. Each pass back does what the block's exit and
     * {@code CpuBlocks.chain} re-entering the same block would: counts the pass in {@code
     * sliceDone}; stops (to the dispatcher, EIP at the start) on {@code stopBlock} or
     * {@code blockBreak} (a store into a watched code page, hence also a new validation epoch),
     * when the chain's end {@code chainEnd} is reached, or when less than the whole block is left
     * before {@code max} (the entry guard). Segments, stack size, CS and the slot cannot change
     * inside a block without one of those flags, so the other guards still hold.
     */
    final void branch(int target, int count) {
        if (loopHead == null || target != spec.startEip()) {
            exitTo(target, count);
            return;
        }
        Label leave = new Label();
        loadCpu();
        mv.visitInsn(DUP);
        mv.visitFieldInsn(GETFIELD, CPU, "sliceDone", "I");
        iconst(count);
        mv.visitInsn(IADD);
        mv.visitFieldInsn(PUTFIELD, CPU, "sliceDone", "I");
        cpuField("blockBreak", "Z");
        cpuField("stopBlock", "Z");
        mv.visitInsn(IOR);
        mv.visitJumpInsn(IFNE, leave);
        cpuField("sliceDone", "I");
        cpuField("chainEnd", "I");
        mv.visitJumpInsn(IF_ICMPGE, leave);
        mv.visitVarInsn(ILOAD, L_MAX);
        cpuField("sliceDone", "I");
        mv.visitInsn(ISUB);
        iconst(blockInsns);
        mv.visitJumpInsn(IF_ICMPLT, leave);
        loadCpu();
        mv.visitInsn(DUP);
        mv.visitFieldInsn(GETFIELD, CPU, "loopIterations", "J");
        mv.visitInsn(LCONST_1);
        mv.visitInsn(LADD);
        mv.visitFieldInsn(PUTFIELD, CPU, "loopIterations", "J");
        mv.visitJumpInsn(GOTO, loopHead);
        mv.visitLabel(leave);
        exitTo(target, 0); // this pass is counted already
    }

    /** Whether {@code insns[0..n)} hold a direct branch back to the block's start (a self-loop). */
    static boolean selfLoop(BlockSpec spec, GuestInsn[] insns, int n) {
        int eip = spec.startEip();
        for (int i = 0; i < n; i++) {
            GuestInsn g = insns[i];
            int next = eip + g.length();
            int op = g.op();
            int target;
            if (op >= 0x70 && op <= 0x7f || op == 0xeb) {
                target = next + (byte) g.imm();
            } else if (op >= 0x180 && op <= 0x18f || op == 0xe9) {
                target = next + g.imm();
            } else {
                eip = next;
                continue;
            }
            if (target == spec.startEip()) {
                return true;
            }
            eip = next;
        }
        return false;
    }

    final void aluCall(int kind, int bits, Runnable a, Runnable b) {
        loadCpu();
        iconst(kind);
        iconst(bits);
        a.run();
        b.run();
        mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "alu", "(IIII)I", false);
    }

    final void cond(int cc) {
        loadCpu();
        iconst(cc);
        mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "cond", "(I)Z", false);
    }

    // ------------------------------------------------------------------ operands

    final void getReg(int bits, int idx) {
        if (bits == 32) {
            mv.visitVarInsn(ILOAD, L_REG + idx);
        } else if (bits == 16) {
            mv.visitVarInsn(ILOAD, L_REG + idx);
            iconst(0xffff);
            mv.visitInsn(IAND);
        } else if (idx < 4) {
            mv.visitVarInsn(ILOAD, L_REG + idx);
            iconst(0xff);
            mv.visitInsn(IAND);
        } else {
            mv.visitVarInsn(ILOAD, L_REG + idx - 4);
            iconst(8);
            mv.visitInsn(IUSHR);
            iconst(0xff);
            mv.visitInsn(IAND);
        }
    }

    /** Stores the value on the stack into a register of width {@code bits}. */
    final void setReg(int bits, int idx) {
        if (bits == 32) {
            mv.visitVarInsn(ISTORE, L_REG + idx);
            modified |= 1 << idx;
            return;
        }
        int r = bits == 8 && idx >= 4 ? idx - 4 : idx;
        int keep = bits == 16 ? 0xffff0000 : idx < 4 ? ~0xff : ~0xff00;
        if (bits == 8 && idx >= 4) {
            iconst(0xff);
            mv.visitInsn(IAND);
            iconst(8);
            mv.visitInsn(ISHL);
        } else {
            iconst(bits == 16 ? 0xffff : 0xff);
            mv.visitInsn(IAND);
        }
        mv.visitVarInsn(ILOAD, L_REG + r);
        iconst(keep);
        mv.visitInsn(IAND);
        mv.visitInsn(IOR);
        mv.visitVarInsn(ISTORE, L_REG + r);
        modified |= 1 << r;
    }

    /** Pushes the effective-address offset (32-bit addressing). */
    final void ea(GuestInsn g) {
        iconst(g.eaDisp());
        if (g.eaBase() >= 0) {
            mv.visitVarInsn(ILOAD, L_REG + g.eaBase());
            mv.visitInsn(IADD);
        }
        if (g.eaIndex() >= 0) {
            mv.visitVarInsn(ILOAD, L_REG + g.eaIndex());
            if (g.eaScale() != 0) {
                iconst(g.eaScale());
                mv.visitInsn(ISHL);
            }
            mv.visitInsn(IADD);
        }
    }

    /** Offset on the stack to the linear address of a read (flat and guarded: the offset itself). */
    final void linR(int seg, int size) {
        lin(seg, size, "linR");
    }

    final void linW(int seg, int size) {
        lin(seg, size, "linW");
    }

    final void lin(int seg, int size, String method) {
        if ((guardSegs & (1 << seg)) != 0) {
            return;
        }
        mv.visitVarInsn(ISTORE, L_LIN);
        loadCpu();
        iconst(seg);
        mv.visitVarInsn(ILOAD, L_LIN);
        iconst(size);
        mv.visitMethodInsn(INVOKEVIRTUAL, CPU, method, "(III)I", false);
    }

    /** Linear address on the stack to the value read there. */
    final void readLin(int bits) {
        mv.visitVarInsn(ISTORE, L_LIN);
        memReceiver();
        mv.visitVarInsn(ILOAD, L_LIN);
        mv.visitMethodInsn(INVOKEVIRTUAL, shadow ? GLUE : CPU, (shadow ? "shadowRead" : spec.ordered() ? "readOrdered" : "read") + bits, "(I)I", false);
    }

    /** Linear address on the stack; writes {@link #L_VAL} there. */
    final void writeLinVal(int bits) {
        mv.visitVarInsn(ISTORE, L_LIN);
        memReceiver();
        mv.visitVarInsn(ILOAD, L_LIN);
        mv.visitVarInsn(ILOAD, L_VAL);
        mv.visitMethodInsn(INVOKEVIRTUAL, shadow ? GLUE : CPU, (shadow ? "shadowWrite" : spec.ordered() ? "writeOrdered" : "write") + bits, "(II)V", false);
    }

    final void memReceiver() {
        loadCpu();
        if (shadow) {
            mv.visitFieldInsn(GETFIELD, CPU, "jit", "L" + GLUE + ";");
        }
    }

    final void readE(GuestInsn g, int bits) {
        if (g.mod() == 3) {
            getReg(bits, g.rm());
            return;
        }
        ea(g);
        linR(g.eaSeg(), bits / 8);
        readLin(bits);
    }

    /** Writes {@link #L_VAL} to the r/m operand; returns whether that was memory. */
    final boolean writeE(GuestInsn g, int bits) {
        if (g.mod() == 3) {
            mv.visitVarInsn(ILOAD, L_VAL);
            setReg(bits, g.rm());
            return false;
        }
        ea(g);
        linW(g.eaSeg(), bits / 8);
        writeLinVal(bits);
        return true;
    }

    /** The r/m operand of a read-modify-write: the write permission is checked before the read. */
    final void readRmw(GuestInsn g, int bits) {
        if (g.mod() == 3) {
            getReg(bits, g.rm());
            return;
        }
        ea(g);
        linW(g.eaSeg(), bits / 8);
        mv.visitVarInsn(ISTORE, L_RMW);
        loadCpu();
        mv.visitVarInsn(ILOAD, L_RMW);
        iconst(bits / 8);
        mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "checkWritable", "(II)V", false);
        mv.visitVarInsn(ILOAD, L_RMW);
        readLin(bits);
    }

    final void writeRmw(GuestInsn g, int bits) {
        if (g.mod() == 3) {
            setReg(bits, g.rm());
            return;
        }
        mv.visitVarInsn(ISTORE, L_VAL);
        mv.visitVarInsn(ILOAD, L_RMW);
        writeLinVal(bits);
    }

    /** PUSH of the value on the stack (32-bit stack, guarded): the store first, then ESP. */
    final void push() {
        mv.visitVarInsn(ISTORE, L_VAL);
        mv.visitVarInsn(ILOAD, L_REG + ESP);
        iconst(4);
        mv.visitInsn(ISUB);
        linW(SS, 4);
        writeLinVal(32);
        mv.visitIincInsn(L_REG + ESP, -4);
        modified |= 1 << ESP;
    }

    /** POP to the stack: the load first, then ESP. */
    final void pop() {
        mv.visitVarInsn(ILOAD, L_REG + ESP);
        linR(SS, 4);
        readLin(32);
        mv.visitIincInsn(L_REG + ESP, 4);
        modified |= 1 << ESP;
    }

    /** Pushes the guest EIP {@code eip} (given for the block's start EIP) relative to the entry EIP. */
    final void eipConst(int eip) {
        mv.visitVarInsn(ILOAD, L_BASE);
        iconst(eip - spec.startEip());
        mv.visitInsn(IADD);
    }

    final void loadCpu() {
        mv.visitVarInsn(ALOAD, L_CPU);
    }

    final void cpuField(String name, String desc) {
        loadCpu();
        mv.visitFieldInsn(GETFIELD, CPU, name, desc);
    }

    /** The eight guest registers from the CPU's array (in L_REGS) into their locals: at entry and after an in-place instruction. */
    final void loadRegisters() {
        for (int r = 0; r < 8; r++) {
            mv.visitVarInsn(ALOAD, L_REGS);
            iconst(r);
            mv.visitInsn(IALOAD);
            mv.visitVarInsn(ISTORE, L_REG + r);
        }
    }

    final void iconst(int v) {
        if (v >= -1 && v <= 5) {
            mv.visitInsn(ICONST_0 + v);
        } else if (v >= Byte.MIN_VALUE && v <= Byte.MAX_VALUE) {
            mv.visitIntInsn(BIPUSH, v);
        } else if (v >= Short.MIN_VALUE && v <= Short.MAX_VALUE) {
            mv.visitIntInsn(SIPUSH, v);
        } else {
            mv.visitLdcInsn(v);
        }
    }
}
