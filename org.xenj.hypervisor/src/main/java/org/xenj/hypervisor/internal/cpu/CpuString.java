package org.xenj.hypervisor.internal.cpu;

import java.util.Arrays;

import org.xenj.hypervisor.internal.exec.CpuEnvironment;
import org.xenj.hypervisor.internal.mem.DomainMemory;

/**
 * String instructions (MOVS, CMPS, STOS, LODS, SCAS, INS, OUTS) with REP/REPE/REPNE in both
 * directions, and port I/O. REP MOVS/STOS over RAM with flat segments copy a page at a time.
 * A long REP is cut into slices: after a slice EIP points back at the instruction, so the vCPU
 * can take interrupts and the instruction resumes with the registers' progress.
 */
abstract class CpuString extends CpuDecode {

    /** Elements per REP slice before yielding to the block loop. */
    private static final int REP_SLICE = 4096;

    CpuString(DomainMemory memory, CpuEnvironment env) {
        super(memory, env);
    }

    private int count() {
        return a32 ? regs[ECX] : regs[ECX] & 0xffff;
    }

    private void setCount(int c) {
        if (a32) {
            regs[ECX] = c;
        } else {
            setReg16(ECX, c);
        }
    }

    private int si() {
        return a32 ? regs[ESI] : regs[ESI] & 0xffff;
    }

    private int di() {
        return a32 ? regs[EDI] : regs[EDI] & 0xffff;
    }

    private void advance(int r, int delta) {
        if (a32) {
            regs[r] += delta;
        } else {
            setReg16(r, regs[r] + delta);
        }
    }

    private int delta(int size) {
        return (flags & DF) != 0 ? -size : size;
    }

    /** Ends a REP slice: resume the same instruction later if work remains. */
    private void sliceEnd(int remaining) {
        if (remaining != 0) {
            eip = startEip;
        }
    }

    private boolean flat(int seg) {
        return segBase[seg] == 0 && segRdLo[seg] == 0 && segWrLo[seg] == 0 && segWrHi[seg] == 0xffffffffL;
    }

    final void movs(int bits) {
        int size = bits >>> 3;
        int src = dataSeg();
        int d = delta(size);
        if (rep == 0) {
            int v = readMem(bits, src, si());
            writeMem(bits, ES, di(), v);
            advance(ESI, d);
            advance(EDI, d);
            return;
        }
        int c = count();
        boolean fast = a32 && d > 0 && flat(src) && flat(ES);
        for (int n = 0; c != 0 && n < REP_SLICE; n++) {
            if (fast) {
                int s = regs[ESI], t = regs[EDI];
                int room = Math.min(0x1000 - (s & 0xfff), 0x1000 - (t & 0xfff)) / size;
                long chunk = Math.min(c & 0xffffffffL, room);
                if (chunk > 1) {
                    int si = resolve(s, false);
                    byte[] sm = resolvedMem;
                    int ti = si < 0 ? -1 : resolve(t, true);
                    byte[] tm = resolvedMem;
                    int bytes = (int) chunk * size;
                    if (si >= 0 && ti >= 0 && !(sm == tm && ti > si && ti < si + bytes)) {
                        System.arraycopy(sm, si, tm, ti, bytes);
                        regs[ESI] = s + bytes;
                        regs[EDI] = t + bytes;
                        c -= (int) chunk;
                        setCount(c);
                        continue;
                    }
                }
            }
            int v = readMem(bits, src, si());
            writeMem(bits, ES, di(), v);
            advance(ESI, d);
            advance(EDI, d);
            setCount(--c);
        }
        sliceEnd(c);
    }

    final void stos(int bits) {
        int size = bits >>> 3;
        int d = delta(size);
        int v = getReg(bits, EAX);
        if (rep == 0) {
            writeMem(bits, ES, di(), v);
            advance(EDI, d);
            return;
        }
        int c = count();
        boolean fast = a32 && d > 0 && flat(ES);
        for (int n = 0; c != 0 && n < REP_SLICE; n++) {
            if (fast) {
                int t = regs[EDI];
                long chunk = Math.min(c & 0xffffffffL, (0x1000 - (t & 0xfff)) / size);
                if (chunk > 1) {
                    int ti = resolve(t, true);
                    if (ti >= 0) {
                        byte[] tm = resolvedMem;
                        int k = (int) chunk;
                        if (size == 1) {
                            Arrays.fill(tm, ti, ti + k, (byte) v);
                        } else if (size == 2) {
                            for (int j = 0; j < k; j++) {
                                LE16.set(tm, ti + 2 * j, (short) v);
                            }
                        } else {
                            for (int j = 0; j < k; j++) {
                                LE32.set(tm, ti + 4 * j, v);
                            }
                        }
                        regs[EDI] = t + k * size;
                        c -= k;
                        setCount(c);
                        continue;
                    }
                }
            }
            writeMem(bits, ES, di(), v);
            advance(EDI, d);
            setCount(--c);
        }
        sliceEnd(c);
    }

