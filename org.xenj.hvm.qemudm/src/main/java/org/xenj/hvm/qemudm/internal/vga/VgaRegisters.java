package org.xenj.hvm.qemudm.internal.vga;

/**
 * The VGA's registers (sequencer, CRT controller, graphics controller, attribute controller, DAC,
 * miscellaneous output, input status) and the Bochs VBE "dispi" registers, with the port protocol
 * of each (index/data pairs, the attribute controller's flip-flop, the DAC's three-byte cycles).
 * Offsets are port numbers minus 0x3C0 for the VGA (0x3B4/0x3B5/0x3BA are offsets -12, -11, -6).
 * Any write that can change the picture bumps {@link #generation} so the renderer redraws.
 */
final class VgaRegisters {

    static final int SEQ_COUNT = 5, CRTC_COUNT = 25, GC_COUNT = 9, AC_COUNT = 21;

    // Bochs VBE dispi interface (ports 0x1CE index, 0x1CF data; MMIO BAR2 + 0x500)
    static final int VBE_ID = 0, VBE_XRES = 1, VBE_YRES = 2, VBE_BPP = 3, VBE_ENABLE = 4, VBE_BANK = 5,
            VBE_VIRT_WIDTH = 6, VBE_VIRT_HEIGHT = 7, VBE_X_OFFSET = 8, VBE_Y_OFFSET = 9, VBE_VIDEO_MEMORY_64K = 10,
            VBE_COUNT = 11;
    static final int VBE_ID0 = 0xb0c0, VBE_ID5 = 0xb0c5;
    static final int VBE_ENABLED = 0x01, VBE_GETCAPS = 0x02, VBE_8BIT_DAC = 0x20, VBE_LFB_ENABLED = 0x40,
            VBE_NOCLEARMEM = 0x80;
    static final int VBE_MAX_XRES = 2560, VBE_MAX_YRES = 1600, VBE_MAX_BPP = 32;

    final int[] seq = new int[SEQ_COUNT];
    final int[] crtc = new int[CRTC_COUNT];
    final int[] gc = new int[GC_COUNT];
    final int[] ac = new int[AC_COUNT];
    /** 256 entries of 6-bit (or 8-bit with VBE_8BIT_DAC) red, green, blue. */
    final byte[] dac = new byte[768];
    int misc;
    int seqIndex, crtcIndex, gcIndex;
    /** Attribute index including bit 5, the palette address source (screen on when set). */
    int acIndex;
    /** false: the next 0x3C0 write is an index; true: data. */
    boolean acFlipFlop;
    int dacReadIndex, dacWriteIndex, dacSub, pelMask;
    /** 3 after a write to 0x3C7 (read cycle), 0 after 0x3C8. */
    int dacState;
    int featureControl;
    /** Toggled by input-status reads so that retrace polling loops end. */
    int retraceToggle;

    final int[] vbe = new int[VBE_COUNT];
    int vbeIndex;
    /** Bytes per scan line and the first byte shown, derived from the VBE registers. */
    int vbeLineBytes, vbeStart;

    volatile int generation;

    private final VgaMemory mem;

    VgaRegisters(VgaMemory mem) {
        this.mem = mem;
        reset();
    }

    /**
     * Power-on state: 80×25 colour text (mode 3) as a VGA BIOS leaves it, since a directly booted
     * kernel has no BIOS to program it; the DAC holds the EGA-compatible 64 colours. VBE off.
     */
    void reset() {
        misc = 0x67;
        copy(seq, 0x03, 0x00, 0x03, 0x00, 0x02);
        copy(crtc, 0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x9c,
                0x8e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff);
        copy(gc, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x00, 0xff);
        copy(ac, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x0c,
                0x00, 0x0f, 0x08, 0x00);
        for (int i = 0; i < 256; i++) {
            int c = i & 63;
            dac[3 * i] = (byte) (((c >> 2) & 1) * 0x2a + ((c >> 5) & 1) * 0x15);
            dac[3 * i + 1] = (byte) (((c >> 1) & 1) * 0x2a + ((c >> 4) & 1) * 0x15);
            dac[3 * i + 2] = (byte) ((c & 1) * 0x2a + ((c >> 3) & 1) * 0x15);
        }
        seqIndex = crtcIndex = gcIndex = 0;
        acIndex = 0x20;
        acFlipFlop = false;
        dacReadIndex = dacWriteIndex = dacSub = dacState = 0;
        pelMask = 0xff;
        featureControl = 0;
        java.util.Arrays.fill(vbe, 0);
        vbe[VBE_ID] = VBE_ID5;
        vbe[VBE_XRES] = 640;
        vbe[VBE_YRES] = 480;
        vbe[VBE_BPP] = 8;
        vbe[VBE_VIRT_WIDTH] = 640;
        vbe[VBE_VIRT_HEIGHT] = 480;
        vbe[VBE_VIDEO_MEMORY_64K] = VgaMemory.SIZE >> 16;
        vbeIndex = 0;
        recomputeVbe();
        generation++;
    }

