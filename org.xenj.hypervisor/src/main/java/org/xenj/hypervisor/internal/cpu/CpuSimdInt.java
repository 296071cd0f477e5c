package org.xenj.hypervisor.internal.cpu;

import org.xenj.hypervisor.internal.cpu.fpu.X87;
import org.xenj.hypervisor.internal.cpu.simd.PackedInt;
import org.xenj.hypervisor.internal.exec.CpuEnvironment;
import org.xenj.hypervisor.internal.mem.DomainMemory;

/**
 * The MMX and SSE2 integer instructions and the integer moves (0F 60–7F, C4, C5, D0–FF): the
 * unprefixed form works on MMX registers, the 66-prefixed one on XMM registers (each 64-bit half
 * like an MMX register), F3/F2 select the MOVDQU/MOVQ/PSHUFHW/PSHUFLW/MOVQ2DQ/MOVDQ2Q forms
 * (SDM vol. 2, table A-3's mandatory prefixes). An encoding without a form raises #UD.
 */
abstract class CpuSimdInt extends CpuSimd {

    /** The mandatory-prefix selector of the current instruction. */
    static final int P_NONE = 0, P_66 = 1, P_F2 = 2, P_F3 = 3;

    CpuSimdInt(DomainMemory memory, CpuEnvironment env) {
        super(memory, env);
    }

    /** F3 or F2 (the last of them) take precedence over 66. */
    final int simdPrefix() {
        return rep == 0xf3 ? P_F3 : rep == 0xf2 ? P_F2 : o32 != code32 ? P_66 : P_NONE;
    }

    /** Integer SIMD opcode {@code b} (the byte after 0F) with prefix selector {@code pfx}. */
    final void executeInt(int b, int pfx) {
        if (PackedInt.isLaneOp(b)) {
            if (pfx == P_NONE) {
                X87 f = mmxCheck(false);
                long s = srcMmx(f);
                f.mmxEnter();
                f.setMmx(reg, PackedInt.op(b, f.mmx(reg), s));
            } else if (pfx == P_66) {
                checkSse();
                srcXmm128(true);
                int d = 2 * reg;
                xmm[d] = PackedInt.op(b, xmm[d], srcLo);
                xmm[d + 1] = PackedInt.op(b, xmm[d + 1], srcHi);
            } else {
                throw fault(UD, 0);
            }
            return;
        }
        switch (b) {
            case 0x60, 0x61, 0x62, 0x63, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d -> packUnpack(b, pfx);
            case 0x6e -> movdIn(pfx);
            case 0x7e -> movdOut(pfx);
            case 0x6f -> movLoad(pfx);
            case 0x7f -> movStore(pfx);
            case 0x70 -> pshuf(pfx);
            case 0x71, 0x72, 0x73 -> shiftImm(b, pfx);
            case 0xd1, 0xd2, 0xd3, 0xe1, 0xe2, 0xf1, 0xf2, 0xf3 -> shiftReg(b, pfx);
            case 0x77 -> {
                if (pfx != P_NONE) {
                    throw fault(UD, 0);
                }
                mmxCheck(false).emms();
            }
            case 0xc4 -> pinsrw(pfx);
            case 0xc5 -> pextrw(pfx);
            case 0xd6 -> movqD6(pfx);
            case 0xd7 -> pmovmskb(pfx);
            case 0xe7 -> movnt(pfx);
            case 0xf7 -> maskmov(pfx);
            default -> throw fault(UD, 0);
        }
    }

    /** Reads the r/m source for an integer op: MMX (returns the unit) or XMM 128 aligned (returns null). */
    private X87 intSource(int pfx) {
        if (pfx == P_NONE) {
            X87 f = mmxCheck(false);
            srcLo = srcMmx(f);
            f.mmxEnter();
            return f;
        }
        if (pfx != P_66) {
            throw fault(UD, 0);
        }
        checkSse();
        srcXmm128(true);
        return null;
    }

