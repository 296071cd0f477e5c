package org.xenj.hypervisor.internal.cpu.diff;

/** Compares an emulator result with the native one; describes the first differences readably. */
final class DiffComparator {

    private static final String[] REGS = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"};

    private DiffComparator() {
    }

    /** Null when equal (under the case's masks), else a description of every difference. */
    /** {@code fop}/{@code fdp}: whether the oracle's CPU stores them for instructions without an exception. */
    static String compare(DiffCase c, DiffResult want, DiffResult got, boolean fop, boolean fdp) {
        StringBuilder sb = new StringBuilder();
        if (want.vector != got.vector) {
            sb.append(String.format(" vector native=%d emu=%d", want.vector, got.vector));
        } else if (want.vector >= 0 && hasErrorCode(want.vector) && want.errorCode != got.errorCode) {
            sb.append(String.format(" errcode native=%x emu=%x", want.errorCode, got.errorCode));
        }
        if (want.eip != got.eip) {
            sb.append(String.format(" eip native=%08x emu=%08x", want.eip, got.eip));
        }
        for (int i = 0; i < 8; i++) {
            if (want.gpr[i] != got.gpr[i]) {
                sb.append(String.format(" %s native=%08x emu=%08x", REGS[i], want.gpr[i], got.gpr[i]));
            }
        }
        int fm = c.flagsCompared;
        if ((want.eflags & fm) != (got.eflags & fm)) {
            sb.append(String.format(" eflags native=%08x emu=%08x (compared %04x, differ %04x)", want.eflags, got.eflags,
                    fm, (want.eflags ^ got.eflags) & fm));
        }
        for (int i = 0; i < want.data.length; i++) {
            if (ignored(c, i) || !(fop && fdp) && savedPointer(c, i)) {
                continue;
            }
            if (want.data[i] != got.data[i]) {
                sb.append(String.format(" mem[%08x] native=%02x emu=%02x", DiffCase.DATA_BASE + i, want.data[i] & 0xff,
                        got.data[i] & 0xff));
                break;
            }
        }
        if (c.compareFpu) {
            compareFpu(c, want.vector, want.fpu, got.fpu, fop, fdp, sb);
        }
        compareSimd(c, want, got, sb);
        return sb.length() == 0 ? null : c + ":" + sb;
    }

    /** MXCSR exactly; XMM0-7 bit for bit, or lane by lane within 2^-10 for {@link DiffCase#approximateXmm}. */
    private static void compareSimd(DiffCase c, DiffResult want, DiffResult got, StringBuilder sb) {
        if (want.mxcsr != got.mxcsr) {
            sb.append(String.format(" mxcsr native=%08x emu=%08x", want.mxcsr, got.mxcsr));
        }
        java.nio.ByteBuffer w = FpuImage.le(want.xmm), g = FpuImage.le(got.xmm);
        for (int r = 0; r < 8; r++) {
            boolean same = true;
            for (int k = 0; k < 4; k++) {
                int a = w.getInt(16 * r + 4 * k), b = g.getInt(16 * r + 4 * k);
                same &= a == b || c.approximateXmm && closeFloat(a, b);
            }
            if (!same) {
                sb.append(String.format(" xmm%d native=%016x%016x emu=%016x%016x", r, w.getLong(16 * r + 8), w.getLong(16 * r),
                        g.getLong(16 * r + 8), g.getLong(16 * r)));
            }
        }
    }

    /** Same sign and class, finite values within 2^-10 relative. */
    static boolean closeFloat(int a, int b) {
        float x = Float.intBitsToFloat(a), y = Float.intBitsToFloat(b);
        if ((a ^ b) < 0 || Float.isNaN(x) || Float.isNaN(y) || Float.isInfinite(x) || Float.isInfinite(y) || x == 0 || y == 0) {
            return a == b;
        }
        return Math.abs((double) x - y) <= Math.abs((double) y) * 0x1p-10;
    }

