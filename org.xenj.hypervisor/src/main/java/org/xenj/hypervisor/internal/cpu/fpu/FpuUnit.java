package org.xenj.hypervisor.internal.cpu.fpu;

/**
 * The x87 FPU as the CPU core drives it. The CPU decodes the ESC opcodes (D8..DF) far enough to
 * find the ModRM and the effective address, handles #NM itself (CR0.EM/TS), and calls
 * {@link #execute}. Unmasked x87 exceptions are reported through {@link #errorPending()}; the CPU
 * raises #MF (CR0.NE=1) before the next waiting x87 instruction or FWAIT, as hardware does.
 */
public interface FpuUnit {

    /** {@link #execute} result meaning "no EFLAGS change". */
    int NO_EFLAGS = -1;

    /**
     * Executes one x87 instruction.
     *
     * @param opcode  the ESC byte, 0xD8..0xDF
     * @param modrm   the ModRM byte
     * @param linear  effective linear address of the memory operand (ignored when mod == 3)
     * @param eflags  current EFLAGS (FCMOVcc reads CF/ZF/PF)
     * @param opSize32 operand size (FSTENV/FLDENV/FSAVE/FRSTOR layout)
     * @param protectedMode protected vs real-mode environment layout
     * @param fip     linear address of the instruction (for FIP), {@code fcs} its CS selector
     * @return for FCOMI/FCOMIP/FUCOMI/FUCOMIP the new ZF|PF|CF bits (others clear), else {@link #NO_EFLAGS}
     * @throws IllegalStateException never for guest input; an undefined encoding returns
     *         {@link #UNDEFINED} so the CPU raises #UD
     */
    int execute(int opcode, int modrm, int linear, int eflags, boolean opSize32, boolean protectedMode, int fip, int fcs);

    /** {@link #execute} result for an encoding that does not exist: the CPU raises #UD. */
    int UNDEFINED = -2;

    /** True when an unmasked exception is pending (status word ES set): next waiting op takes #MF. */
    boolean errorPending();

    int statusWord();

    int controlWord();

    int tagWord();

    /** FNINIT state; also the power-on/reset state (FINIT values). */
    void reset();

    /** FXSAVE's 512-byte image at {@code linear} (x87 part + MXCSR fields; XMM registers zero unless SSE is implemented). */
    void fxsave(int linear);

    void fxrstor(int linear);

    /** Every guest-visible bit of the unit, for hand-over, save/restore and migration. */
    FpuState saveState();

    /** Puts the unit in {@code state} exactly (the inverse of {@link #saveState}). */
    void restoreState(FpuState state);

    /** Register {@code st(i)} as 80-bit extended: low 64 bits significand, high 16 bits sign+exponent (tests). */
    long st80Significand(int i);

    int st80SignExponent(int i);
}