    private void packUnpack(int b, int pfx) {
        if ((b == 0x6c || b == 0x6d) && pfx != P_66) {
            throw fault(UD, 0);
        }
        X87 f = intSource(pfx);
        if (f != null) {
            long d = f.mmx(reg), s = srcLo;
            long r = switch (b) {
                case 0x60 -> PackedInt.interleave((int) d, (int) s, 8);
                case 0x61 -> PackedInt.interleave((int) d, (int) s, 16);
                case 0x62 -> PackedInt.interleave((int) d, (int) s, 32);
                case 0x68 -> PackedInt.interleave((int) (d >>> 32), (int) (s >>> 32), 8);
                case 0x69 -> PackedInt.interleave((int) (d >>> 32), (int) (s >>> 32), 16);
                case 0x6a -> PackedInt.interleave((int) (d >>> 32), (int) (s >>> 32), 32);
                case 0x63 -> pack2(d, s, 16, false);
                case 0x67 -> pack2(d, s, 16, true);
                default -> pack2(d, s, 32, false); // 0x6b
            };
            f.setMmx(reg, r);
            return;
        }
        int i = 2 * reg;
        long dLo = xmm[i], dHi = xmm[i + 1], sLo = srcLo, sHi = srcHi;
        long lo, hi;
        switch (b) {
            case 0x60, 0x61, 0x62 -> {
                int bits = 8 << (b - 0x60);
                lo = PackedInt.interleave((int) dLo, (int) sLo, bits);
                hi = PackedInt.interleave((int) (dLo >>> 32), (int) (sLo >>> 32), bits);
            }
            case 0x68, 0x69, 0x6a -> {
                int bits = 8 << (b - 0x68);
                lo = PackedInt.interleave((int) dHi, (int) sHi, bits);
                hi = PackedInt.interleave((int) (dHi >>> 32), (int) (sHi >>> 32), bits);
            }
            case 0x6c -> {
                lo = dLo;
                hi = sLo;
            }
            case 0x6d -> {
                lo = dHi;
                hi = sHi;
            }
            default -> {
                int bits = b == 0x6b ? 32 : 16;
                boolean u = b == 0x67;
                lo = pack2(dLo, dHi, bits, u);
                hi = pack2(sLo, sHi, bits, u);
            }
        }
        xmm[i] = lo;
        xmm[i + 1] = hi;
    }

    private static long pack2(long first, long second, int bits, boolean unsignedResult) {
        return (PackedInt.pack(first, bits, unsignedResult) & 0xffffffffL) | (long) PackedInt.pack(second, bits, unsignedResult) << 32;
    }

    /** MOVD mm/xmm, r/m32. */
    private void movdIn(int pfx) {
        if (pfx == P_NONE) {
            X87 f = mmxCheck(false);
            int v = readE(32);
            f.mmxEnter();
            f.setMmx(reg, v & 0xffffffffL);
        } else if (pfx == P_66) {
            checkSse();
            xmm[2 * reg] = readE(32) & 0xffffffffL;
            xmm[2 * reg + 1] = 0;
        } else {
            throw fault(UD, 0);
        }
    }

    /** MOVD r/m32, mm/xmm; F3: MOVQ xmm, xmm/m64. */
    private void movdOut(int pfx) {
        if (pfx == P_NONE) {
            X87 f = mmxCheck(false);
            writeE(32, (int) f.mmx(reg));
            f.mmxEnter();
        } else if (pfx == P_66) {
            checkSse();
            writeE(32, (int) xmm[2 * reg]);
        } else if (pfx == P_F3) {
            checkSse();
            srcXmm64();
            xmm[2 * reg] = srcLo;
            xmm[2 * reg + 1] = 0;
        } else {
            throw fault(UD, 0);
        }
    }

    /** MOVQ mm, mm/m64; MOVDQA; MOVDQU. */
    private void movLoad(int pfx) {
        if (pfx == P_NONE) {
            X87 f = mmxCheck(false);
            long v = srcMmx(f);
            f.mmxEnter();
            f.setMmx(reg, v);
            return;
        }
        if (pfx == P_F2) {
            throw fault(UD, 0);
        }
        checkSse();
        srcXmm128(pfx == P_66);
        xmm[2 * reg] = srcLo;
        xmm[2 * reg + 1] = srcHi;
    }

    /** MOVQ mm/m64, mm; MOVDQA/MOVDQU xmm/m128, xmm. */
    private void movStore(int pfx) {
        if (pfx == P_NONE) {
            X87 f = mmxCheck(false);
            long v = f.mmx(reg);
            if (mod == 3) {
                f.mmxEnter();
                f.setMmx(rm, v);
            } else {
                write64(simdLinW(8, false), v);
                f.mmxEnter();
            }
            return;
        }
        if (pfx == P_F2) {
            throw fault(UD, 0);
        }
        checkSse();
        storeXmm(pfx == P_66);
    }

    /** xmm/m128 = xmm[reg]. */
    final void storeXmm(boolean aligned) {
        if (mod == 3) {
            xmm[2 * rm] = xmm[2 * reg];
            xmm[2 * rm + 1] = xmm[2 * reg + 1];
        } else {
            storeXmm128(simdLinW(16, aligned), reg);
        }
    }

