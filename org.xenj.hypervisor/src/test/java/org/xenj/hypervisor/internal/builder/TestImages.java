package org.xenj.hypervisor.internal.builder;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Synthetic bzImages with just the setup header fields the loader reads. */
final class TestImages {

    static final int SETUP_SECTS = 4;

    private TestImages() {
    }

    static byte[] bzImage(int protocol, int pmBytes, long initrdMax, int cmdlineSize) {
        byte[] img = new byte[(SETUP_SECTS + 1) * 512 + pmBytes];
        ByteBuffer b = ByteBuffer.wrap(img).order(ByteOrder.LITTLE_ENDIAN);
        img[0x1f1] = SETUP_SECTS;
        b.putShort(0x1fe, (short) 0xaa55);
        img[0x200] = (byte) 0xeb;
        img[0x201] = 0x66; // header ends at 0x268
        b.putInt(0x202, 0x53726448);
        b.putShort(0x206, (short) protocol);
        img[0x211] = 0x01; // LOADED_HIGH
        b.putInt(0x214, 0x100000);
        b.putInt(0x22c, (int) initrdMax);
        b.putInt(0x230, 0x1000000);
        b.putInt(0x238, cmdlineSize);
        b.putLong(0x258, 0x1000000);
        b.putInt(0x260, 0x200000);
        for (int i = 0; i < pmBytes; i++) {
            img[(SETUP_SECTS + 1) * 512 + i] = (byte) (i * 7 + 1);
        }
        return img;
    }

    static byte[] defaultImage() {
        return bzImage(0x020f, 8192, 0x7fffffffL, 2047);
    }
}