    private static void copy(int[] to, int... values) {
        System.arraycopy(values, 0, to, 0, values.length);
    }

    boolean vbeEnabled() {
        return (vbe[VBE_ENABLE] & VBE_ENABLED) != 0;
    }

    /** Whether the CRT controller answers at 0x3D4 (colour) rather than 0x3B4 (mono). */
    private boolean colour() {
        return (misc & 1) != 0;
    }

    // ---- VGA ports; offset = port - 0x3C0 ----

    int read(int offset) {
        int port = 0x3c0 + offset;
        switch (port) {
            case 0x3c0:
                return acIndex;
            case 0x3c1:
                return (acIndex & 0x1f) < AC_COUNT ? ac[acIndex & 0x1f] : 0;
            case 0x3c2:
                return 0x10; // input status 0: switch sense
            case 0x3c4:
                return seqIndex;
            case 0x3c5:
                return seqIndex < SEQ_COUNT ? seq[seqIndex] : 0xff;
            case 0x3c6:
                return pelMask;
            case 0x3c7:
                return dacState;
            case 0x3c8:
                return dacWriteIndex;
            case 0x3c9: {
                int v = dac[3 * dacReadIndex + dacSub] & 0xff;
                if (++dacSub == 3) {
                    dacSub = 0;
                    dacReadIndex = (dacReadIndex + 1) & 0xff;
                }
                return v;
            }
            case 0x3ca:
                return featureControl;
            case 0x3cc:
                return misc;
            case 0x3ce:
                return gcIndex;
            case 0x3cf:
                return gcIndex < GC_COUNT ? gc[gcIndex] : 0xff;
            case 0x3b4, 0x3d4:
                return (port == 0x3d4) == colour() ? crtcIndex : 0xff;
            case 0x3b5, 0x3d5:
                return (port == 0x3d5) == colour() && crtcIndex < CRTC_COUNT ? crtc[crtcIndex] : 0xff;
            case 0x3ba, 0x3da: {
                if ((port == 0x3da) != colour()) {
                    return 0xff;
                }
                acFlipFlop = false; // reading input status 1 resets the attribute flip-flop
                retraceToggle ^= 0x09; // display disabled + vertical retrace, alternating
                return retraceToggle;
            }
            default:
                return 0xff;
        }
    }

    void write(int offset, int value) {
        value &= 0xff;
        int port = 0x3c0 + offset;
        switch (port) {
            case 0x3c0 -> {
                if (!acFlipFlop) {
                    acIndex = value & 0x3f;
                } else if ((acIndex & 0x1f) < AC_COUNT) {
                    ac[acIndex & 0x1f] = value;
                }
                acFlipFlop = !acFlipFlop;
            }
            case 0x3c2 -> misc = value;
            case 0x3c4 -> seqIndex = value & 0x07;
            case 0x3c5 -> {
                if (seqIndex < SEQ_COUNT) {
                    seq[seqIndex] = value;
                }
            }
            case 0x3c6 -> pelMask = value;
            case 0x3c7 -> {
                dacReadIndex = value;
                dacSub = 0;
                dacState = 3;
            }
            case 0x3c8 -> {
                dacWriteIndex = value;
                dacSub = 0;
                dacState = 0;
            }
            case 0x3c9 -> {
                int v = (vbe[VBE_ENABLE] & VBE_8BIT_DAC) != 0 ? value : value & 0x3f;
                dac[3 * dacWriteIndex + dacSub] = (byte) v;
                if (++dacSub == 3) {
                    dacSub = 0;
                    dacWriteIndex = (dacWriteIndex + 1) & 0xff;
                }
            }
            case 0x3ce -> gcIndex = value & 0x0f;
            case 0x3cf -> {
                if (gcIndex < GC_COUNT) {
                    gc[gcIndex] = value;
                }
            }
            case 0x3b4, 0x3d4 -> {
                if ((port == 0x3d4) == colour()) {
                    crtcIndex = value & 0x1f;
                }
            }
            case 0x3b5, 0x3d5 -> {
                if ((port == 0x3d5) != colour() || crtcIndex >= CRTC_COUNT) {
                    break;
                }
                // CR11 bit 7 protects CR00-CR07 (except CR07 bit 4, line compare bit 8)
                if ((crtc[0x11] & 0x80) != 0 && crtcIndex <= 7) {
                    if (crtcIndex == 7) {
                        crtc[7] = (crtc[7] & ~0x10) | (value & 0x10);
                    }
                    break;
                }
                crtc[crtcIndex] = value;
            }
            case 0x3ba, 0x3da -> {
                if ((port == 0x3da) == colour()) {
                    featureControl = value;
                }
            }
            default -> {
                return;
            }
        }
        generation++;
    }

    // ---- Bochs VBE dispi ----

