package org.xenj.hypervisor.internal.cpu;

import org.xenj.hypervisor.internal.exec.CpuEnvironment;
import org.xenj.hypervisor.internal.mem.DomainMemory;

/**
 * Arithmetic: the eight ALU operations with lazy flags, shifts and rotates, multiply/divide and
 * BCD adjustments. Operands may carry garbage above their width; results are returned unmasked
 * (the register/memory store truncates) and flags only look at the low {@code bits} bits.
 */
abstract class CpuAlu extends CpuTransfer {

    static final int OP_ADD = 0, OP_OR = 1, OP_ADC = 2, OP_SBB = 3, OP_AND = 4, OP_SUB = 5, OP_XOR = 6, OP_CMP = 7;

    CpuAlu(DomainMemory memory, CpuEnvironment env) {
        super(memory, env);
    }

    static int mask(int bits) {
        return -1 >>> (32 - bits);
    }

    /** ALU operation {@code op} (ADD, OR, ADC, SBB, AND, SUB, XOR, CMP); CMP returns {@code a} unchanged. */
    final int alu(int op, int bits, int a, int b) {
        switch (op) {
            case OP_ADD:
                lfOp = LF_ADD; lfBits = bits; lfDst = a; lfSrc = b;
                return lfRes = a + b;
            case OP_OR:
                lfOp = LF_LOGIC; lfBits = bits;
                return lfRes = a | b;
            case OP_ADC: {
                int c = cf();
                lfOp = LF_ADD; lfBits = bits; lfDst = a; lfSrc = b;
                return lfRes = a + b + c;
            }
            case OP_SBB: {
                int c = cf();
                lfOp = LF_SUB; lfBits = bits; lfDst = a; lfSrc = b;
                return lfRes = a - b - c;
            }
            case OP_AND:
                lfOp = LF_LOGIC; lfBits = bits;
                return lfRes = a & b;
            case OP_SUB:
                lfOp = LF_SUB; lfBits = bits; lfDst = a; lfSrc = b;
                return lfRes = a - b;
            case OP_XOR:
                lfOp = LF_LOGIC; lfBits = bits;
                return lfRes = a ^ b;
            default:
                lfOp = LF_SUB; lfBits = bits; lfDst = a; lfSrc = b; lfRes = a - b;
                return a;
        }
    }

    final int inc(int bits, int a) {
        lfCarry = cf();
        lfOp = LF_INC; lfBits = bits; lfDst = a; lfSrc = 1;
        return lfRes = a + 1;
    }

    final int dec(int bits, int a) {
        lfCarry = cf();
        lfOp = LF_DEC; lfBits = bits; lfDst = a; lfSrc = 1;
        return lfRes = a - 1;
    }

    final int neg(int bits, int a) {
        lfOp = LF_SUB; lfBits = bits; lfDst = 0; lfSrc = a;
        return lfRes = -a;
    }

    /** SF, ZF and PF of a result as EFLAGS bits. */
    static int szp(int bits, int res) {
        int r = res << (32 - bits);
        return (r == 0 ? ZF : 0) | (r < 0 ? SF : 0) | ((Integer.bitCount(res & 0xff) & 1) == 0 ? PF : 0);
    }

    /** Shift/rotate group 2: {@code op} = ROL, ROR, RCL, RCR, SHL, SHR, SAL(=SHL), SAR. */
    final int shift(int op, int bits, int v, int count) {
        count &= 0x1f;
        if (count == 0) {
            return v;
        }
        int m = mask(bits);
        v &= m;
        int msb = bits - 1;
        int res;
        switch (op) {
            case 4:
            case 6: { // SHL
                res = count < 32 ? (v << count) & m : 0;
                int cf = count <= bits ? (v >>> (bits - count)) & 1 : 0;
                setFlagsCarryOf(bits, res, cf, ((res >>> msb) & 1) ^ cf);
                return res;
            }
            case 5: { // SHR
                res = v >>> count;
                int cf = (v >>> (count - 1)) & 1;
                setFlagsCarryOf(bits, res, cf, count == 1 ? (v >>> msb) & 1 : 0);
                return res;
            }
            case 7: { // SAR
                int sv = (v << (32 - bits)) >> (32 - bits);
                res = (sv >> Math.min(count, 31)) & m;
                int cf = (sv >> Math.min(count - 1, 31)) & 1;
                setFlagsCarryOf(bits, res, cf, 0);
                return res;
            }
            default:
                return rotate(op, bits, v, count, m, msb);
        }
    }

