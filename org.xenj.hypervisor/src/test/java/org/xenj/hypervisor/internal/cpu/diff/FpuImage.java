package org.xenj.hypervisor.internal.cpu.diff;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Builds and reads 108-byte FSAVE/FRSTOR images (32-bit protected-mode layout). */
final class FpuImage {

    private FpuImage() {
    }

    /** The FNINIT state: CW 0x37F, all registers empty and zero. */
    static byte[] initial() {
        byte[] img = new byte[108];
        ByteBuffer b = le(img);
        b.putInt(0, 0xFFFF_037F);
        b.putInt(4, 0xFFFF_0000);
        b.putInt(8, 0xFFFF_FFFF);
        b.putInt(24, 0xFFFF_0000);
        return img;
    }

    static ByteBuffer le(byte[] img) {
        return ByteBuffer.wrap(img).order(ByteOrder.LITTLE_ENDIAN);
    }

    static int cw(byte[] img) {
        return le(img).getShort(0) & 0xffff;
    }

    static int sw(byte[] img) {
        return le(img).getShort(4) & 0xffff;
    }

    static int tw(byte[] img) {
        return le(img).getShort(8) & 0xffff;
    }

    static long sig(byte[] img, int i) {
        return le(img).getLong(28 + 10 * i);
    }

    static int se(byte[] img, int i) {
        return le(img).getShort(36 + 10 * i) & 0xffff;
    }

    /** Sets control word, TOP and tags; registers given in ST order. */
    static void set(byte[] img, int cw, int top, int tagWord, long[] sigs, int[] ses) {
        ByteBuffer b = le(img);
        b.putInt(0, 0xFFFF_0000 | cw);
        b.putInt(4, 0xFFFF_0000 | (top & 7) << 11);
        b.putInt(8, 0xFFFF_0000 | tagWord);
        for (int i = 0; i < 8; i++) {
            b.putLong(28 + 10 * i, sigs[i]);
            b.putShort(36 + 10 * i, (short) ses[i]);
        }
    }

    static String describe(byte[] img) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("cw=%04x sw=%04x tw=%04x fip=%08x fop=%03x fdp=%08x", cw(img), sw(img), tw(img),
                le(img).getInt(12), le(img).getShort(18) & 0x7ff, le(img).getInt(20)));
        for (int i = 0; i < 8; i++) {
            sb.append(String.format(" st%d=%04x:%016x", i, se(img, i), sig(img, i)));
        }
        return sb.toString();
    }
}
