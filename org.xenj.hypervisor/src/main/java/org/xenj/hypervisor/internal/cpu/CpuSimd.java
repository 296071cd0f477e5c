package org.xenj.hypervisor.internal.cpu;

import org.xenj.hypervisor.internal.cpu.fpu.X87;
import org.xenj.hypervisor.internal.cpu.simd.SseFloat;
import org.xenj.hypervisor.internal.exec.CpuEnvironment;
import org.xenj.hypervisor.internal.mem.DomainMemory;

/**
 * MMX/SSE/SSE2 architectural state and the checks every such instruction makes before it runs:
 * XMM0–7 as lo/hi long pairs, MXCSR, the MMX registers aliased onto the x87 unit, CR0.EM/TS/MP,
 * CR4.OSFXSR/OSXMMEXCPT, pending x87 errors, alignment of 16-byte operands, and #XM versus #UD
 * for unmasked SIMD floating-point exceptions (SDM vol. 3A §2.5, §13.1–13.4; vol. 1 §11.5).
 * The source operand of the instruction being executed is read into {@link #srcLo}/{@link #srcHi};
 * nothing is allocated per instruction.
 */
abstract class CpuSimd extends CpuSystem {

    /** XMMi = xmm[2i] (bits 63..0) and xmm[2i+1] (bits 127..64). */
    final long[] xmm = new long[16];
    /** MXCSR; its state-record copy lives in the x87 unit's {@code FpuState} (synchronised on save). */
    int mxcsr = 0x1f80;
    /** The x87 unit as the concrete class (MMX aliasing); null when the vCPU has none or another unit. */
    X87 x87;
    final SseFloat sse = new SseFloat();
    /** The source operand of the current instruction (register or memory). */
    long srcLo, srcHi;

    static final int MXCSR_DEFAULT = 0x1f80;

    CpuSimd(DomainMemory memory, CpuEnvironment env) {
        super(memory, env);
    }

    /** Power-on state of the SIMD unit (XMM zero, MXCSR 0x1F80). */
    final void resetSimd() {
        java.util.Arrays.fill(xmm, 0);
        mxcsr = MXCSR_DEFAULT;
    }

    // ------------------------------------------------------------------ checks

    /** SSE/SSE2 instruction on XMM registers: #UD for CR0.EM or CR4.OSFXSR clear (or no FXSR), #NM for CR0.TS. */
    final void checkSse() {
        if ((cr0 & CR0_EM) != 0 || (cr4 & CR4_OSFXSR) == 0 || x87 == null) {
            throw fault(UD, 0);
        }
        if ((cr0 & CR0_TS) != 0) {
            throw fault(NM, 0);
        }
    }

    /**
     * An instruction on MMX registers: #UD for CR0.EM (and, for the SSE conversions, CR4.OSFXSR),
     * #NM for CR0.TS, #MF for a pending unmasked x87 exception. Changes nothing: once its operands
     * are read the caller puts the x87 unit in MMX mode ({@link X87#mmxEnter}: TOP 0, all tags
     * valid, SDM vol. 1 §9.5.1), so that a faulting access leaves the x87 state as it was.
     */
    final X87 mmxCheck(boolean needsOsfxsr) {
        X87 f = x87;
        if ((cr0 & CR0_EM) != 0 || f == null || needsOsfxsr && (cr4 & CR4_OSFXSR) == 0) {
            throw fault(UD, 0);
        }
        if ((cr0 & CR0_TS) != 0) {
            throw fault(NM, 0);
        }
        if (f.errorPending() && (cr0 & CR0_NE) != 0) {
            throw fault(MF, 0);
        }
        return f;
    }

    /**
     * Applies the float unit's flags to MXCSR. An unmasked exception raises #XM with
     * CR4.OSXMMEXCPT set, #UD without (SDM vol. 3A §6.15, interrupt 19); the destination is left alone.
     */
    final void finishFloat() {
        int r = sse.finish();
        mxcsr |= r & 0x3f;
        if (r < 0) {
            throw fault((cr4 & CR4_OSXMMEXCPT) != 0 ? XM : UD, 0);
        }
    }