    int vbeRead(int index) {
        if (index < 0 || index >= VBE_COUNT) {
            return 0;
        }
        if ((vbe[VBE_ENABLE] & VBE_GETCAPS) != 0) {
            switch (index) {
                case VBE_XRES:
                    return VBE_MAX_XRES;
                case VBE_YRES:
                    return VBE_MAX_YRES;
                case VBE_BPP:
                    return VBE_MAX_BPP;
                default:
                    break;
            }
        }
        return vbe[index];
    }

    /**
     * A write to a dispi register. Nonsense is clipped, never trusted: a mode that does not fit video
     * memory or has no supported depth is refused at enable (VBE stays off), offsets are clamped so
     * the visible picture stays inside video memory.
     */
    void vbeWrite(int index, int value) {
        value &= 0xffff;
        switch (index) {
            case VBE_ID -> {
                if (value >= VBE_ID0 && value <= VBE_ID5) {
                    vbe[VBE_ID] = value;
                }
            }
            case VBE_XRES, VBE_YRES, VBE_BPP -> {
                if (!vbeEnabled()) { // mode registers are written with VBE off, as Bochs requires
                    vbe[index] = value;
                }
            }
            case VBE_BANK -> vbe[VBE_BANK] = value & ((VgaMemory.SIZE >> 16) - 1);
            case VBE_ENABLE -> enable(value);
            case VBE_VIRT_WIDTH -> {
                vbe[VBE_VIRT_WIDTH] = value;
                recomputeVbe();
            }
            case VBE_X_OFFSET, VBE_Y_OFFSET -> {
                vbe[index] = value;
                recomputeVbe();
            }
            default -> {
                return; // VIRT_HEIGHT and VIDEO_MEMORY_64K are read-only
            }
        }
        generation++;
    }

    private void enable(int value) {
        boolean on = (value & VBE_ENABLED) != 0;
        if (on && !vbeEnabled()) {
            int bpp = vbe[VBE_BPP] == 0 ? 8 : vbe[VBE_BPP];
            int x = vbe[VBE_XRES], y = vbe[VBE_YRES];
            boolean depthOk = bpp == 8 || bpp == 15 || bpp == 16 || bpp == 24 || bpp == 32;
            long bytes = (long) x * y * bytesPerPixel(bpp);
            if (!depthOk || x == 0 || y == 0 || x > VBE_MAX_XRES || y > VBE_MAX_YRES || bytes > VgaMemory.SIZE) {
                vbe[VBE_ENABLE] = value & ~(VBE_ENABLED | VBE_LFB_ENABLED); // refused: stays off
                return;
            }
            vbe[VBE_BPP] = bpp;
            vbe[VBE_VIRT_WIDTH] = x;
            vbe[VBE_X_OFFSET] = 0;
            vbe[VBE_Y_OFFSET] = 0;
            vbe[VBE_BANK] = 0;
            vbe[VBE_ENABLE] = value;
            recomputeVbe();
            if ((value & VBE_NOCLEARMEM) == 0) {
                java.util.Arrays.fill(mem.vram, 0, (int) Math.min(VgaMemory.SIZE, (long) vbeLineBytes * y), (byte) 0);
            }
            // the legacy window becomes a 64 KiB bank at 0xA0000 in chain-4 graphics, as Bochs sets it
            gc[6] = (gc[6] & ~0x0c) | 0x05;
            gc[5] |= 0x40;
            seq[4] |= 0x08;
            mem.markAllDirty();
        } else {
            vbe[VBE_ENABLE] = on ? value : value & ~VBE_LFB_ENABLED;
            recomputeVbe();
        }
    }

    static int bytesPerPixel(int bpp) {
        return (bpp + 7) >> 3;
    }

    /** Line length, virtual height and start from the mode, virtual width and offsets, clamped. */
    void recomputeVbe() {
        int bpp = Math.max(8, vbe[VBE_BPP]);
        int bytes = bytesPerPixel(bpp);
        int virtWidth = Math.max(vbe[VBE_VIRT_WIDTH], vbe[VBE_XRES]);
        if ((long) virtWidth * bytes * Math.max(1, vbe[VBE_YRES]) > VgaMemory.SIZE) {
            virtWidth = vbe[VBE_XRES]; // a virtual width video memory cannot hold: back to the mode's
        }
        vbe[VBE_VIRT_WIDTH] = virtWidth;
        vbeLineBytes = Math.max(1, virtWidth * bytes);
        vbe[VBE_VIRT_HEIGHT] = Math.min(0xffff, VgaMemory.SIZE / vbeLineBytes);
        long start = (long) vbe[VBE_Y_OFFSET] * vbeLineBytes + (long) vbe[VBE_X_OFFSET] * bytes;
        long shown = (long) vbeLineBytes * vbe[VBE_YRES];
        if (start + shown > VgaMemory.SIZE) {
            start = 0; // offsets past the end of video memory: show from the start
            vbe[VBE_X_OFFSET] = 0;
            vbe[VBE_Y_OFFSET] = 0;
        }
        vbeStart = (int) start;
    }
}
