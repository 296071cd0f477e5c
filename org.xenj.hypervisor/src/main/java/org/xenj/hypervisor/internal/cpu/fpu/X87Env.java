package org.xenj.hypervisor.internal.cpu.fpu;

/**
 * The x87 environment and full-state images: FLDENV/FNSTENV and FRSTOR/FNSAVE in their four
 * layouts (16/32-bit operand size, real/protected mode), FXSAVE/FXRSTOR's 512-byte image, and
 * FNINIT. Reserved halves of the 32-bit layouts are written as ones, as hardware does.
 */
abstract class X87Env extends X87Transcendental {

    static final int DEFAULT_MXCSR = 0x1F80;
    /** MXCSR bits LDMXCSR/FXRSTOR accept (DAZ included: SDM vol. 1 §11.6.6). */
    public static final int MXCSR_MASK = 0xFFFF;

    /** Scratch for FRSTOR/FXRSTOR, which read all registers before committing any. */
    private final long[] loadSig = new long[8];
    private final int[] loadSe = new int[8];

    X87Env(FpuMemory mem) {
        super(mem);
        mxcsr = DEFAULT_MXCSR;
    }

    /** FNINIT: control word 0x37F, everything else cleared, all registers empty (contents kept). */
    final void init() {
        cw = 0x037F;
        sw = 0;
        top = 0;
        emptyMask = 0xff;
        fip = fcs = fdp = fds = fop = 0;
    }

    /** Size in bytes of the environment image for this layout. */
    static int envSize(boolean opSize32) {
        return opSize32 ? 28 : 14;
    }

    final void storeEnv(int a, boolean opSize32, boolean pm) {
        int swFull = fullStatusWord();
        int tw = fullTagWord();
        if (opSize32) {
            mem.writeDword(a, 0xFFFF_0000 | cw);
            mem.writeDword(a + 4, 0xFFFF_0000 | swFull);
            mem.writeDword(a + 8, 0xFFFF_0000 | tw);
            if (pm) {
                mem.writeDword(a + 12, fip);
                mem.writeDword(a + 16, (fop & 0x7ff) << 16 | fcs & 0xffff);
                mem.writeDword(a + 20, fdp);
                mem.writeDword(a + 24, 0xFFFF_0000 | fds & 0xffff);
            } else {
                mem.writeDword(a + 12, 0xFFFF_0000 | fip & 0xffff);
                mem.writeDword(a + 16, (fip >>> 16 & 0xffff) << 12 | fop & 0x7ff);
                mem.writeDword(a + 20, 0xFFFF_0000 | fdp & 0xffff);
                mem.writeDword(a + 24, (fdp >>> 16 & 0xffff) << 12);
            }
        } else {
            mem.writeWord(a, cw);
            mem.writeWord(a + 2, swFull);
            mem.writeWord(a + 4, tw);
            if (pm) {
                mem.writeWord(a + 6, fip);
                mem.writeWord(a + 8, fcs);
                mem.writeWord(a + 10, fdp);
                mem.writeWord(a + 12, fds);
            } else {
                mem.writeWord(a + 6, fip);
                mem.writeWord(a + 8, (fip >>> 16 & 0xf) << 12 | fop & 0x7ff);
                mem.writeWord(a + 10, fdp);
                mem.writeWord(a + 12, (fdp >>> 16 & 0xf) << 12);
            }
        }
    }

    /** Reads the whole environment first (a fault leaves the state untouched), then loads it. */
    final void loadEnv(int a, boolean opSize32, boolean pm) {
        int nCw, nSw, nTw, nFip, nFop, nFdp, nFcs = fcs, nFds = fds;
        if (opSize32) {
            nCw = mem.readDword(a) & 0xffff;
            nSw = mem.readDword(a + 4) & 0xffff;
            nTw = mem.readDword(a + 8) & 0xffff;
            if (pm) {
                nFip = mem.readDword(a + 12);
                int w = mem.readDword(a + 16);
                nFcs = w & 0xffff;
                nFop = w >>> 16 & 0x7ff;
                nFdp = mem.readDword(a + 20);
                nFds = mem.readDword(a + 24) & 0xffff;
            } else {
                int w = mem.readDword(a + 16);
                nFip = mem.readDword(a + 12) & 0xffff | (w >>> 12 & 0xffff) << 16;
                nFop = w & 0x7ff;
                nFdp = mem.readDword(a + 20) & 0xffff | (mem.readDword(a + 24) >>> 12 & 0xffff) << 16;
            }
        } else {
            nCw = mem.readWord(a);
            nSw = mem.readWord(a + 2);
            nTw = mem.readWord(a + 4);
            if (pm) {
                nFip = mem.readWord(a + 6);
                nFcs = mem.readWord(a + 8);
                nFdp = mem.readWord(a + 10);
                nFds = mem.readWord(a + 12);
                nFop = fop;
            } else {
                int w = mem.readWord(a + 8);
                nFip = mem.readWord(a + 6) | (w >>> 12) << 16;
                nFop = w & 0x7ff;
                nFdp = mem.readWord(a + 10) | (mem.readWord(a + 12) >>> 12) << 16;
            }
        }
        applyEnv(nCw, nSw, nTw, nFip, nFop, nFdp, nFcs, nFds);
    }