    // ------------------------------------------------------------------ operands

    /** Linear address of the memory operand for a read of {@code size} bytes; {@code aligned} forms #GP(0) off 16 bytes. */
    final int simdLinR(int size, boolean aligned) {
        int lin = linR(eaSeg, eaOff, size);
        if (aligned && (lin & 15) != 0) {
            throw fault(GP, 0);
        }
        return lin;
    }

    final int simdLinW(int size, boolean aligned) {
        int lin = linW(eaSeg, eaOff, size);
        if (aligned && (lin & 15) != 0) {
            throw fault(GP, 0);
        }
        checkWritable(lin, size);
        return lin;
    }

    final long read64(int lin) {
        return (read32(lin) & 0xffffffffL) | (long) read32(lin + 4) << 32;
    }

    final void write64(int lin, long v) {
        write32(lin, (int) v);
        write32(lin + 4, (int) (v >>> 32));
    }

    /** The XMM r/m source, 128 bits (memory aligned unless {@code unaligned}). */
    final void srcXmm128(boolean aligned) {
        if (mod == 3) {
            srcLo = xmm[2 * rm];
            srcHi = xmm[2 * rm + 1];
        } else {
            int lin = simdLinR(16, aligned);
            srcLo = read64(lin);
            srcHi = read64(lin + 8);
        }
    }

    /** The low 64 bits of the XMM r/m source (register or m64); srcHi is the register's high half or 0. */
    final void srcXmm64() {
        if (mod == 3) {
            srcLo = xmm[2 * rm];
            srcHi = xmm[2 * rm + 1];
        } else {
            srcLo = read64(simdLinR(8, false));
            srcHi = 0;
        }
    }

    /** The low 32 bits of the XMM r/m source (register or m32). */
    final void srcXmm32() {
        if (mod == 3) {
            srcLo = xmm[2 * rm];
            srcHi = xmm[2 * rm + 1];
        } else {
            srcLo = read32(simdLinR(4, false)) & 0xffffffffL;
            srcHi = 0;
        }
    }

    /** The MMX r/m source (register or m64); the unit must already be in MMX mode. */
    final long srcMmx(X87 f) {
        return mod == 3 ? f.mmx(rm) : read64(simdLinR(8, false));
    }

    final void storeXmm128(int lin, int r) {
        write64(lin, xmm[2 * r]);
        write64(lin + 8, xmm[2 * r + 1]);
    }

    // ------------------------------------------------------------------ MXCSR and FXSAVE

    /** LDMXCSR: #GP(0) for a reserved bit (SDM vol. 2A LDMXCSR). */
    final void ldmxcsr() {
        int v = read32(simdLinR(4, false));
        if ((v & ~X87.MXCSR_MASK) != 0) {
            throw fault(GP, 0);
        }
        mxcsr = v;
    }

    final void stmxcsr() {
        write32(simdLinW(4, false), mxcsr);
    }

    /** After the x87 unit wrote its part of an FXSAVE image: MXCSR, MXCSR_MASK and XMM0–7 (SDM vol. 2A FXSAVE, table 3-53). */
    final void fxsaveSimd(int lin) {
        write32(lin + 24, mxcsr);
        write32(lin + 28, X87.MXCSR_MASK);
        if ((cr4 & CR4_OSFXSR) != 0) {
            for (int r = 0; r < 8; r++) {
                storeXmm128(lin + 160 + 16 * r, r);
            }
        }
    }

    /** Before FXRSTOR commits anything: a reserved MXCSR bit in the image is #GP(0). */
    final void fxrstorCheck(int lin) {
        if ((read32(lin + 24) & ~X87.MXCSR_MASK) != 0) {
            throw fault(GP, 0);
        }
    }

    /** After the x87 part was restored: MXCSR, and XMM0–7 when CR4.OSFXSR is set. */
    final void fxrstorSimd(int lin) {
        mxcsr = read32(lin + 24);
        if ((cr4 & CR4_OSFXSR) != 0) {
            for (int r = 0; r < 16; r++) {
                xmm[r] = read64(lin + 160 + 8 * r);
            }
        }
    }
}
