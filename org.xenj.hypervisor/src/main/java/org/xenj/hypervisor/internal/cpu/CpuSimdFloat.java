package org.xenj.hypervisor.internal.cpu;

import org.xenj.hypervisor.internal.cpu.fpu.X87;
import org.xenj.hypervisor.internal.cpu.simd.PackedInt;
import org.xenj.hypervisor.internal.cpu.simd.SseFloat;
import org.xenj.hypervisor.internal.exec.CpuEnvironment;
import org.xenj.hypervisor.internal.mem.DomainMemory;

/**
 * The SSE/SSE2 floating-point instructions and their moves, shuffles and conversions (0F 10–17,
 * 28–2F, 50–5F, C2, C6, E6), and the entry point {@link #executeSimd} for every MMX/SSE/SSE2 opcode.
 * The prefix selects the form: none = packed single (PS), 66 = packed double (PD), F3 = scalar
 * single (SS), F2 = scalar double (SD). Results are computed into locals first and written only
 * after {@link #finishFloat} found no unmasked exception.
 */
abstract class CpuSimdFloat extends CpuSimdInt {

    CpuSimdFloat(DomainMemory memory, CpuEnvironment env) {
        super(memory, env);
    }

    /** Every 0F opcode of the MMX/SSE/SSE2 groups; false when {@code op} is none of them. */
    static boolean isSimdOpcode(int op) {
        int b = op & 0xff;
        return op >= 0x100 && (b >= 0x10 && b <= 0x17 || b >= 0x28 && b <= 0x2f || b >= 0x50 && b <= 0x7f && b != 0x78 && b != 0x79
                && b != 0x7a && b != 0x7b && b != 0x7c && b != 0x7d || b >= 0xc2 && b <= 0xc6 || b >= 0xd1);
    }

    final void executeSimd(int op) {
        int b = op & 0xff;
        int pfx = simdPrefix();
        if (b >= 0x60 && b <= 0x7f || b >= 0xd0 && b != 0xe6 || b == 0xc4 || b == 0xc5) {
            executeInt(b, pfx);
            return;
        }
        switch (b) {
            case 0x10 -> movLoad10(pfx);
            case 0x11 -> movStore11(pfx);
            case 0x12, 0x16 -> movHalfLoad(b == 0x16, pfx);
            case 0x13, 0x17 -> movHalfStore(b == 0x17, pfx);
            case 0x14, 0x15 -> unpck(b == 0x15, pfx);
            case 0x28 -> {
                packedOnly(pfx);
                srcXmm128(true);
                xmm[2 * reg] = srcLo;
                xmm[2 * reg + 1] = srcHi;
            }
            case 0x29 -> {
                packedOnly(pfx);
                storeXmm(true);
            }
            case 0x2b -> {
                packedOnly(pfx);
                if (mod == 3) {
                    throw fault(UD, 0);
                }
                storeXmm128(simdLinW(16, true), reg);
            }
            case 0x2a -> cvtIntToFloat(pfx);
            case 0x2c, 0x2d -> cvtFloatToInt(b == 0x2c, pfx);
            case 0x2e, 0x2f -> comis(b == 0x2f, pfx);
            case 0x50 -> {
                packedOnly(pfx);
                if (mod != 3) {
                    throw fault(UD, 0);
                }
                long lo = xmm[2 * rm], hi = xmm[2 * rm + 1];
                regs[reg] = pfx == P_NONE
                        ? (int) (lo >>> 31 & 1 | lo >>> 62 & 2 | hi >>> 29 & 4 | hi >>> 60 & 8)
                        : (int) (lo >>> 63 | hi >>> 62 & 2);
            }
            case 0x54, 0x55, 0x56, 0x57 -> logical(b, pfx);
            case 0x5a -> cvtFloatFloat(pfx);
            case 0x5b -> cvtDq(pfx);
            case 0xe6 -> cvtE6(pfx);
            case 0xc3 -> { // MOVNTI m32, r32
                if (mod == 3 || pfx != P_NONE) {
                    throw fault(UD, 0);
                }
                write32(linW(eaSeg, eaOff, 4), regs[reg]);
            }
            case 0xc6 -> shuf(pfx);
            case 0x51, 0x52, 0x53, 0x58, 0x59, 0x5c, 0x5d, 0x5e, 0x5f, 0xc2 -> arith(b, pfx);
            default -> throw fault(UD, 0);
        }
    }

