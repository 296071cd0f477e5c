package org.xenj.hypervisor.internal.cpu.jit;

import static org.objectweb.asm.Opcodes.*;

import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.Label;
import org.objectweb.asm.MethodVisitor;

/**
 * Translates one decoded guest block into the bytes of a class extending {@link CompiledBlock}.
 * The class is meant to be defined as a hidden class in the CPU's package (it reads the vCPU's
 * package-private fields and calls the interpreter's own helpers: {@code alu}, {@code inc},
 * {@code shift}, {@code cond}, the TLB fast path {@code read32}/{@code write32}...), so each
 * instruction has exactly the interpreter's semantics, lazy flags included, without the decode,
 * the row unpacking and the dispatch switch.
 *
 * <p>Shape of {@code run(cpu, max)}: guards; the eight registers into locals; one straight-line
 * piece of code per instruction; exits (a taken branch, the block's end, a store that set
 * {@code blockBreak}/{@code stopBlock}) write the changed registers back, set EIP and count the
 * instructions in {@code sliceDone}. A guest fault ({@code CpuFault}) is caught once for the
 * whole method: the handler writes the registers back as they were when the faulting
 * instruction started to change them (each instruction changes registers only after its last
 * possible fault, in the interpreter's order), sets {@code startEip} and {@code sliceDone} and
 * rethrows, so the slice loop delivers the exception exactly as after interpretation.
 *
 * <p>The subset: 32-bit operand and address size, no LOCK; anything else ends the translation
 * before it and the interpreter continues from there. The operand and memory-access pieces every
 * instruction is built from are in {@link BlockEmitter}.
 */
public final class BlockCompiler extends ArithEmitter {

    /** Name of the generated classes (defined as hidden classes, which get a unique suffix). */
    public static final String CLASS_NAME = "org/xenj/hypervisor/internal/cpu/JitBlock";
    /**
     * The class name of blocks translated for a domain with several vCPUs ({@link BlockSpec#ordered}):
     * another name so that a compiler directive can leave these, and only these, to C1 ({@link HotSpotTier}).
     */
    public static final String SMP_CLASS_NAME = "org/xenj/hypervisor/internal/cpu/JitBlockSmp";


    /**
     * The result: the class bytes, how many of the block's instructions it covers (0: none, no
     * class) and what its guards require: a bit per segment it uses as flat, and
     * {@link CodeCache#GUARD_STACK32} if it needs a 32-bit stack (the specialisation key).
     */
    public record Result(byte[] classBytes, int instructions, int guards) {
    }

    private Label exit;

    private BlockCompiler(BlockSpec spec, boolean shadow) {
        super(spec, shadow);
        inline = !shadow && spec.inPlace();
    }

    /** Whether instructions the translator does not handle may run through the interpreter in place. */
    private final boolean inline;

    public static Result compile(BlockSpec spec, boolean shadow) {
        boolean inline = !shadow && spec.inPlace();
        int n = compilable(spec.insns(), inline);
        if (n == 0) {
            return new Result(null, 0, 0);
        }
        return new BlockCompiler(spec, shadow).generate(n);
    }

    /**
     * How many of {@code insns}, from the first, the translator compiles (up to a control transfer
     * or one it does not handle); with {@code inline}, the ones it leaves to the interpreter in
     * place ({@link #interpretable}) count as compiled.
     */
    public static int compilable(GuestInsn[] insns, boolean inline) {
        int n = 0;
        while (n < insns.length && runnable(insns[n], inline)) {
            n++;
            if (endsBlock(insns[n - 1])) {
                break;
            }
        }
        return n;
    }

    // ------------------------------------------------------------------ the subset

    /** Whether compiled code can run {@code g}: translated, or (with {@code inline}) through the interpreter in place. */
    public static boolean runnable(GuestInsn g, boolean inline) {
        return supported(g) || inline && interpretable(g);
    }