    private void pshuf(int pfx) {
        int imm8 = imm & 0xff;
        if (pfx == P_NONE) {
            X87 f = mmxCheck(false);
            long s = srcMmx(f);
            f.mmxEnter();
            f.setMmx(reg, PackedInt.shuffle16(s, imm8));
            return;
        }
        checkSse();
        srcXmm128(true);
        int i = 2 * reg;
        switch (pfx) {
            case P_66 -> {
                long lo = dword(imm8 & 3) | dword(imm8 >>> 2 & 3) << 32;
                long hi = dword(imm8 >>> 4 & 3) | dword(imm8 >>> 6 & 3) << 32;
                xmm[i] = lo;
                xmm[i + 1] = hi;
            }
            case P_F3 -> { // PSHUFHW
                xmm[i] = srcLo;
                xmm[i + 1] = PackedInt.shuffle16(srcHi, imm8);
            }
            default -> { // PSHUFLW
                xmm[i] = PackedInt.shuffle16(srcLo, imm8);
                xmm[i + 1] = srcHi;
            }
        }
    }

    /** Dword {@code k} (0..3) of the 128-bit source, zero-extended. */
    private long dword(int k) {
        long v = k < 2 ? srcLo : srcHi;
        return (k & 1) == 0 ? v & 0xffffffffL : v >>> 32;
    }

    /** 0F 71/72/73 /r ib: shifts of the r/m register by an immediate (register forms only). */
    private void shiftImm(int b, int pfx) {
        if (mod != 3) {
            throw fault(UD, 0);
        }
        int bits = b == 0x71 ? 16 : b == 0x72 ? 32 : 64;
        int kind = switch (reg) {
            case 2 -> 0;
            case 4 -> b == 0x73 ? -1 : 1;
            case 6 -> 2;
            case 3, 7 -> b == 0x73 && pfx == P_66 ? 3 : -1;
            default -> -1;
        };
        if (kind < 0) {
            throw fault(UD, 0);
        }
        long count = imm & 0xff;
        if (pfx == P_NONE) {
            X87 f = mmxCheck(false);
            f.mmxEnter();
            f.setMmx(rm, PackedInt.shift(f.mmx(rm), bits, kind, count));
        } else if (pfx == P_66) {
            checkSse();
            int i = 2 * rm;
            if (kind == 3) {
                byteShift(i, (int) count, reg == 7);
            } else {
                xmm[i] = PackedInt.shift(xmm[i], bits, kind, count);
                xmm[i + 1] = PackedInt.shift(xmm[i + 1], bits, kind, count);
            }
        } else {
            throw fault(UD, 0);
        }
    }

    /** PSRLDQ/PSLLDQ: the 128-bit register shifted by whole bytes (more than 15: zero). */
    private void byteShift(int i, int bytes, boolean left) {
        long lo = xmm[i], hi = xmm[i + 1];
        if (bytes > 15) {
            lo = hi = 0;
        } else if (bytes >= 8) {
            int s = (bytes - 8) * 8;
            if (left) {
                hi = lo << s;
                lo = 0;
            } else {
                lo = hi >>> s;
                hi = 0;
            }
        } else if (bytes > 0) {
            int s = bytes * 8;
            if (left) {
                hi = hi << s | lo >>> (64 - s);
                lo <<= s;
            } else {
                lo = lo >>> s | hi << (64 - s);
                hi >>>= s;
            }
        }
        xmm[i] = lo;
        xmm[i + 1] = hi;
    }

    /** PSRL/PSRA/PSLL with the count in mm/m64 or xmm/m128 (its low 64 bits). */
    private void shiftReg(int b, int pfx) {
        int col = b & 0xf;
        int bits = col == 1 ? 16 : col == 2 ? 32 : 64;
        int kind = (b & 0xf0) == 0xd0 ? 0 : (b & 0xf0) == 0xe0 ? 1 : 2;
        X87 f = intSource(pfx);
        long count = srcLo;
        if (f != null) {
            f.setMmx(reg, PackedInt.shift(f.mmx(reg), bits, kind, count));
        } else {
            int i = 2 * reg;
            xmm[i] = PackedInt.shift(xmm[i], bits, kind, count);
            xmm[i + 1] = PackedInt.shift(xmm[i + 1], bits, kind, count);
        }
    }

    private void pinsrw(int pfx) {
        if (pfx != P_NONE && pfx != P_66) {
            throw fault(UD, 0);
        }
        X87 f = pfx == P_NONE ? mmxCheck(false) : null;
        if (f == null) {
            checkSse();
        }
        int v = (mod == 3 ? regs[rm] : read16(simdLinR(2, false))) & 0xffff;
        if (f != null) {
            int sh = (imm & 3) * 16;
            f.mmxEnter();
            f.setMmx(reg, f.mmx(reg) & ~(0xffffL << sh) | (long) v << sh);
        } else {
            int k = imm & 7;
            int i = 2 * reg + (k >>> 2);
            int sh = (k & 3) * 16;
            xmm[i] = xmm[i] & ~(0xffffL << sh) | (long) v << sh;
        }
    }

