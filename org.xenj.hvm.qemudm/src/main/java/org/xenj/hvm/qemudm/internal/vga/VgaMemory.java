package org.xenj.hvm.qemudm.internal.vga;

/**
 * The VGA's video memory and the legacy window's access logic. Memory is kept as QEMU's VGA keeps
 * it: byte {@code 4 * o + p} is offset {@code o} of plane {@code p}, so that chain-4 (mode 13h) and
 * the linear framebuffer address it directly, and a text cell {@code i} is character (plane 0) and
 * attribute (plane 1) at {@code 4 * i}. Every write marks its 4 KiB page dirty for the renderer.
 * Called on vCPU threads; nothing here allocates.
 */
final class VgaMemory {

    static final int SIZE = 16 << 20;
    static final int PAGE_SHIFT = 12;

    final byte[] vram = new byte[SIZE];
    /** Per 4 KiB page of {@link #vram}: written since the renderer last looked (1), or not (0). */
    final byte[] dirty = new byte[SIZE >>> PAGE_SHIFT];
    /** The four latches, plane 0 in the low byte. */
    int latch;
    /**
     * No byte at or above this offset was written since the memory was made or restored: all zero
     * there. A state record ends at the last non-zero byte, and finding it by scanning down from
     * 16 MiB cost milliseconds in the pause of a live migration (tens in a JVM that had not run it yet)
     * for a guest that only ever used the text mode's first 200 KB.
     */
    int top;

    void markDirty(int offset) {
        dirty[offset >>> PAGE_SHIFT] = 1;
    }

    void markAllDirty() {
        java.util.Arrays.fill(dirty, (byte) 1);
    }

    void writeLinear(int offset, int size, long value) {
        if (offset < 0 || offset > SIZE - size) {
            return; // past the end of video memory: dropped (the LFB BAR is exactly SIZE, the bank window can point past)
        }
        for (int i = 0; i < size; i++) {
            vram[offset + i] = (byte) (value >>> (8 * i));
        }
        if (offset + size > top) {
            top = offset + size;
        }
        dirty[offset >>> PAGE_SHIFT] = 1;
        dirty[(offset + size - 1) >>> PAGE_SHIFT] = 1;
    }

    long readLinear(int offset, int size) {
        if (offset < 0 || offset > SIZE - size) {
            return size == 8 ? -1L : (1L << (8 * size)) - 1;
        }
        long v = 0;
        for (int i = size - 1; i >= 0; i--) {
            v = v << 8 | (vram[offset + i] & 0xff);
        }
        return v;
    }

    /**
     * A byte read through the legacy window at plane address {@code addr} (already mapped through the
     * graphics controller's memory map), with the modes of {@code r}.
     */
    int read(VgaRegisters r, int addr) {
        if ((r.seq[4] & 0x08) != 0) { // chain 4
            return vram[addr & (SIZE - 1)] & 0xff;
        }
        if ((r.gc[5] & 0x10) != 0) { // odd/even
            int plane = (r.gc[4] & 2) | (addr & 1);
            return vram[((addr >>> 1 << 2) | plane) & (SIZE - 1)] & 0xff;
        }
        int base = (addr << 2) & (SIZE - 1);
        latch = (vram[base] & 0xff) | (vram[base + 1] & 0xff) << 8 | (vram[base + 2] & 0xff) << 16
                | (vram[base + 3] & 0xff) << 24;
        if ((r.gc[5] & 0x08) == 0) { // read mode 0: the selected plane
            return latch >>> (8 * (r.gc[4] & 3)) & 0xff;
        }
        // read mode 1: colour compare; a bit is 1 where every plane that "cares" matches its colour
        int result = 0xff;
        for (int p = 0; p < 4; p++) {
            if ((r.gc[7] >>> p & 1) != 0) {
                int want = (r.gc[2] >>> p & 1) != 0 ? 0xff : 0;
                result &= ~((latch >>> (8 * p) & 0xff) ^ want);
            }
        }
        return result & 0xff;
    }

    void write(VgaRegisters r, int addr, int value) {
        value &= 0xff;
        int mapMask = r.seq[2] & 0x0f;
        if ((r.seq[4] & 0x08) != 0) { // chain 4: plane = address bits 0-1, offset = address
            if ((mapMask >>> (addr & 3) & 1) != 0) {
                int off = addr & (SIZE - 1);
                vram[off] = (byte) value;
                dirty[off >>> PAGE_SHIFT] = 1;
                raiseTop(off + 1);
            }
            return;
        }
        if ((r.seq[4] & 0x04) == 0) { // odd/even: even addresses plane 0/2, odd plane 1/3
            int plane = (r.gc[4] & 2) | (addr & 1);
            if ((mapMask >>> plane & 1) != 0) {
                int off = ((addr >>> 1 << 2) | plane) & (SIZE - 1);
                vram[off] = (byte) value;
                dirty[off >>> PAGE_SHIFT] = 1;
                raiseTop(off + 1);
            }
            return;
        }
        int planes = planarWrite(r, value);
        int base = (addr << 2) & (SIZE - 1);
        for (int p = 0; p < 4; p++) {
            if ((mapMask >>> p & 1) != 0) {
                vram[base + p] = (byte) (planes >>> (8 * p));
            }
        }
        dirty[base >>> PAGE_SHIFT] = 1;
        raiseTop(base + 4);
    }

    private void raiseTop(int end) {
        if (end > top) {
            top = end;
        }
    }

    /** The four plane bytes a planar write of {@code value} produces under write modes 0-3. */
    private int planarWrite(VgaRegisters r, int value) {
        int mode = r.gc[5] & 3;
        if (mode == 1) {
            return latch; // the latches, as read last
        }
        int rotate = r.gc[3] & 7;
        int rotated = ((value >>> rotate) | (value << (8 - rotate))) & 0xff;
        int bitMask = r.gc[8] & 0xff;
        int planes;
        switch (mode) {
            case 0 -> {
                planes = expand(rotated);
                int enable = expandBits(r.gc[1] & 0x0f);
                planes = (planes & ~enable) | (expandBits(r.gc[0] & 0x0f) & enable);
            }
            case 2 -> planes = expandBits(value & 0x0f);
            default -> { // 3: set/reset colour through (rotated value AND bit mask)
                bitMask &= rotated;
                planes = expandBits(r.gc[0] & 0x0f);
            }
        }
        switch (r.gc[3] >>> 3 & 3) {
            case 1 -> planes &= latch;
            case 2 -> planes |= latch;
            case 3 -> planes ^= latch;
            default -> {
            }
        }
        int mask = expand(bitMask);
        return (planes & mask) | (latch & ~mask);
    }

    /** The byte in all four planes. */
    private static int expand(int b) {
        return b * 0x01010101;
    }

    /** Plane p all ones where bit p of {@code bits} is set. */
    private static int expandBits(int bits) {
        int v = 0;
        for (int p = 0; p < 4; p++) {
            if ((bits >>> p & 1) != 0) {
                v |= 0xff << (8 * p);
            }
        }
        return v;
    }
}