    private void packedOnly(int pfx) {
        if (pfx >= P_F2) {
            throw fault(UD, 0);
        }
        checkSse();
    }

    /** The source of a float op: 128 aligned for PS/PD, m32/m64 for SS/SD. */
    private void floatSource(int pfx) {
        switch (pfx) {
            case P_NONE, P_66 -> srcXmm128(true);
            case P_F3 -> srcXmm32();
            default -> srcXmm64();
        }
    }

    private void movLoad10(int pfx) {
        checkSse();
        int i = 2 * reg;
        switch (pfx) {
            case P_NONE, P_66 -> {
                srcXmm128(false);
                xmm[i] = srcLo;
                xmm[i + 1] = srcHi;
            }
            case P_F3 -> {
                srcXmm32();
                xmm[i] = mod == 3 ? xmm[i] & 0xffffffff00000000L | srcLo & 0xffffffffL : srcLo;
                if (mod != 3) {
                    xmm[i + 1] = 0;
                }
            }
            default -> {
                srcXmm64();
                xmm[i] = srcLo;
                if (mod != 3) {
                    xmm[i + 1] = 0;
                }
            }
        }
    }

    private void movStore11(int pfx) {
        checkSse();
        switch (pfx) {
            case P_NONE, P_66 -> storeXmm(false);
            case P_F3 -> {
                int v = (int) xmm[2 * reg];
                if (mod == 3) {
                    xmm[2 * rm] = xmm[2 * rm] & 0xffffffff00000000L | v & 0xffffffffL;
                } else {
                    write32(simdLinW(4, false), v);
                }
            }
            default -> {
                if (mod == 3) {
                    xmm[2 * rm] = xmm[2 * reg];
                } else {
                    write64(simdLinW(8, false), xmm[2 * reg]);
                }
            }
        }
    }

    /** MOVLPS/MOVLPD/MOVHLPS (0F 12) and MOVHPS/MOVHPD/MOVLHPS (0F 16). */
    private void movHalfLoad(boolean high, int pfx) {
        packedOnly(pfx);
        int i = 2 * reg;
        if (mod == 3) {
            if (pfx == P_66) {
                throw fault(UD, 0);
            }
            if (high) {
                xmm[i + 1] = xmm[2 * rm]; // MOVLHPS
            } else {
                xmm[i] = xmm[2 * rm + 1]; // MOVHLPS
            }
            return;
        }
        long v = read64(simdLinR(8, false));
        xmm[high ? i + 1 : i] = v;
    }

    private void movHalfStore(boolean high, int pfx) {
        packedOnly(pfx);
        if (mod == 3) {
            throw fault(UD, 0);
        }
        write64(simdLinW(8, false), xmm[2 * reg + (high ? 1 : 0)]);
    }

    private void unpck(boolean high, int pfx) {
        packedOnly(pfx);
        srcXmm128(true);
        int i = 2 * reg;
        long d = high ? xmm[i + 1] : xmm[i];
        long s = high ? srcHi : srcLo;
        if (pfx == P_66) {
            xmm[i] = d;
            xmm[i + 1] = s;
        } else {
            xmm[i] = PackedInt.interleave((int) d, (int) s, 32);
            xmm[i + 1] = PackedInt.interleave((int) (d >>> 32), (int) (s >>> 32), 32);
        }
    }

