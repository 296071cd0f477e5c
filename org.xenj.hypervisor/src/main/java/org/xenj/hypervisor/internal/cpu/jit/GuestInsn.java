package org.xenj.hypervisor.internal.cpu.jit;

/**
 * One instruction as the decoder left it (the block cache's row, unpacked): what the translator
 * compiles from. {@code op} is 0x000-0x0FF for one-byte opcodes, 0x100-0x1FF for 0F xx;
 * {@code prefixSeg} and the EA registers are -1 when absent; {@code length} is in bytes.
 */
public record GuestInsn(int op, int modrm, boolean o32, boolean a32, boolean lock, int rep, int prefixSeg, boolean hasEa,
        int eaBase, int eaIndex, int eaScale, int eaDisp, int eaDefSeg, boolean eaBaseEsp, int imm, int imm2, int length) {

    public int mod() {
        return modrm >>> 6;
    }

    public int reg() {
        return (modrm >>> 3) & 7;
    }

    public int rm() {
        return modrm & 7;
    }

    /** The segment of the memory operand: the override prefix, else the addressing form's default. */
    public int eaSeg() {
        return prefixSeg >= 0 ? prefixSeg : eaDefSeg;
    }

    /**
     * This instruction as the block cache's row (five ints; the layout of {@code CpuBlocks.pack}
     * and {@code CpuBlocks.rowInsn}, which this inverts): what compiled code hands back to the
     * interpreter for an instruction it runs in place ({@code Cpu.execRow}).
     */
    public int[] row() {
        int w0 = op | modrm << 9 | (length & 15) << 24 | (prefixSeg + 1) << 28;
        w0 |= (o32 ? 1 << 17 : 0) | (a32 ? 1 << 18 : 0) | (lock ? 1 << 19 : 0) | (hasEa ? 1 << 20 : 0) | (eaBaseEsp ? 1 << 21 : 0);
        w0 |= rep == 0xf2 ? 1 << 22 : rep == 0xf3 ? 2 << 22 : 0;
        int w1 = hasEa ? (eaBase + 1) | (eaIndex + 1) << 4 | eaScale << 8 | eaDefSeg << 10 : 0;
        return new int[] {w0, w1, hasEa ? eaDisp : 0, imm, imm2};
    }
}