    /**
     * Instructions compiled code hands to the interpreter in place ({@code Cpu.execRow}) instead of
     * ending the block before them: ones that never transfer control or change the mode, segments
     * or paging, and whose own semantics are long (x87, string moves and compares with their REP
     * loops, bit tests and scans, double shifts, multiply/divide, CMPXCHG/XADD, XCHG with memory,
     * flag operations). Before, each ended its block, so a loop of x87 code (busybox awk's
     * arithmetic) went back to the dispatcher once per few instructions. Not for the lockstep's
     * shadow run (its stores go through a buffer the interpreter does not know) nor for several
     * vCPUs (the interpreter's ordered loop adds an ordering point per instruction).
     */
    public static boolean interpretable(GuestInsn g) {
        int op = g.op();
        if (op >= 0xd8 && op <= 0xdf) {
            return true;
        }
        return switch (op) {
            case 0x9b, 0xa4, 0xa5, 0xa6, 0xa7, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xf5, 0xf8, 0xf9, 0xfc, 0xfd, 0x9e, 0x9f, 0x98, 0x99,
                 0x86, 0x87, 0x1a3, 0x1a4, 0x1a5, 0x1ab, 0x1ac, 0x1ad, 0x1b0, 0x1b1, 0x1b3, 0x1ba, 0x1bb, 0x1bc, 0x1bd, 0x1c0, 0x1c1 -> true;
            case 0xf6, 0xf7 -> g.reg() >= 4;
            default -> false;
        };
    }

    /** Whether the translator handles {@code g} (everything else ends the translation before it). */
    public static boolean supported(GuestInsn g) {
        if (!g.a32() || g.lock()) {
            return false;
        }
        if (ARITH && arith(g)) {
            return true; // multiply/divide, bit tests and scans, double shifts...: ArithEmitter
        }
        int op = g.op();
        int reg = g.reg();
        boolean mem = g.mod() != 3;
        if (!g.o32() && !word(op, reg)) {
            return false;
        }
        if (op == 0x90 && g.rep() == 0xf3) {
            return false; // PAUSE: the interpreter counts it towards a pause-loop exit (CpuExec.pause)
        }
        if ((op == 0x86 || op == 0x87) && mem) {
            return false; // XCHG with memory is locked: the interpreter makes it atomic (CpuMmu.lockedRead)
        }
        if (op < 0x40) {
            return (op & 7) <= 5;
        }
        if (op >= 0x40 && op <= 0x5f) {
            return true; // INC/DEC/PUSH/POP reg
        }
        if (op >= 0x70 && op <= 0x7f || op >= 0x180 && op <= 0x18f || op >= 0x190 && op <= 0x19f || op >= 0x140 && op <= 0x14f) {
            return true;
        }
        if (op >= 0x90 && op <= 0x99 || op >= 0xa0 && op <= 0xa3 || op >= 0xb0 && op <= 0xbf || op >= 0x1c8 && op <= 0x1cf) {
            return true;
        }
        return switch (op) {
            case 0x68, 0x69, 0x6a, 0x6b, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0xa8, 0xa9,
                 0xc0, 0xc1, 0xc2, 0xc3, 0xc6, 0xc7, 0xc9, 0xd0, 0xd1, 0xd2, 0xd3, 0xe8, 0xe9, 0xeb,
                 0x1af, 0x1b6, 0x1b7, 0x1be, 0x1bf, 0x11f -> true;
            case 0x8d -> mem;
            case 0xf6, 0xf7 -> reg <= 3;
            case 0xfe -> reg <= 1;
            case 0xff -> reg <= 2 || reg == 4 || reg == 6;
            default -> false;
        };
    }

