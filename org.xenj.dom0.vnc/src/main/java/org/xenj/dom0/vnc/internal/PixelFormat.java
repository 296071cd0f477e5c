package org.xenj.dom0.vnc.internal;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;

/**
 * An RFB pixel format. Only true-colour formats of 8, 16 or 32 bits per pixel are served; a client
 * asking for a colour map is dropped with a message (no current client needs one).
 */
record PixelFormat(int bitsPerPixel, int depth, boolean bigEndian, boolean trueColour, int redMax, int greenMax,
        int blueMax, int redShift, int greenShift, int blueShift) {

    /** What the server offers: 32 bpp, depth 24, little endian, 0x00RRGGBB. */
    static final PixelFormat DEFAULT = new PixelFormat(32, 24, false, true, 255, 255, 255, 16, 8, 0);

    static PixelFormat read(DataInputStream in) throws IOException {
        int bpp = in.readUnsignedByte(), depth = in.readUnsignedByte();
        boolean big = in.readUnsignedByte() != 0, tc = in.readUnsignedByte() != 0;
        int rm = in.readUnsignedShort(), gm = in.readUnsignedShort(), bm = in.readUnsignedShort();
        int rs = in.readUnsignedByte(), gs = in.readUnsignedByte(), bs = in.readUnsignedByte();
        in.readFully(new byte[3]);
        return new PixelFormat(bpp, depth, big, tc, rm, gm, bm, rs, gs, bs);
    }

    /** Why this format cannot be served, or null. */
    String problem() {
        if (bitsPerPixel != 8 && bitsPerPixel != 16 && bitsPerPixel != 32) {
            return "bits per pixel " + bitsPerPixel + " (8, 16 or 32 only)";
        }
        if (!trueColour) {
            return "a colour-map pixel format (true colour only)";
        }
        for (int max : new int[] { redMax, greenMax, blueMax }) {
            if (max == 0 || Integer.bitCount(max + 1) != 1) {
                return "a colour maximum of " + max + " (2^n - 1 only)";
            }
        }
        if (redShift >= bitsPerPixel || greenShift >= bitsPerPixel || blueShift >= bitsPerPixel) {
            return "a colour shift past the pixel";
        }
        return null;
    }

    void write(DataOutputStream out) throws IOException {
        out.writeByte(bitsPerPixel);
        out.writeByte(depth);
        out.writeByte(bigEndian ? 1 : 0);
        out.writeByte(trueColour ? 1 : 0);
        out.writeShort(redMax);
        out.writeShort(greenMax);
        out.writeShort(blueMax);
        out.writeByte(redShift);
        out.writeByte(greenShift);
        out.writeByte(blueShift);
        out.write(new byte[3]);
    }

    int bytesPerPixel() {
        return bitsPerPixel / 8;
    }

    /** {@code 0x00RRGGBB} as this format's pixel value. */
    int convert(int rgb) {
        int r = (rgb >>> 16 & 0xff) * redMax / 255, g = (rgb >>> 8 & 0xff) * greenMax / 255, b = (rgb & 0xff) * blueMax / 255;
        return r << redShift | g << greenShift | b << blueShift;
    }

    /**
     * ZRLE's compressed pixel: 3 bytes when a 32-bit true-colour pixel of depth 24 or less fits in
     * its least (or most) significant three bytes; the full pixel otherwise.
     */
    int cpixelBytes() {
        if (bitsPerPixel == 32 && depth <= 24 && fitsLow3()) {
            return 3;
        }
        if (bitsPerPixel == 32 && depth <= 24 && fitsHigh3()) {
            return 3;
        }
        return bytesPerPixel();
    }

    boolean fitsLow3() {
        long all = (long) redMax << redShift | (long) greenMax << greenShift | (long) blueMax << blueShift;
        return (all & 0xff000000L) == 0;
    }

    boolean fitsHigh3() {
        long all = (long) redMax << redShift | (long) greenMax << greenShift | (long) blueMax << blueShift;
        return (all & 0xffL) == 0;
    }

    /** Writes pixel {@code p} (already converted) as {@code n} bytes in the client's byte order, ZRLE's cpixel rules for 3. */
    void put(byte[] buf, int at, int p, int n) {
        if (n == 3) {
            int v = fitsLow3() ? p : p >>> 8;
            if (bigEndian) {
                buf[at] = (byte) (v >>> 16);
                buf[at + 1] = (byte) (v >>> 8);
                buf[at + 2] = (byte) v;
            } else {
                buf[at] = (byte) v;
                buf[at + 1] = (byte) (v >>> 8);
                buf[at + 2] = (byte) (v >>> 16);
            }
            return;
        }
        for (int i = 0; i < n; i++) {
            int shift = bigEndian ? 8 * (n - 1 - i) : 8 * i;
            buf[at + i] = (byte) (p >>> shift);
        }
    }
}
