package org.xenj.hypervisor.internal.cpu.fpu;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.Arrays;

/**
 * Every guest-visible bit of the x87 unit (and MXCSR): control, status with TOP, which physical
 * registers are empty, the last-instruction pointers, the eight 80-bit registers by physical index,
 * and the data selector the CPU last reported. Nothing derived (the full tag word is recomputed from
 * the registers, as FXRSTOR does). Versioned with its enclosing {@code CpuState}.
 */
public record FpuState(int cw, int sw, int top, int emptyMask, int fip, int fcs, int fdp, int fds, int fop, int mxcsr,
        long[] sig, int[] se, int dataSelector) {

    public FpuState {
        if (sig.length != 8 || se.length != 8) {
            throw new IllegalArgumentException("x87 state needs 8 registers");
        }
        sig = sig.clone();
        se = se.clone();
    }

    @Override
    public long[] sig() {
        return sig.clone();
    }

    @Override
    public int[] se() {
        return se.clone();
    }

    public void write(DataOutput out) throws IOException {
        for (int v : new int[] {cw, sw, top, emptyMask, fip, fcs, fdp, fds, fop, mxcsr, dataSelector}) {
            out.writeInt(v);
        }
        for (int i = 0; i < 8; i++) {
            out.writeLong(sig[i]);
            out.writeInt(se[i]);
        }
    }

    public static FpuState read(DataInput in) throws IOException {
        int[] v = new int[11];
        for (int i = 0; i < v.length; i++) {
            v[i] = in.readInt();
        }
        long[] s = new long[8];
        int[] e = new int[8];
        for (int i = 0; i < 8; i++) {
            s[i] = in.readLong();
            e[i] = in.readInt();
        }
        return new FpuState(v[0], v[1], v[2] & 7, v[3] & 0xff, v[4], v[5], v[6], v[7], v[8], v[9], s, e, v[10]);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FpuState f && cw == f.cw && sw == f.sw && top == f.top && emptyMask == f.emptyMask && fip == f.fip
                && fcs == f.fcs && fdp == f.fdp && fds == f.fds && fop == f.fop && mxcsr == f.mxcsr
                && dataSelector == f.dataSelector && Arrays.equals(sig, f.sig) && Arrays.equals(se, f.se);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(sig) + Arrays.hashCode(se) + cw + fip;
    }
}
