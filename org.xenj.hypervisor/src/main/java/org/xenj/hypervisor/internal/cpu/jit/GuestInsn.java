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
}