    private void logical(int b, int pfx) {
        packedOnly(pfx);
        srcXmm128(true);
        int i = 2 * reg;
        for (int k = 0; k < 2; k++) {
            long d = xmm[i + k], s = k == 0 ? srcLo : srcHi;
            xmm[i + k] = switch (b) {
                case 0x54 -> d & s;
                case 0x55 -> ~d & s;
                case 0x56 -> d | s;
                default -> d ^ s;
            };
        }
    }

    private void shuf(int pfx) {
        packedOnly(pfx);
        srcXmm128(true);
        int i = 2 * reg;
        int sel = imm & 0xff;
        long dLo = xmm[i], dHi = xmm[i + 1];
        if (pfx == P_66) {
            xmm[i] = (sel & 1) != 0 ? dHi : dLo;
            xmm[i + 1] = (sel & 2) != 0 ? srcHi : srcLo;
            return;
        }
        long r0 = pick(dLo, dHi, sel & 3), r1 = pick(dLo, dHi, sel >>> 2 & 3);
        long r2 = pick(srcLo, srcHi, sel >>> 4 & 3), r3 = pick(srcLo, srcHi, sel >>> 6 & 3);
        xmm[i] = r0 | r1 << 32;
        xmm[i + 1] = r2 | r3 << 32;
    }

    private static long pick(long lo, long hi, int k) {
        long v = k < 2 ? lo : hi;
        return (k & 1) == 0 ? v & 0xffffffffL : v >>> 32;
    }

    // ------------------------------------------------------------------ arithmetic

    /** ADD MUL SUB MIN DIV MAX SQRT RSQRT RCP CMP in the PS/PD/SS/SD forms. */
    private void arith(int b, int pfx) {
        checkSse();
        if ((b == 0x52 || b == 0x53) && (pfx == P_66 || pfx == P_F2)) {
            throw fault(UD, 0);
        }
        floatSource(pfx);
        int i = 2 * reg;
        long dLo = xmm[i], dHi = xmm[i + 1];
        SseFloat f = sse;
        f.begin(mxcsr);
        int pred = imm & 7;
        switch (pfx) {
            case P_NONE -> {
                long r0 = single(f, b, (int) dLo, (int) srcLo, pred);
                long r1 = single(f, b, (int) (dLo >>> 32), (int) (srcLo >>> 32), pred);
                long r2 = single(f, b, (int) dHi, (int) srcHi, pred);
                long r3 = single(f, b, (int) (dHi >>> 32), (int) (srcHi >>> 32), pred);
                finishFloat();
                xmm[i] = r0 | r1 << 32;
                xmm[i + 1] = r2 | r3 << 32;
            }
            case P_F3 -> {
                long r0 = single(f, b, (int) dLo, (int) srcLo, pred);
                finishFloat();
                xmm[i] = dLo & 0xffffffff00000000L | r0;
            }
            case P_66 -> {
                long r0 = dbl(f, b, dLo, srcLo, pred);
                long r1 = dbl(f, b, dHi, srcHi, pred);
                finishFloat();
                xmm[i] = r0;
                xmm[i + 1] = r1;
            }
            default -> {
                long r0 = dbl(f, b, dLo, srcLo, pred);
                finishFloat();
                xmm[i] = r0;
            }
        }
    }

    /** One single-precision element, zero-extended to a long. */
    private static long single(SseFloat f, int b, int a, int s, int pred) {
        int r = switch (b) {
            case 0x51 -> f.sqrtS(s);
            case 0x52 -> SseFloat.approx(true, s);
            case 0x53 -> SseFloat.approx(false, s);
            case 0x58 -> f.arithS(SseFloat.ADD, a, s);
            case 0x59 -> f.arithS(SseFloat.MUL, a, s);
            case 0x5c -> f.arithS(SseFloat.SUB, a, s);
            case 0x5d -> f.minMaxS(false, a, s);
            case 0x5e -> f.arithS(SseFloat.DIV, a, s);
            case 0x5f -> f.minMaxS(true, a, s);
            default -> f.cmpS(pred, a, s) ? -1 : 0;
        };
        return r & 0xffffffffL;
    }