    private void applyEnv(int nCw, int nSw, int nTw, int nFip, int nFop, int nFdp, int nFcs, int nFds) {
        cw = nCw & 0x1F7F | 0x0040;
        sw = nSw & ~0x3800;
        top = nSw >>> 11 & 7;
        int empty = 0;
        for (int r = 0; r < 8; r++) {
            if ((nTw >>> (2 * r) & 3) == TAG_EMPTY) {
                empty |= 1 << r;
            }
        }
        emptyMask = empty;
        fip = nFip;
        fop = nFop;
        fdp = nFdp;
        fcs = nFcs;
        fds = nFds;
        updateSummary();
    }

    final void fsave(int a, boolean opSize32, boolean pm) {
        int regs = a + envSize(opSize32);
        for (int i = 0; i < 8; i++) {
            int r = phys(i);
            mem.writeQword(regs + 10 * i, sig[r]);
            mem.writeWord(regs + 10 * i + 8, se[r]);
        }
        storeEnv(a, opSize32, pm);
        init();
    }

    final void frstor(int a, boolean opSize32, boolean pm) {
        int regs = a + envSize(opSize32);
        long[] s = loadSig; // read everything before changing state: a fault leaves the FPU intact
        int[] e = loadSe;
        for (int i = 0; i < 8; i++) {
            s[i] = mem.readQword(regs + 10 * i);
            e[i] = mem.readWord(regs + 10 * i + 8);
        }
        loadEnv(a, opSize32, pm);
        for (int i = 0; i < 8; i++) {
            int r = phys(i);
            sig[r] = s[i];
            se[r] = e[i] & 0xffff;
        }
    }

    /** FXSAVE image: control/status, abridged tags, FOP/FIP/FDP, MXCSR, registers, XMM as zero. */
    final void fxsaveImage(int a) {
        int abridged = ~emptyMask & 0xff;
        mem.writeWord(a, cw);
        mem.writeWord(a + 2, fullStatusWord());
        mem.writeWord(a + 4, abridged);
        mem.writeWord(a + 6, fop & 0x7ff);
        mem.writeDword(a + 8, fip);
        mem.writeDword(a + 12, fcs & 0xffff);
        mem.writeDword(a + 16, fdp);
        mem.writeDword(a + 20, fds & 0xffff);
        mem.writeDword(a + 24, mxcsr);
        mem.writeDword(a + 28, MXCSR_MASK);
        for (int i = 0; i < 8; i++) {
            int r = phys(i);
            int p = a + 32 + 16 * i;
            mem.writeQword(p, sig[r]);
            mem.writeQword(p + 8, se[r] & 0xffff);
        }
        for (int i = 0; i < 16; i++) {
            mem.writeQword(a + 160 + 8 * i, 0);
        }
    }

    final void fxrstorImage(int a) {
        int nCw = mem.readWord(a);
        int nSw = mem.readWord(a + 2);
        int abridged = mem.readWord(a + 4) & 0xff;
        int nFop = mem.readWord(a + 6) & 0x7ff;
        int nFip = mem.readDword(a + 8);
        int nFcs = mem.readWord(a + 12);
        int nFdp = mem.readDword(a + 16);
        int nFds = mem.readWord(a + 20);
        int nMxcsr = mem.readDword(a + 24);
        long s0 = mem.readQword(a + 32);
        int e0 = mem.readWord(a + 40);
        // Remaining registers: read each before writing any state, as above.
        long[] s = loadSig;
        int[] e = loadSe;
        s[0] = s0;
        e[0] = e0;
        for (int i = 1; i < 8; i++) {
            s[i] = mem.readQword(a + 32 + 16 * i);
            e[i] = mem.readWord(a + 40 + 16 * i);
        }
        int nTop = nSw >>> 11 & 7;
        int tw = 0;
        for (int r = 0; r < 8; r++) {
            if ((abridged >>> r & 1) == 0) {
                tw |= TAG_EMPTY << (2 * r);
            }
        }
        applyEnv(nCw, nSw, tw, nFip, nFop, nFdp, nFcs, nFds);
        mxcsr = nMxcsr & MXCSR_MASK;
        for (int i = 0; i < 8; i++) {
            int r = (nTop + i) & 7;
            sig[r] = s[i];
            se[r] = e[i] & 0xffff;
        }
    }
}
