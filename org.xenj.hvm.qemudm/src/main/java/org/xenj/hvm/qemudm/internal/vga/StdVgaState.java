package org.xenj.hvm.qemudm.internal.vga;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Arrays;

/**
 * The stdvga's guest-visible state ("XJVG" version 1): every VGA register with the index and
 * flip-flop state of the port protocols, the DAC, the latches, the VBE registers and video memory up
 * to its last non-zero byte. {@link #fromBytes} refuses another version or a damaged record.
 */
public record StdVgaState(int[] scalars, int[] seq, int[] crtc, int[] gc, int[] ac, byte[] dac, int[] vbe, byte[] vram) {

    /** "XJVG". */
    public static final int MAGIC = 0x584a5647;
    public static final int VERSION = 1;
    /** misc, seqIndex, crtcIndex, gcIndex, acIndex, acFlipFlop, dacReadIndex, dacWriteIndex, dacSub, pelMask, dacState, featureControl, latch, vbeIndex. */
    static final int SCALARS = 14;

    public StdVgaState {
        if (scalars.length != SCALARS || seq.length != VgaRegisters.SEQ_COUNT || crtc.length != VgaRegisters.CRTC_COUNT
                || gc.length != VgaRegisters.GC_COUNT || ac.length != VgaRegisters.AC_COUNT || dac.length != 768
                || vbe.length != VgaRegisters.VBE_COUNT || vram.length > VgaMemory.SIZE) {
            throw new IllegalArgumentException("stdvga state has the wrong shape");
        }
    }

    static StdVgaState of(VgaRegisters r, VgaMemory m) {
        int[] s = { r.misc, r.seqIndex, r.crtcIndex, r.gcIndex, r.acIndex, r.acFlipFlop ? 1 : 0, r.dacReadIndex,
                r.dacWriteIndex, r.dacSub, r.pelMask, r.dacState, r.featureControl, m.latch, r.vbeIndex };
        int used = Math.min(m.top, m.vram.length); // above top it is all zero
        while (used > 0 && m.vram[used - 1] == 0) {
            used--;
        }
        return new StdVgaState(s, r.seq.clone(), r.crtc.clone(), r.gc.clone(), r.ac.clone(), r.dac.clone(), r.vbe.clone(),
                Arrays.copyOf(m.vram, used));
    }

    /** Puts this state into the device, masking every value to its register's width. */
    void applyTo(VgaRegisters r, VgaMemory m) {
        r.misc = scalars[0] & 0xff;
        r.seqIndex = scalars[1] & 0x07;
        r.crtcIndex = scalars[2] & 0x1f;
        r.gcIndex = scalars[3] & 0x0f;
        r.acIndex = scalars[4] & 0x3f;
        r.acFlipFlop = scalars[5] != 0;
        r.dacReadIndex = scalars[6] & 0xff;
        r.dacWriteIndex = scalars[7] & 0xff;
        r.dacSub = Math.floorMod(scalars[8], 3);
        r.pelMask = scalars[9] & 0xff;
        r.dacState = scalars[10] & 3;
        r.featureControl = scalars[11] & 0xff;
        m.latch = scalars[12];
        r.vbeIndex = scalars[13] & 0xffff;
        mask(seq, r.seq);
        mask(crtc, r.crtc);
        mask(gc, r.gc);
        mask(ac, r.ac);
        System.arraycopy(dac, 0, r.dac, 0, 768);
        for (int i = 0; i < vbe.length; i++) {
            r.vbe[i] = vbe[i] & 0xffff;
        }
        r.vbe[VgaRegisters.VBE_BANK] &= (VgaMemory.SIZE >> 16) - 1;
        r.vbe[VgaRegisters.VBE_VIDEO_MEMORY_64K] = VgaMemory.SIZE >> 16;
        int bpp = r.vbe[VgaRegisters.VBE_BPP];
        long bytes = (long) r.vbe[VgaRegisters.VBE_XRES] * r.vbe[VgaRegisters.VBE_YRES] * VgaRegisters.bytesPerPixel(bpp);
        if (r.vbe[VgaRegisters.VBE_XRES] > VgaRegisters.VBE_MAX_XRES || r.vbe[VgaRegisters.VBE_YRES] > VgaRegisters.VBE_MAX_YRES
                || bytes > VgaMemory.SIZE || !(bpp == 8 || bpp == 15 || bpp == 16 || bpp == 24 || bpp == 32)) {
            r.vbe[VgaRegisters.VBE_ENABLE] &= ~VgaRegisters.VBE_ENABLED; // a record no guest could have made
        }
        r.recomputeVbe();
        System.arraycopy(vram, 0, m.vram, 0, vram.length);
        // above the record's end only what was ever written can be non-zero (a fresh instance's
        // 16 MiB need no second clearing in a migration's pause)
        if (m.top > vram.length) {
            Arrays.fill(m.vram, vram.length, Math.min(m.top, VgaMemory.SIZE), (byte) 0);
        }
        m.top = vram.length;
    }

    private static void mask(int[] from, int[] to) {
        for (int i = 0; i < from.length; i++) {
            to[i] = from[i] & 0xff;
        }
    }

    public byte[] toBytes() {
        ByteArrayOutputStream b = new ByteArrayOutputStream(2048 + vram.length);
        try (DataOutputStream out = new DataOutputStream(b)) {
            out.writeInt(MAGIC);
            out.writeInt(VERSION);
            for (int[] a : new int[][] { scalars, seq, crtc, gc, ac, vbe }) {
                for (int v : a) {
                    out.writeInt(v);
                }
            }
            out.write(dac);
            out.writeInt(vram.length);
            out.write(vram);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return b.toByteArray();
    }

    public static StdVgaState fromBytes(byte[] bytes) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
        try {
            if (in.readInt() != MAGIC) {
                throw new IOException("not a stdvga state record");
            }
            int version = in.readInt();
            if (version != VERSION) {
                throw new IOException("stdvga state version " + version + " is not supported (this qemu-dm reads " + VERSION + ")");
            }
            int[][] arrays = { new int[SCALARS], new int[VgaRegisters.SEQ_COUNT], new int[VgaRegisters.CRTC_COUNT],
                    new int[VgaRegisters.GC_COUNT], new int[VgaRegisters.AC_COUNT], new int[VgaRegisters.VBE_COUNT] };
            for (int[] a : arrays) {
                for (int i = 0; i < a.length; i++) {
                    a[i] = in.readInt();
                }
            }
            byte[] dac = in.readNBytes(768);
            int n = in.readInt();
            if (dac.length != 768 || n < 0 || n > VgaMemory.SIZE || n > bytes.length) {
                throw new IOException("stdvga state record is damaged");
            }
            byte[] vram = in.readNBytes(n);
            if (vram.length != n || in.read() != -1) {
                throw new IOException("stdvga state record has the wrong length");
            }
            return new StdVgaState(arrays[0], arrays[1], arrays[2], arrays[3], arrays[4], dac, arrays[5], vram);
        } catch (java.io.EOFException e) {
            throw new IOException("stdvga state record is cut short", e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof StdVgaState s && Arrays.equals(toBytes(), s.toBytes());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(toBytes());
    }
}