    final void lods(int bits) {
        int d = delta(bits >>> 3);
        int src = dataSeg();
        if (rep == 0) {
            setReg(bits, EAX, readMem(bits, src, si()));
            advance(ESI, d);
            return;
        }
        int c = count();
        for (int n = 0; c != 0 && n < REP_SLICE; n++) {
            setReg(bits, EAX, readMem(bits, src, si()));
            advance(ESI, d);
            setCount(--c);
        }
        sliceEnd(c);
    }

    final void cmps(int bits) {
        int d = delta(bits >>> 3);
        int src = dataSeg();
        if (rep == 0) {
            int a = readMem(bits, src, si());
            int b = readMem(bits, ES, di());
            alu(OP_CMP, bits, a, b);
            advance(ESI, d);
            advance(EDI, d);
            return;
        }
        int c = count();
        boolean whileEqual = rep == 0xf3;
        for (int n = 0; c != 0 && n < REP_SLICE; n++) {
            int a = readMem(bits, src, si());
            int b = readMem(bits, ES, di());
            alu(OP_CMP, bits, a, b);
            advance(ESI, d);
            advance(EDI, d);
            setCount(--c);
            if (zf() != whileEqual) {
                return;
            }
        }
        sliceEnd(c);
    }

    final void scas(int bits) {
        int d = delta(bits >>> 3);
        int a = getReg(bits, EAX);
        if (rep == 0) {
            alu(OP_CMP, bits, a, readMem(bits, ES, di()));
            advance(EDI, d);
            return;
        }
        int c = count();
        boolean whileEqual = rep == 0xf3;
        for (int n = 0; c != 0 && n < REP_SLICE; n++) {
            alu(OP_CMP, bits, a, readMem(bits, ES, di()));
            advance(EDI, d);
            setCount(--c);
            if (zf() != whileEqual) {
                return;
            }
        }
        sliceEnd(c);
    }

    final void ins(int bits) {
        int size = bits >>> 3;
        int port = regs[EDX] & 0xffff;
        checkIo(port, size);
        int d = delta(size);
        int c = rep == 0 ? 1 : count();
        for (int n = 0; c != 0 && n < REP_SLICE; n++) {
            int lin = linW(ES, di(), size);
            checkWritable(lin, size);
            writeLin(bits, lin, env.ioRead(port, size));
            advance(EDI, d);
            c--;
            if (rep != 0) {
                setCount(c);
            }
        }
        if (rep != 0) {
            sliceEnd(c);
        }
    }

    final void outs(int bits) {
        int size = bits >>> 3;
        int port = regs[EDX] & 0xffff;
        checkIo(port, size);
        int d = delta(size);
        int src = dataSeg();
        int c = rep == 0 ? 1 : count();
        for (int n = 0; c != 0 && n < REP_SLICE; n++) {
            env.ioWrite(port, size, readMem(bits, src, si()));
            advance(ESI, d);
            c--;
            if (rep != 0) {
                setCount(c);
            }
        }
        if (env.takeTlbFlushRequest()) {
            flushTlb(true);
        }
        if (rep != 0) {
            sliceEnd(c);
        }
    }

    final int in(int port, int size) {
        checkIo(port, size);
        int v = env.ioRead(port, size);
        return size == 4 ? v : v & ((1 << (size * 8)) - 1);
    }

    final void out(int port, int size, int v) {
        checkIo(port, size);
        env.ioWrite(port, size, size == 4 ? v : v & ((1 << (size * 8)) - 1));
        if (env.takeTlbFlushRequest()) {
            flushTlb(true); // the chipset changed which pages take stores (PAM)
        }
    }
}