    /**
     * The instructions translated with a 16-bit operand size too (an 0x66 prefix in 32-bit code:
     * the kernel's 16-bit stores, shifts and compares): moves, ALU, INC/DEC, shifts, TEST/NOT/NEG,
     * where the operand size is only the width of registers and memory. Not the stack's (PUSH/POP
     * and calls would move ESP by 2), string or multiply/divide forms.
     */
    private static boolean word(int op, int reg) {
        if (op < 0x40) {
            int form = op & 7;
            return form == 1 || form == 3 || form == 5;
        }
        if (op <= 0x4f) {
            return true;
        }
        return switch (op) {
            case 0x81, 0x83, 0x85, 0x89, 0x8b, 0x90, 0xa9, 0xc1, 0xc7, 0xd1, 0xd3 -> true;
            case 0xf7 -> reg <= 3;
            case 0xff -> reg <= 1;
            default -> false;
        };
    }

    /** Operand width of an instruction whose size follows the operand-size attribute. */
    private static int wide(GuestInsn g) {
        return g.o32() ? 32 : 16;
    }

    /** Control transfers: the translation ends after them (a conditional one exits when taken). */
    public static boolean endsBlock(GuestInsn g) {
        int op = g.op();
        return op == 0xc2 || op == 0xc3 || op == 0xe8 || op == 0xe9 || op == 0xeb || op == 0xff && (g.reg() == 2 || g.reg() == 4);
    }

    // ------------------------------------------------------------------ generation

    private Result generate(int n) {
        ClassWriter cw = new ClassWriter(ClassWriter.COMPUTE_FRAMES | ClassWriter.COMPUTE_MAXS) {
            @Override
            protected String getCommonSuperClass(String a, String b) {
                return "java/lang/Object"; // only ever merges our own locals: no class loading here
            }
        };
        cw.visit(V17, ACC_FINAL | ACC_SUPER, spec.ordered() ? SMP_CLASS_NAME : CLASS_NAME, null, BASE, null);
        MethodVisitor init = cw.visitMethod(0, "<init>", "()V", null, null);
        init.visitCode();
        init.visitVarInsn(ALOAD, 0);
        init.visitMethodInsn(INVOKESPECIAL, BASE, "<init>", "()V", false);
        init.visitInsn(RETURN);
        init.visitMaxs(0, 0);
        init.visitEnd();

        mv = cw.visitMethod(ACC_PUBLIC, "run", "(L" + CPU + ";I)Z", null, null);
        mv.visitCode();
        GuestInsn[] insns = spec.insns();
        for (int i = 0; i < n; i++) {
            scan(insns[i]);
        }
        Label fail = new Label();
        // guards: enough of the slice left, segments still flat, stack still 32-bit
        mv.visitVarInsn(ILOAD, L_MAX);
        cpuField("sliceDone", "I");
        mv.visitInsn(ISUB);
        iconst(n);
        mv.visitJumpInsn(IF_ICMPLT, fail);
        if (guardSegs != 0) {
            cpuField("flatRead", "I");
            cpuField("flatWrite", "I");
            mv.visitInsn(IAND);
            iconst(guardSegs);
            mv.visitInsn(IAND);
            iconst(guardSegs);
            mv.visitJumpInsn(IF_ICMPNE, fail);
        }
        if (usesStack) {
            cpuField("segAttr", "[I");
            iconst(SS);
            mv.visitInsn(IALOAD);
            iconst(0x4000);
            mv.visitInsn(IAND);
            mv.visitJumpInsn(IFEQ, fail);
        }
        cpuField("regs", "[I");
        mv.visitVarInsn(ASTORE, L_REGS);
        // EIPs are relative to the entry EIP: the same physical code may run at other linear addresses
        cpuField("eip", "I");
        mv.visitVarInsn(ISTORE, L_BASE);
        loadRegisters();
        for (int l : new int[] {L_CUR_EIP, L_DONE, L_LIN, L_VAL, L_EXIT_EIP, L_EXIT_N, L_RMW, L_T, L_NOWB}) {
            iconst(0);
            mv.visitVarInsn(ISTORE, l);
        }
        exit = new Label();
        blockInsns = n;
        if (spec.loops() && selfLoop(spec, insns, n)) {
            loopHead = new Label();
            modified = 0xff; // an exit in a later pass writes back what an earlier pass changed further on
        }
        Label start = new Label(), end = new Label(), handler = new Label();
        mv.visitTryCatchBlock(start, end, handler, FAULT);
        mv.visitLabel(start);
        if (loopHead != null) {
            mv.visitLabel(loopHead);
        }
        emitBlock(insns, n);
        mv.visitLabel(end);

        // the common exit: registers back, EIP, instruction count
        mv.visitLabel(exit);
        writeBack();
        loadCpu();
        mv.visitVarInsn(ILOAD, L_EXIT_EIP);
        mv.visitFieldInsn(PUTFIELD, CPU, "eip", "I");
        loadCpu();
        cpuField("sliceDone", "I");
        mv.visitVarInsn(ILOAD, L_EXIT_N);
        mv.visitInsn(IADD);
        mv.visitFieldInsn(PUTFIELD, CPU, "sliceDone", "I");
        iconst(1);
        mv.visitInsn(IRETURN);

        // a guest fault: state as at the start of the faulting instruction, then on to the slice loop
        mv.visitLabel(handler);
        mv.visitVarInsn(ASTORE, L_T + 1);
        Label interpreted = new Label();
        mv.visitVarInsn(ILOAD, L_NOWB);
        mv.visitJumpInsn(IFNE, interpreted);
        writeBack();
        mv.visitLabel(interpreted);
        loadCpu();
        mv.visitVarInsn(ILOAD, L_CUR_EIP);
        mv.visitFieldInsn(PUTFIELD, CPU, "startEip", "I");
        loadCpu();
        cpuField("sliceDone", "I");
        mv.visitVarInsn(ILOAD, L_DONE);
        mv.visitInsn(IADD);
        mv.visitFieldInsn(PUTFIELD, CPU, "sliceDone", "I");
        mv.visitVarInsn(ALOAD, L_T + 1);
        mv.visitInsn(ATHROW);

        mv.visitLabel(fail);
        iconst(0);
        mv.visitInsn(IRETURN);
        mv.visitMaxs(0, 0);
        mv.visitEnd();
        cw.visitEnd();
        return new Result(cw.toByteArray(), n, guardSegs | (usesStack ? CodeCache.GUARD_STACK32 : 0));
    }

