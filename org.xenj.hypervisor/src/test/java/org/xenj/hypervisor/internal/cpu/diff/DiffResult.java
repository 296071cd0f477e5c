package org.xenj.hypervisor.internal.cpu.diff;

/** The state after running a {@link DiffCase}, natively or in the emulator. */
final class DiffResult {
    /** Exception vector, or -1 when the code ran to its end. */
    int vector = -1;
    int errorCode;
    final int[] gpr = new int[8];
    int eflags;
    int eip;
    /** FNSAVE image (32-bit protected layout). */
    byte[] fpu = new byte[108];
    byte[] data;
    int mxcsr;
    final byte[] xmm = new byte[128];
}