    private void pextrw(int pfx) {
        if (mod != 3 || pfx != P_NONE && pfx != P_66) {
            throw fault(UD, 0);
        }
        if (pfx == P_NONE) {
            X87 f = mmxCheck(false);
            f.mmxEnter();
            regs[reg] = (int) (f.mmx(rm) >>> ((imm & 3) * 16)) & 0xffff;
        } else {
            checkSse();
            int k = imm & 7;
            regs[reg] = (int) (xmm[2 * rm + (k >>> 2)] >>> ((k & 3) * 16)) & 0xffff;
        }
    }

    /** 66: MOVQ xmm/m64, xmm; F3: MOVQ2DQ xmm, mm; F2: MOVDQ2Q mm, xmm. */
    private void movqD6(int pfx) {
        switch (pfx) {
            case P_66 -> {
                checkSse();
                if (mod == 3) {
                    xmm[2 * rm] = xmm[2 * reg];
                    xmm[2 * rm + 1] = 0;
                } else {
                    write64(simdLinW(8, false), xmm[2 * reg]);
                }
            }
            case P_F3 -> {
                if (mod != 3) {
                    throw fault(UD, 0);
                }
                checkSse();
                X87 f = mmxCheck(false);
                f.mmxEnter();
                xmm[2 * reg] = f.mmx(rm);
                xmm[2 * reg + 1] = 0;
            }
            case P_F2 -> {
                if (mod != 3) {
                    throw fault(UD, 0);
                }
                checkSse();
                X87 f = mmxCheck(false);
                f.mmxEnter();
                f.setMmx(reg, xmm[2 * rm]);
            }
            default -> throw fault(UD, 0);
        }
    }

    private void pmovmskb(int pfx) {
        if (mod != 3) {
            throw fault(UD, 0);
        }
        if (pfx == P_NONE) {
            X87 f = mmxCheck(false);
            f.mmxEnter();
            regs[reg] = PackedInt.moveMask8(f.mmx(rm));
        } else if (pfx == P_66) {
            checkSse();
            regs[reg] = PackedInt.moveMask8(xmm[2 * rm]) | PackedInt.moveMask8(xmm[2 * rm + 1]) << 8;
        } else {
            throw fault(UD, 0);
        }
    }

    /** MOVNTQ m64, mm; MOVNTDQ m128, xmm (aligned). Non-temporal hints: ordinary stores here. */
    private void movnt(int pfx) {
        if (mod == 3) {
            throw fault(UD, 0);
        }
        if (pfx == P_NONE) {
            X87 f = mmxCheck(false);
            write64(simdLinW(8, false), f.mmx(reg));
            f.mmxEnter();
        } else if (pfx == P_66) {
            checkSse();
            storeXmm128(simdLinW(16, true), reg);
        } else {
            throw fault(UD, 0);
        }
    }

    /** MASKMOVQ / MASKMOVDQU: the bytes of reg whose mask byte (r/m) has its top bit set go to DS:[E]DI. */
    private void maskmov(int pfx) {
        if (mod != 3 || pfx != P_NONE && pfx != P_66) {
            throw fault(UD, 0);
        }
        int seg = prefixSeg >= 0 ? prefixSeg : DS;
        int off = a32 ? regs[EDI] : regs[EDI] & 0xffff;
        if (pfx == P_NONE) {
            X87 f = mmxCheck(false);
            long data = f.mmx(reg), mask = f.mmx(rm);
            maskStore(seg, off, data, mask, 8);
            f.mmxEnter();
        } else {
            checkSse();
            long mLo = xmm[2 * rm], mHi = xmm[2 * rm + 1];
            if (((mLo | mHi) & 0x8080808080808080L) != 0) {
                int lin = linW(seg, off, 16);
                checkWritable(lin, 16);
            }
            maskStore(seg, off, xmm[2 * reg], mLo, 8);
            maskStore(seg, a32 ? off + 8 : (off + 8) & 0xffff, xmm[2 * reg + 1], mHi, 8);
        }
    }

    private void maskStore(int seg, int off, long data, long mask, int n) {
        if ((mask & 0x8080808080808080L) == 0) {
            return;
        }
        int lin = linW(seg, off, n);
        checkWritable(lin, n);
        for (int k = 0; k < n; k++) {
            if ((mask >>> (8 * k + 7) & 1) != 0) {
                write8(lin + k, (int) (data >>> (8 * k)));
            }
        }
    }
}