    /** ROL, ROR, RCL, RCR: only CF and OF change, the other flags are kept. */
    private int rotate(int op, int bits, int v, int count, int m, int msb) {
        int res;
        int old = eflags();
        int oldCf = old & CF;
        int f = old & ~(CF | OF);
        switch (op) {
            case 0: { // ROL
                int c = count & msb;
                res = c == 0 ? v : ((v << c) | (v >>> (bits - c))) & m;
                int cf = res & 1;
                f |= cf | (((res >>> msb) ^ cf) != 0 ? OF : 0);
                break;
            }
            case 1: { // ROR
                int c = count & msb;
                res = c == 0 ? v : ((v >>> c) | (v << (bits - c))) & m;
                int top = (res >>> msb) & 1;
                f |= top | ((top ^ ((res >>> (msb - 1)) & 1)) != 0 ? OF : 0);
                break;
            }
            case 2: { // RCL
                int c = count % (bits + 1);
                if (c == 0) {
                    return v;
                }
                long wide = ((long) oldCf << bits) | (v & 0xffffffffL); // bits+1 wide value: CF above the operand
                long full = (wide << c) | (wide >>> (bits + 1 - c));
                res = (int) full & m;
                int cf = (int) (full >>> bits) & 1;
                f |= cf | ((((res >>> msb) & 1) ^ cf) != 0 ? OF : 0);
                break;
            }
            case 3: { // RCR
                int c = count % (bits + 1);
                if (c == 0) {
                    return v;
                }
                long wide = ((long) oldCf << bits) | (v & 0xffffffffL);
                long full = (wide >>> c) | (wide << (bits + 1 - c));
                res = (int) full & m;
                int cf = (int) (full >>> bits) & 1;
                f |= cf | ((((res >>> msb) ^ (res >>> (msb - 1))) & 1) != 0 ? OF : 0);
                break;
            }
            default:
                throw new IllegalArgumentException("not a rotate: " + op);
        }
        setArith(f);
        return res;
    }

    /** SHLD (left=true) / SHRD: shifts {@code dst} by {@code count}, filling from {@code src}. */
    final int shiftDouble(boolean left, int bits, int dst, int src, int count) {
        count &= 0x1f;
        if (count == 0) {
            return dst;
        }
        int m = mask(bits);
        dst &= m;
        src &= m;
        int res, cf;
        if (bits == 32) {
            if (left) {
                res = (dst << count) | (src >>> (32 - count));
                cf = (dst >>> (32 - count)) & 1;
            } else {
                res = (dst >>> count) | (src << (32 - count));
                cf = (dst >>> (count - 1)) & 1;
            }
        } else {
            // 16-bit: Intel treats dst:src as a 32-bit (dst high for SHLD) value; counts > 16 are undefined
            if (left) {
                long wide = ((long) dst << 32) | ((long) src << 16) | dst;
                res = (int) (wide << count >>> 32) & m;
                cf = (int) ((wide << (count - 1)) >>> 47) & 1;
            } else {
                long wide = ((long) dst) | ((long) src << 16) | ((long) dst << 32);
                res = (int) (wide >>> count) & m;
                cf = (int) (wide >>> (count - 1)) & 1;
            }
        }
        res &= m;
        int msb = bits - 1;
        int of = (((res ^ dst) >>> msb) & 1) != 0 ? OF : 0;
        setArith(szp(bits, res) | cf | of);
        return res;
    }

    /** Unsigned multiply of AL/AX/EAX by {@code src}; sets CF=OF when the high half is non-zero. */
    final void mul(int bits, int src) {
        if (bits == 32) {
            long r = mul32(regs[EAX], src);
            regs[EAX] = (int) r;
            regs[EDX] = (int) (r >>> 32);
            return;
        }
        int high;
        int low;
        if (bits == 8) {
            int r = (regs[EAX] & 0xff) * (src & 0xff);
            setReg16(EAX, r);
            high = r >>> 8;
            low = r & 0xff;
        } else {
            int r = (regs[EAX] & 0xffff) * (src & 0xffff);
            setReg16(EAX, r);
            setReg16(EDX, r >>> 16);
            high = r >>> 16;
            low = r & 0xffff;
        }
        int c = high != 0 ? 1 : 0;
        setFlagsCarryOf(bits, low, c, c);
    }

