package org.xenj.hypervisor.internal.builder;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * struct boot_params (the "zero page") for the 32-bit boot protocol: the kernel's setup header
 * copied to offset 0x1F1 and the loader's fields filled in. Offsets from the boot protocol's
 * zero-page description.
 */
final class ZeroPage {

    static final int SIZE = 4096;
    static final int ALT_MEM_K = 0x1e0;
    static final int E820_ENTRIES = 0x1e8;
    static final int TYPE_OF_LOADER = 0x210;
    static final int LOADFLAGS = 0x211;
    static final int RAMDISK_IMAGE = 0x218;
    static final int RAMDISK_SIZE = 0x21c;
    static final int HEAP_END_PTR = 0x224;
    static final int CMD_LINE_PTR = 0x228;
    static final int VID_MODE = 0x1fa;
    static final int E820_TABLE = 0x2d0;

    static final int LOADED_HIGH = 0x01;
    static final int CAN_USE_HEAP = 0x80;
    /** "Undefined" boot loader id: we are not one of the registered loaders. */
    static final int LOADER_UNDEFINED = 0xff;
    /** Top of the real-mode heap, relative to the setup code, as the protocol suggests (0xE000 - 0x200). */
    static final int HEAP_END = 0xde00;

    private final ByteBuffer page = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);

    ZeroPage(BzImage kernel) {
        page.put(BzImage.SETUP_HEADER_OFFSET, kernel.setupHeader());
        page.put(TYPE_OF_LOADER, (byte) LOADER_UNDEFINED);
        page.put(LOADFLAGS, (byte) (kernel.loadFlags() | LOADED_HIGH | CAN_USE_HEAP));
        page.putShort(HEAP_END_PTR, (short) HEAP_END);
        page.putShort(VID_MODE, (short) 0xffff); // "normal" text mode; no video probing happens anyway
    }

    void commandLine(long address) {
        page.putInt(CMD_LINE_PTR, (int) address);
    }

    void ramdisk(long address, long size) {
        page.putInt(RAMDISK_IMAGE, (int) address);
        page.putInt(RAMDISK_SIZE, (int) size);
    }

    void memoryMap(E820Map map) {
        int n = 0;
        for (E820Map.Entry e : map.entries()) {
            if (n == E820Map.MAX_ENTRIES) {
                break;
            }
            int at = E820_TABLE + n * 20;
            page.putLong(at, e.address());
            page.putLong(at + 8, e.size());
            page.putInt(at + 16, e.type());
            n++;
        }
        page.put(E820_ENTRIES, (byte) n);
        long extendedKb = Math.max(0, (map.ramTop() - 0x100000) >> 10);
        page.putInt(ALT_MEM_K, (int) Math.min(extendedKb, 0xffffffffL));
    }

    byte[] bytes() {
        return page.array().clone();
    }
}
