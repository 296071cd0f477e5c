package org.xenj.hypervisor.internal.cpu;

import java.util.ArrayList;
import java.util.List;

import org.xenj.hypervisor.internal.cpu.jit.BlockCompiler;

/**
 * {@code -Dxenj.jit.opstats=true}: what the translator leaves to the interpreter, per opcode and
 * ModRM reg field (and 16-bit operand size): the instructions compiled code ran in place through
 * {@code Cpu.execRow}, and the 32-bit-code instructions the interpreter replayed that compiled
 * code cannot run at all (each ends a translation before it, or is a block of its own). The
 * measurement that decides which instructions to compile next (issue 11); off, the vCPU pays one
 * null test per execRow and per replayed instruction.
 */
final class OpStats {

    private static final boolean ON = Boolean.getBoolean("xenj.jit.opstats");

    /** Per key ({@link #key}): in-place runs; unrunnable replays. */
    private final long[] inPlace = new long[1 << 13], unrunnable = new long[1 << 13];
    /** Per row word 0's low 24 bits (opcode, ModRM, prefixes): 0 unknown, 1 runnable in compiled code, 2 not. */
    private final byte[] runnable = new byte[1 << 24];
    private long replayed32;

    static OpStats create() {
        return ON ? new OpStats() : null;
    }

    /** opcode (9 bits), ModRM reg, 16-bit operand size: the row's word 0 folded. */
    private static int key(int w0) {
        return (w0 & 0x1ff) << 4 | ((w0 >>> 12) & 7) << 1 | (((w0 >>> 17) & 1) ^ 1);
    }

    void inPlace(int w0) {
        inPlace[key(w0)]++;
    }

    /** A replayed instruction of 32-bit code: the row at {@code p} of {@code cpu}'s block cache. */
    void replayed(CpuBlocks cpu, int w0, int p, boolean inPlaceOn) {
        replayed32++;
        int k = w0 & 0xffffff;
        byte r = runnable[k];
        if (r == 0) {
            r = BlockCompiler.runnable(cpu.rowInsn(p), inPlaceOn) ? (byte) 1 : (byte) 2;
            runnable[k] = r;
        }
        if (r == 2) {
            unrunnable[key(w0)]++;
        }
    }

    @Override
    public String toString() {
        return " opstats: replayed32=" + replayed32 + " inPlace(top 15)=" + top(inPlace) + " unrunnable(top 15)=" + top(unrunnable);
    }

    private static String top(long[] c) {
        long total = 0;
        List<Integer> keys = new ArrayList<>();
        for (int k = 0; k < c.length; k++) {
            if (c[k] != 0) {
                keys.add(k);
                total += c[k];
            }
        }
        keys.sort((a, b) -> Long.compare(c[b], c[a]));
        StringBuilder s = new StringBuilder("total " + total + " [");
        for (int i = 0; i < Math.min(15, keys.size()); i++) {
            int k = keys.get(i);
            int op = k >>> 4;
            s.append(i == 0 ? "" : ", ").append(op >= 0x100 ? String.format("0f%02x", op & 0xff) : String.format("%02x", op))
                    .append('/').append((k >>> 1) & 7).append((k & 1) != 0 ? " o16" : "").append('=').append(c[k]);
        }
        return s.append(']').toString();
    }
}