    /** The block's first {@code n} instructions; every way out ends in a jump to the exit. */
    private void emitBlock(GuestInsn[] insns, int n) {
        int eip = spec.startEip();
        for (int i = 0; i < n; i++) {
            GuestInsn g = insns[i];
            eipConst(eip);
            mv.visitVarInsn(ISTORE, L_CUR_EIP);
            iconst(i);
            mv.visitVarInsn(ISTORE, L_DONE);
            int next = eip + g.length();
            boolean memory = false;
            if (!supported(g)) {
                interpretInPlace(g, next, i + 1);
            } else {
                memory = emit(g, next, i + 1);
                if (endsBlock(g)) {
                    return; // emit() jumped to the exit
                }
            }
            if (memory) {
                // a store into the running code page, or a device that wants the executor: end here
                Label go = new Label();
                cpuField("blockBreak", "Z");
                cpuField("stopBlock", "Z");
                mv.visitInsn(IOR);
                mv.visitJumpInsn(IFEQ, go);
                exitTo(next, i + 1);
                mv.visitLabel(go);
            }
            if (i == n - 1) {
                exitTo(next, n);
            }
            eip = next;
        }
    }

    /**
     * {@code g}, at the EIP in {@code L_CUR_EIP}, run by the interpreter ({@code Cpu.execRow}):
     * the registers changed so far back first, all of them reloaded after. If it faults, the registers it may have changed (a REP string's counts) stand: the
     * handler does not write the locals over them ({@code L_NOWB}). If it did not go on to
     * {@code next} (a REP loop that stopped for the executor) or a store or device asked to stop,
     * the block ends there, as the interpreter's replay would.
     */
    private void interpretInPlace(GuestInsn g, int next, int count) {
        writeBack();
        loadCpu();
        mv.visitVarInsn(ILOAD, L_CUR_EIP);
        mv.visitFieldInsn(PUTFIELD, CPU, "eip", "I");
        iconst(1);
        mv.visitVarInsn(ISTORE, L_NOWB);
        loadCpu();
        for (int w : g.row()) {
            iconst(w);
        }
        mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "execRow", "(IIIII)V", false);
        iconst(0);
        mv.visitVarInsn(ISTORE, L_NOWB);
        loadRegisters();
        Label out = new Label(), go = new Label();
        cpuField("eip", "I");
        eipConst(next);
        mv.visitJumpInsn(IF_ICMPNE, out);
        cpuField("blockBreak", "Z");
        cpuField("stopBlock", "Z");
        mv.visitInsn(IOR);
        mv.visitJumpInsn(IFEQ, go);
        mv.visitLabel(out);
        cpuField("eip", "I");
        exitToStack(count);
        mv.visitLabel(go);
    }

    /** Collects what the guards must check: flat segments used for memory, the stack. */
    private void scan(GuestInsn g) {
        int op = g.op();
        boolean stack = op >= 0x50 && op <= 0x5f || op == 0x68 || op == 0x6a || op == 0xc2 || op == 0xc3 || op == 0xc9 || op == 0xe8
                || op == 0xff && (g.reg() == 2 || g.reg() == 6);
        if (stack) {
            usesStack = true;
            useSeg(SS);
        }
        if (g.hasEa() && g.mod() != 3 && op != 0x8d && op != 0x11f) {
            useSeg(g.eaSeg());
        }
        if (op >= 0xa0 && op <= 0xa3) {
            useSeg(g.prefixSeg() >= 0 ? g.prefixSeg() : DS);
        }
    }

    private void useSeg(int seg) {
        if ((spec.flatSegments() & (1 << seg)) != 0) {
            guardSegs |= 1 << seg;
        }
    }

    private void writeBack() {
        for (int r = 0; r < 8; r++) {
            if ((modified & (1 << r)) != 0) {
                mv.visitVarInsn(ALOAD, L_REGS);
                iconst(r);
                mv.visitVarInsn(ILOAD, L_REG + r);
                mv.visitInsn(IASTORE);
            }
        }
    }

    @Override
    void exitTo(int eip, int count) {
        eipConst(eip);
        mv.visitVarInsn(ISTORE, L_EXIT_EIP);
        iconst(count);
        mv.visitVarInsn(ISTORE, L_EXIT_N);
        mv.visitJumpInsn(GOTO, exit);
    }

    /** Exit to the EIP on the stack. */
    private void exitToStack(int count) {
        mv.visitVarInsn(ISTORE, L_EXIT_EIP);
        iconst(count);
        mv.visitVarInsn(ISTORE, L_EXIT_N);
        mv.visitJumpInsn(GOTO, exit);
    }

    /**
     * Emits one instruction; returns whether it touches memory (then the caller checks the stop
     * flags after it). Control transfers end with a jump to the exit.
     */
    private boolean emit(GuestInsn g, int next, int count) {
        int op = g.op();
        int reg = g.reg();
        boolean mem = g.mod() != 3;
        if (ARITH && arith(g)) {
            return emitArith(g);
        }
        if (op < 0x40) {
            return aluForm(g, op);
        }
        if (op <= 0x4f) {
            int bits = wide(g);
            loadCpu();
            iconst(bits);
            getReg(bits, op & 7);
            mv.visitMethodInsn(INVOKEVIRTUAL, CPU, op <= 0x47 ? "inc" : "dec", "(II)I", false);
            setReg(bits, op & 7);
            return false;
        }
        if (op <= 0x57) {
            getReg(32, op & 7);
            push();
            return true;
        }
        if (op <= 0x5f) {
            pop();
            setReg(32, op & 7);
            return true;
        }
        if (op >= 0x70 && op <= 0x7f || op >= 0x180 && op <= 0x18f) {
            int rel = op < 0x100 ? (byte) g.imm() : g.imm();
            Label notTaken = new Label();
            cond(op & 15);
            mv.visitJumpInsn(IFEQ, notTaken);
            branch(next + rel, count);
            mv.visitLabel(notTaken);
            return false;
        }
        if (op >= 0x190 && op <= 0x19f) { // SETcc
            cond(op & 15);
            mv.visitVarInsn(ISTORE, L_VAL);
            return writeE(g, 8);
        }
        if (op >= 0x140 && op <= 0x14f) { // CMOVcc: the source is read even when the condition is false
            readE(g, 32);
            mv.visitVarInsn(ISTORE, L_T);
            Label skip = new Label();
            cond(op & 15);
            mv.visitJumpInsn(IFEQ, skip);
            mv.visitVarInsn(ILOAD, L_T);
            setReg(32, reg);
            mv.visitLabel(skip);
            return mem;
        }
        if (op >= 0x91 && op <= 0x97) {
            getReg(32, EAX);
            mv.visitVarInsn(ISTORE, L_T);
            getReg(32, op & 7);
            setReg(32, EAX);
            mv.visitVarInsn(ILOAD, L_T);
            setReg(32, op & 7);
            return false;
        }
        if (op >= 0xa0 && op <= 0xa3) {
            int seg = g.prefixSeg() >= 0 ? g.prefixSeg() : DS;
            int bits = (op & 1) == 0 ? 8 : 32;
            if (op <= 0xa1) {
                iconst(g.imm());
                linR(seg, bits / 8);
                readLin(bits);
                setReg(bits, EAX);
            } else {
                mv.visitVarInsn(ILOAD, L_REG + EAX);
                mv.visitVarInsn(ISTORE, L_VAL);
                iconst(g.imm());
                linW(seg, bits / 8);
                writeLinVal(bits);
            }
            return true;
        }
        if (op >= 0xb0 && op <= 0xb7) {
            iconst(g.imm());
            setReg(8, op & 7);
            return false;
        }
        if (op >= 0xb8 && op <= 0xbf) {
            iconst(g.imm());
            setReg(32, op & 7);
            return false;
        }
        if (op >= 0x1c8 && op <= 0x1cf) {
            getReg(32, op & 7);
            mv.visitMethodInsn(INVOKESTATIC, "java/lang/Integer", "reverseBytes", "(I)I", false);
            setReg(32, op & 7);
            return false;
        }
        switch (op) {
            case 0x68, 0x6a -> {
                iconst(op == 0x68 ? g.imm() : (byte) g.imm());
                push();
                return true;
            }
            case 0x69, 0x6b -> {
                loadCpu();
                iconst(32);
                readE(g, 32);
                iconst(op == 0x69 ? g.imm() : (byte) g.imm());
                mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "imul2", "(III)I", false);
                setReg(32, reg);
                return mem;
            }
            case 0x1af -> {
                loadCpu();
                iconst(32);
                getReg(32, reg);
                readE(g, 32);
                mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "imul2", "(III)I", false);
                setReg(32, reg);
                return mem;
            }
            case 0x80, 0x81, 0x82, 0x83 -> {
                int bits = op == 0x81 || op == 0x83 ? wide(g) : 8;
                int src = op == 0x83 ? (byte) g.imm() : g.imm();
                if (reg == OP_CMP) {
                    aluCall(OP_CMP, bits, () -> readE(g, bits), () -> iconst(src));
                    mv.visitInsn(POP);
                } else {
                    aluCall(reg, bits, () -> readRmw(g, bits), () -> iconst(src));
                    writeRmw(g, bits);
                }
                return mem;
            }
            case 0x84, 0x85 -> {
                int bits = op == 0x84 ? 8 : wide(g);
                aluCall(OP_AND, bits, () -> readE(g, bits), () -> getReg(bits, reg));
                mv.visitInsn(POP);
                return mem;
            }
            case 0x86, 0x87 -> {
                int bits = op == 0x86 ? 8 : 32;
                readRmw(g, bits);
                mv.visitVarInsn(ISTORE, L_T);
                getReg(bits, reg);
                writeRmw(g, bits);
                mv.visitVarInsn(ILOAD, L_T);
                setReg(bits, reg);
                return mem;
            }
            case 0x88, 0x89 -> {
                int bits = op == 0x88 ? 8 : wide(g);
                getReg(bits, reg);
                mv.visitVarInsn(ISTORE, L_VAL);
                return writeE(g, bits);
            }
            case 0x8a, 0x8b -> {
                int bits = op == 0x8a ? 8 : wide(g);
                readE(g, bits);
                setReg(bits, reg);
                return mem;
            }
            case 0x8d -> {
                ea(g);
                setReg(32, reg);
                return false;
            }
            case 0x90, 0x11f -> {
                return false;
            }
            case 0x98 -> {
                getReg(32, EAX);
                mv.visitInsn(I2S);
                setReg(32, EAX);
                return false;
            }
            case 0x99 -> {
                getReg(32, EAX);
                iconst(31);
                mv.visitInsn(ISHR);
                setReg(32, EDX);
                return false;
            }
            case 0xa8, 0xa9 -> {
                int bits = op == 0xa8 ? 8 : wide(g);
                aluCall(OP_AND, bits, () -> getReg(bits, EAX), () -> iconst(g.imm()));
                mv.visitInsn(POP);
                return false;
            }
            case 0xc0, 0xc1, 0xd0, 0xd1, 0xd2, 0xd3 -> {
                int bits = (op & 1) == 0 ? 8 : wide(g);
                loadCpu();
                iconst(reg);
                iconst(bits);
                readRmw(g, bits);
                if (op <= 0xc1) {
                    iconst(g.imm());
                } else if (op <= 0xd1) {
                    iconst(1);
                } else {
                    getReg(32, ECX);
                }
                mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "shift", "(IIII)I", false);
                writeRmw(g, bits);
                return mem;
            }
            case 0xc2, 0xc3 -> {
                pop();
                mv.visitVarInsn(ISTORE, L_T);
                if (op == 0xc2) {
                    // RET imm16: an unsigned 16-bit count; IINC's increment is a signed short (0xC883 would subtract)
                    mv.visitVarInsn(ILOAD, L_REG + ESP);
                    iconst(g.imm() & 0xffff);
                    mv.visitInsn(IADD);
                    mv.visitVarInsn(ISTORE, L_REG + ESP);
                    modified |= 1 << ESP;
                }
                mv.visitVarInsn(ILOAD, L_T);
                exitToStack(count);
                return true;
            }
            case 0xc6, 0xc7 -> {
                iconst(g.imm());
                mv.visitVarInsn(ISTORE, L_VAL);
                return writeE(g, op == 0xc6 ? 8 : wide(g));
            }
            case 0xc9 -> { // LEAVE: ESP = EBP, then EBP = pop
                mv.visitVarInsn(ILOAD, L_REG + EBP);
                mv.visitVarInsn(ISTORE, L_T);
                mv.visitVarInsn(ILOAD, L_T);
                linR(SS, 4);
                readLin(32);
                mv.visitVarInsn(ILOAD, L_T);
                iconst(4);
                mv.visitInsn(IADD);
                setReg(32, ESP);
                setReg(32, EBP);
                return true;
            }
            case 0xe8 -> {
                eipConst(next);
                push();
                eipConst(next + g.imm());
                exitToStack(count);
                return true;
            }
            case 0xe9, 0xeb -> {
                branch(next + (op == 0xeb ? (byte) g.imm() : g.imm()), count);
                return false;
            }
            case 0x1b6, 0x1b7, 0x1be, 0x1bf -> {
                int bits = (op & 1) == 0 ? 8 : 16;
                readE(g, bits);
                if (op == 0x1be) {
                    mv.visitInsn(I2B);
                } else if (op == 0x1bf) {
                    mv.visitInsn(I2S);
                }
                setReg(32, reg);
                return mem;
            }
            case 0xf6, 0xf7 -> {
                int bits = op == 0xf6 ? 8 : wide(g);
                if (reg <= 1) {
                    aluCall(OP_AND, bits, () -> readE(g, bits), () -> iconst(g.imm()));
                    mv.visitInsn(POP);
                } else if (reg == 2) {
                    readRmw(g, bits);
                    iconst(-1);
                    mv.visitInsn(IXOR);
                    writeRmw(g, bits);
                } else {
                    loadCpu();
                    iconst(bits);
                    readRmw(g, bits);
                    mv.visitMethodInsn(INVOKEVIRTUAL, CPU, "neg", "(II)I", false);
                    writeRmw(g, bits);
                }
                return mem;
            }
            case 0xfe, 0xff -> {
                int bits = op == 0xfe ? 8 : reg <= 1 ? wide(g) : 32;
                if (reg <= 1) {
                    loadCpu();
                    iconst(bits);
                    readRmw(g, bits);
                    mv.visitMethodInsn(INVOKEVIRTUAL, CPU, reg == 0 ? "inc" : "dec", "(II)I", false);
                    writeRmw(g, bits);
                    return mem;
                }
                readE(g, 32);
                if (reg == 6) {
                    push();
                    return true;
                }
                if (reg == 2) {
                    mv.visitVarInsn(ISTORE, L_T);
                    eipConst(next);
                    push();
                    mv.visitVarInsn(ILOAD, L_T);
                }
                exitToStack(count);
                return true;
            }
            default -> throw new IllegalStateException("not in the subset: " + Integer.toHexString(op));
        }
    }

    private boolean aluForm(GuestInsn g, int op) {
        int kind = (op >>> 3) & 7;
        int reg = g.reg();
        boolean mem = g.mod() != 3;
        switch (op & 7) {
            case 0, 1 -> {
                int bits = (op & 1) == 0 ? 8 : wide(g);
                if (kind == OP_CMP) {
                    aluCall(OP_CMP, bits, () -> readE(g, bits), () -> getReg(bits, reg));
                    mv.visitInsn(POP);
                } else {
                    aluCall(kind, bits, () -> readRmw(g, bits), () -> getReg(bits, reg));
                    writeRmw(g, bits);
                }
                return mem;
            }
            case 2, 3 -> {
                int bits = (op & 1) == 0 ? 8 : wide(g);
                aluCall(kind, bits, () -> getReg(bits, reg), () -> readE(g, bits));
                if (kind != OP_CMP) {
                    setReg(bits, reg);
                } else {
                    mv.visitInsn(POP);
                }
                return mem;
            }
            case 4 -> {
                aluCall(kind, 8, () -> getReg(32, EAX), () -> iconst(g.imm()));
                if (kind != OP_CMP) {
                    setReg(8, EAX);
                } else {
                    mv.visitInsn(POP);
                }
                return false;
            }
            default -> {
                int bits = wide(g);
                aluCall(kind, bits, () -> getReg(bits, EAX), () -> iconst(g.imm()));
                if (kind != OP_CMP) {
                    setReg(bits, EAX);
                } else {
                    mv.visitInsn(POP);
                }
                return false;
            }
        }
    }

}