    /**
     * Whether data byte {@code i} holds FCS, FOP, FDP or FDS of an x87 environment the case stored at
     * {@link X87Cases#ENV} (FNSTENV/FNSAVE; 32-bit layout bytes 16-27, 16-bit layout 8-13). A CPU that
     * keeps FOP/FDP only for unmasked exceptions also zeroes FCS/FDS (CPUID.(7,0):EBX[13]), so on
     * such an oracle the emulator's values there have nothing to be compared with.
     */
    private static boolean savedPointer(DiffCase c, int i) {
        int at = i - X87Cases.ENV;
        return c.env16 ? at >= 8 && at < 14 : at >= 16 && at < 28;
    }

    private static boolean ignored(DiffCase c, int i) {
        return c.ignoredData != null && i < c.ignoredData.length && c.ignoredData[i];
    }

    private static boolean hasErrorCode(int v) {
        return v == 8 || v >= 10 && v <= 14 || v == 17;
    }

    private static void compareFpu(DiffCase c, int wantVector, byte[] w, byte[] g, boolean fop, boolean fdp, StringBuilder sb) {
        boolean differs = FpuImage.cw(w) != FpuImage.cw(g)
                || (FpuImage.sw(w) & ~c.statusIgnored) != (FpuImage.sw(g) & ~c.statusIgnored)
                || FpuImage.tw(w) != FpuImage.tw(g);
        // FIP, FOP, FDP (FCS/FDS are selectors the harness does not model)
        FpuImageFields wf = new FpuImageFields(w), gf = new FpuImageFields(g);
        // after a fault the image comes from the kernel's FXSAVE, where AMD stores FIP/FDP/FOP
        // only while an unmasked exception is pending (and FOP never): compare them on normal exits
        // and the kernel's own XSAVE/XRSTOR (a context switch or kernel FPU use between the case and
        // the runner's FNSAVE) zeroes them on AMD: all three zero while the emulator's FIP lies in the
        // code can only be that loss (no x87 instruction there leaves FIP 0), so they are not compared
        boolean pointersLost = wf.fip == 0 && wf.fdp == 0 && wf.fop == 0 && gf.fip - DiffCase.CODE_BASE >= 0
                && gf.fip - DiffCase.CODE_BASE < 0x1000;
        // a CPU that keeps FOP/FDP only for unmasked exceptions (fop/fdp false) says nothing about them here
        differs |= wantVector < 0 && !pointersLost
                && (wf.fip != gf.fip || fdp && wf.fdp != gf.fdp || fop && wf.fop != gf.fop);
        for (int i = 0; i < 8 && !differs; i++) {
            long ws = FpuImage.sig(w, i), gs = FpuImage.sig(g, i);
            int we = FpuImage.se(w, i), ge = FpuImage.se(g, i);
            if (ws != gs || we != ge) {
                differs = !(c.approximateFpu && close(ws, we, gs, ge));
            }
        }
        if (differs) {
            sb.append("\n      x87 before: ").append(FpuImage.describe(c.fpu));
            sb.append("\n      x87 native: ").append(FpuImage.describe(w)).append("\n      x87 emu:    ")
                    .append(FpuImage.describe(g));
        }
    }

    /** Same sign and class, values within 2^-48 relative (double-based transcendentals). */
    static boolean close(long ws, int we, long gs, int ge) {
        if (((we ^ ge) & 0x8000) != 0) {
            return false;
        }
        int wexp = we & 0x7fff, gexp = ge & 0x7fff;
        if (wexp == 0x7fff || gexp == 0x7fff) {
            return ws == gs && we == ge;
        }
        if (wexp == 0 || gexp == 0) { // denormals: the same scale, compare the significands
            return wexp == gexp && Math.abs((double) ws - (double) gs) <= Math.abs((double) ws) * 0x1p-40 + 0x1p12;
        }
        double a = Math.scalb((double) (ws >>> 1), wexp - gexp);
        double b = (double) (gs >>> 1);
        return Math.abs(a - b) <= Math.abs(b) * 0x1p-48;
    }

    private static final class FpuImageFields {
        final int fip, fop, fdp;

        FpuImageFields(byte[] img) {
            java.nio.ByteBuffer b = FpuImage.le(img);
            fip = b.getInt(12);
            fop = b.getShort(18) & 0x7ff;
            fdp = b.getInt(20);
        }
    }
}