    /**
     * MUL r/m32: the product EDX:EAX of {@code eax} and {@code src}, flags set (CF=OF: EDX non-zero).
     * The interpreter's and compiled code's one definition (BlockCompiler's ArithEmitter calls it).
     */
    final long mul32(int eax, int src) {
        long r = (eax & 0xffffffffL) * (src & 0xffffffffL);
        int c = (r >>> 32) != 0 ? 1 : 0;
        setFlagsCarryOf(32, (int) r, c, c);
        return r;
    }

    /** One-operand IMUL. */
    final void imul1(int bits, int src) {
        if (bits == 32) {
            long r = imul32(regs[EAX], src);
            regs[EAX] = (int) r;
            regs[EDX] = (int) (r >>> 32);
            return;
        }
        boolean overflow;
        int low;
        if (bits == 8) {
            int r = (byte) regs[EAX] * (byte) src;
            setReg16(EAX, r);
            overflow = r != (byte) r;
            low = r;
        } else {
            int r = (short) regs[EAX] * (short) src;
            setReg16(EAX, r);
            setReg16(EDX, r >>> 16);
            overflow = r != (short) r;
            low = r;
        }
        int c = overflow ? 1 : 0;
        setFlagsCarryOf(bits, low, c, c);
    }

    /** IMUL r/m32 (one operand): the signed product EDX:EAX, flags set (CF=OF: it does not fit EAX). Shared with compiled code. */
    final long imul32(int eax, int src) {
        long r = (long) eax * (long) src;
        int c = r != (int) r ? 1 : 0;
        setFlagsCarryOf(32, (int) r, c, c);
        return r;
    }

    /** Two/three-operand IMUL: returns the truncated product. */
    final int imul2(int bits, int a, int b) {
        long r;
        boolean overflow;
        if (bits == 16) {
            r = (long) (short) a * (short) b;
            overflow = r != (short) r;
        } else {
            r = (long) a * (long) b;
            overflow = r != (int) r;
        }
        int c = overflow ? 1 : 0;
        setFlagsCarryOf(bits, (int) r, c, c);
        return (int) r;
    }

    final void div(int bits, int src) {
        if (bits == 8) {
            int d = src & 0xff;
            int n = regs[EAX] & 0xffff;
            if (d == 0 || n / d > 0xff) {
                throw fault(DE, 0);
            }
            setReg16(EAX, (n / d) | ((n % d) << 8));
        } else if (bits == 16) {
            long d = src & 0xffff;
            long n = ((regs[EDX] & 0xffffL) << 16) | (regs[EAX] & 0xffff);
            if (d == 0 || n / d > 0xffff) {
                throw fault(DE, 0);
            }
            setReg16(EAX, (int) (n / d));
            setReg16(EDX, (int) (n % d));
        } else {
            long r = div32(regs[EDX], regs[EAX], src);
            regs[EAX] = (int) r;
            regs[EDX] = (int) (r >>> 32);
        }
    }

    /**
     * DIV r/m32: EDX:EAX by {@code src}, the remainder in the high half and the quotient in the
     * low; #DE (nothing changed) for a zero divisor or a quotient wider than 32 bits. Shared with
     * compiled code, which stores the halves only after it returns.
     */
    final long div32(int edx, int eax, int src) {
        long d = src & 0xffffffffL;
        long n = ((long) edx << 32) | (eax & 0xffffffffL);
        if (d == 0) {
            throw fault(DE, 0);
        }
        long q = Long.divideUnsigned(n, d);
        if ((q >>> 32) != 0) {
            throw fault(DE, 0);
        }
        return Long.remainderUnsigned(n, d) << 32 | q;
    }

    final void idiv(int bits, int src) {
        if (bits == 8) {
            int d = (byte) src;
            int n = (short) regs[EAX];
            if (d == 0) {
                throw fault(DE, 0);
            }
            int q = n / d;
            if (q != (byte) q) {
                throw fault(DE, 0);
            }
            setReg16(EAX, (q & 0xff) | ((n % d) & 0xff) << 8);
        } else if (bits == 16) {
            int d = (short) src;
            int n = ((regs[EDX] & 0xffff) << 16) | (regs[EAX] & 0xffff);
            if (d == 0) {
                throw fault(DE, 0);
            }
            long q = (long) n / d;
            if (q != (short) q) {
                throw fault(DE, 0);
            }
            setReg16(EAX, (int) q);
            setReg16(EDX, n % d);
        } else {
            long r = idiv32(regs[EDX], regs[EAX], src);
            regs[EAX] = (int) r;
            regs[EDX] = (int) (r >>> 32);
        }
    }