    private static long dbl(SseFloat f, int b, long a, long s, int pred) {
        return switch (b) {
            case 0x51 -> f.sqrtD(s);
            case 0x58 -> f.arithD(SseFloat.ADD, a, s);
            case 0x59 -> f.arithD(SseFloat.MUL, a, s);
            case 0x5c -> f.arithD(SseFloat.SUB, a, s);
            case 0x5d -> f.minMaxD(false, a, s);
            case 0x5e -> f.arithD(SseFloat.DIV, a, s);
            case 0x5f -> f.minMaxD(true, a, s);
            default -> f.cmpD(pred, a, s) ? -1L : 0;
        };
    }

    /** COMISS/COMISD (signal on QNaN) and UCOMISS/UCOMISD: ZF PF CF, OF SF AF cleared. */
    private void comis(boolean signalQuiet, int pfx) {
        if (pfx >= P_F2) {
            throw fault(UD, 0);
        }
        checkSse();
        if (pfx == P_NONE) {
            srcXmm32();
        } else {
            srcXmm64();
        }
        SseFloat f = sse;
        f.begin(mxcsr);
        long d = xmm[2 * reg];
        int r = pfx == P_NONE ? f.comiS(signalQuiet, (int) d, (int) srcLo) : f.comiD(signalQuiet, d, srcLo);
        finishFloat();
        setArith((eflags() & ~(OF | SF | AF | ZF | PF | CF)) | r);
    }

    // ------------------------------------------------------------------ conversions

    /** CVTPI2PS, CVTPI2PD (mm/m64), CVTSI2SS, CVTSI2SD (r/m32). */
    private void cvtIntToFloat(int pfx) {
        int i = 2 * reg;
        if (pfx >= P_F2) {
            checkSse();
            int v = readE(32);
            SseFloat f = sse;
            f.begin(mxcsr);
            if (pfx == P_F3) {
                long r = f.int32ToS(v) & 0xffffffffL;
                finishFloat();
                xmm[i] = xmm[i] & 0xffffffff00000000L | r;
            } else {
                xmm[i] = f.int32ToD(v);
            }
            return;
        }
        long s;
        if (mod == 3) {
            checkSse();
            X87 x = mmxCheck(true);
            s = x.mmx(rm);
            x.mmxEnter();
        } else {
            checkSse();
            s = read64(simdLinR(8, false));
        }
        SseFloat f = sse;
        f.begin(mxcsr);
        if (pfx == P_NONE) {
            long r0 = f.int32ToS((int) s) & 0xffffffffL, r1 = f.int32ToS((int) (s >>> 32)) & 0xffffffffL;
            finishFloat();
            xmm[i] = r0 | r1 << 32;
        } else {
            xmm[i] = f.int32ToD((int) s);
            xmm[i + 1] = f.int32ToD((int) (s >>> 32));
        }
    }

    /** CVT(T)PS2PI, CVT(T)PD2PI (to mm), CVT(T)SS2SI, CVT(T)SD2SI (to r32). */
    private void cvtFloatToInt(boolean truncate, int pfx) {
        checkSse();
        SseFloat f = sse;
        switch (pfx) {
            case P_F3, P_F2 -> {
                if (pfx == P_F3) {
                    srcXmm32();
                } else {
                    srcXmm64();
                }
                f.begin(mxcsr);
                int r = pfx == P_F3 ? f.sToInt32((int) srcLo, truncate) : f.dToInt32(srcLo, truncate);
                finishFloat();
                regs[reg] = r;
            }
            default -> {
                X87 x = mmxCheck(true);
                if (pfx == P_NONE) {
                    srcXmm64();
                } else {
                    srcXmm128(true);
                }
                f.begin(mxcsr);
                long r0, r1;
                if (pfx == P_NONE) {
                    r0 = f.sToInt32((int) srcLo, truncate);
                    r1 = f.sToInt32((int) (srcLo >>> 32), truncate);
                } else {
                    r0 = f.dToInt32(srcLo, truncate);
                    r1 = f.dToInt32(srcHi, truncate);
                }
                x.mmxEnter(); // the transition happens even when the conversion then raises #XM (host-checked)
                finishFloat();
                x.setMmx(reg, r0 & 0xffffffffL | r1 << 32);
            }
        }
    }

    /** CVTPS2PD, CVTPD2PS, CVTSS2SD, CVTSD2SS. */
    private void cvtFloatFloat(int pfx) {
        checkSse();
        int i = 2 * reg;
        SseFloat f = sse;
        switch (pfx) {
            case P_NONE -> {
                srcXmm64();
                f.begin(mxcsr);
                long r0 = f.sToD((int) srcLo), r1 = f.sToD((int) (srcLo >>> 32));
                finishFloat();
                xmm[i] = r0;
                xmm[i + 1] = r1;
            }
            case P_66 -> {
                srcXmm128(true);
                f.begin(mxcsr);
                long r0 = f.dToS(srcLo) & 0xffffffffL, r1 = f.dToS(srcHi) & 0xffffffffL;
                finishFloat();
                xmm[i] = r0 | r1 << 32;
                xmm[i + 1] = 0;
            }
            case P_F3 -> {
                srcXmm32();
                f.begin(mxcsr);
                long r = f.sToD((int) srcLo);
                finishFloat();
                xmm[i] = r;
            }
            default -> {
                srcXmm64();
                f.begin(mxcsr);
                long r = f.dToS(srcLo) & 0xffffffffL;
                finishFloat();
                xmm[i] = xmm[i] & 0xffffffff00000000L | r;
            }
        }
    }

    /** CVTDQ2PS, CVTPS2DQ (66), CVTTPS2DQ (F3). */
    private void cvtDq(int pfx) {
        if (pfx == P_F2) {
            throw fault(UD, 0);
        }
        checkSse();
        srcXmm128(true);
        SseFloat f = sse;
        f.begin(mxcsr);
        long r0, r1, r2, r3;
        if (pfx == P_NONE) {
            r0 = f.int32ToS((int) srcLo);
            r1 = f.int32ToS((int) (srcLo >>> 32));
            r2 = f.int32ToS((int) srcHi);
            r3 = f.int32ToS((int) (srcHi >>> 32));
        } else {
            boolean t = pfx == P_F3;
            r0 = f.sToInt32((int) srcLo, t);
            r1 = f.sToInt32((int) (srcLo >>> 32), t);
            r2 = f.sToInt32((int) srcHi, t);
            r3 = f.sToInt32((int) (srcHi >>> 32), t);
        }
        finishFloat();
        xmm[2 * reg] = r0 & 0xffffffffL | r1 << 32;
        xmm[2 * reg + 1] = r2 & 0xffffffffL | r3 << 32;
    }

    /** CVTTPD2DQ (66), CVTDQ2PD (F3), CVTPD2DQ (F2). */
    private void cvtE6(int pfx) {
        if (pfx == P_NONE) {
            throw fault(UD, 0);
        }
        checkSse();
        SseFloat f = sse;
        int i = 2 * reg;
        if (pfx == P_F3) {
            srcXmm64();
            xmm[i] = f.int32ToD((int) srcLo);
            xmm[i + 1] = f.int32ToD((int) (srcLo >>> 32));
            return;
        }
        srcXmm128(true);
        f.begin(mxcsr);
        boolean t = pfx == P_66;
        long r0 = f.dToInt32(srcLo, t), r1 = f.dToInt32(srcHi, t);
        finishFloat();
        xmm[i] = r0 & 0xffffffffL | r1 << 32;
        xmm[i + 1] = 0;
    }
}