    /** IDIV r/m32: as {@link #div32}, signed (#DE also when the quotient does not fit 32 bits). */
    final long idiv32(int edx, int eax, int src) {
        long d = src;
        long n = ((long) edx << 32) | (eax & 0xffffffffL);
        if (d == 0 || (n == Long.MIN_VALUE && d == -1)) {
            throw fault(DE, 0);
        }
        long q = n / d;
        if (q != (int) q) {
            throw fault(DE, 0);
        }
        return (n % d) << 32 | (q & 0xffffffffL);
    }

    /** CF set to {@code cf} (0/1), the other arithmetic flags evaluated and kept: BT/BTS/BTR/BTC, CLC/STC/CMC. */
    final void setCarry(int cf) {
        setArith((eflags() & ~CF) | cf);
    }

    /**
     * BSF ({@code reverse} false) / BSR of {@code v} (cut to the operand width): returns the new
     * destination, {@code old} unchanged when {@code v} is 0 (ZF set), else the bit's index (ZF clear).
     */
    final int bitScan(boolean reverse, int v, int old) {
        if (v == 0) {
            setArith(eflags() | ZF);
            return old;
        }
        setArith(eflags() & ~ZF);
        return reverse ? 31 - Integer.numberOfLeadingZeros(v) : Integer.numberOfTrailingZeros(v);
    }

    /** SAHF: SF, ZF, AF, PF, CF from bits 8-15 of {@code eax}. */
    final void sahf(int eax) {
        setArith((eflags() & ~0xff) | (eax >>> 8 & (SF | ZF | AF | PF | CF)));
    }

    /** LAHF: {@code eax} with AH replaced by SF, ZF, AF, PF, CF (and bit 1). */
    final int lahf(int eax) {
        return (eax & ~0xff00) | ((eflags() & (SF | ZF | AF | PF | CF)) | 2) << 8;
    }

    // ------------------------------------------------------------------ BCD

    final void daa() {
        int f = eflags();
        int al = regs[EAX] & 0xff;
        int oldAl = al;
        boolean oldCf = (f & CF) != 0;
        int nf = 0;
        if ((al & 0xf) > 9 || (f & AF) != 0) {
            al += 6;
            nf |= AF | (oldCf || al > 0xff ? CF : 0);
        }
        if (oldAl > 0x99 || oldCf) {
            al += 0x60;
            nf |= CF;
        }
        al &= 0xff;
        setReg8(EAX, al);
        setArith(nf | szp(8, al));
    }

    final void das() {
        int f = eflags();
        int al = regs[EAX] & 0xff;
        int oldAl = al;
        boolean oldCf = (f & CF) != 0;
        int nf = 0;
        if ((al & 0xf) > 9 || (f & AF) != 0) {
            al -= 6;
            nf |= AF | (oldCf || al < 0 ? CF : 0);
        }
        if (oldAl > 0x99 || oldCf) {
            al -= 0x60;
            nf |= CF;
        }
        al &= 0xff;
        setReg8(EAX, al);
        setArith(nf | szp(8, al));
    }

    /** AAA (sub=false) / AAS (sub=true). */
    final void aaa(boolean sub) {
        int f = eflags();
        int ax = regs[EAX] & 0xffff;
        int nf = 0;
        if ((ax & 0xf) > 9 || (f & AF) != 0) {
            // as current CPUs do: the carry/borrow of AL +/- 6 propagates into AH
            ax = sub ? ax - 6 - 0x100 : ax + 0x106;
            nf = AF | CF;
        }
        ax &= 0xff0f;
        setReg16(EAX, ax);
        setArith(nf | szp(8, ax));
    }

    final void aam(int base) {
        if (base == 0) {
            throw fault(DE, 0);
        }
        int al = regs[EAX] & 0xff;
        int r = al % base;
        setReg16(EAX, ((al / base) << 8) | r);
        setArith(szp(8, r));
    }

    final void aad(int base) {
        int ax = regs[EAX];
        int al = ((ax & 0xff) + ((ax >>> 8) & 0xff) * base) & 0xff;
        setReg16(EAX, al);
        setArith(szp(8, al));
    }
}
