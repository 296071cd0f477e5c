package org.xenj.hypervisor.spi.backend;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A granted page for ring tests: plain bytes, the frontend's side written directly. Every access
 * the ring makes is bounds-checked here, and counted, so a test sees a ring that reads outside
 * the page or loops.
 */
final class ArrayPage implements GrantMapping {

    final ByteBuffer bytes = ByteBuffer.allocate(PAGE_SIZE).order(ByteOrder.LITTLE_ENDIAN);
    final boolean writable;
    long accesses;

    ArrayPage(boolean writable) {
        this.writable = writable;
    }

    private void check(int offset, int len) {
        accesses++;
        if (offset < 0 || len < 0 || offset + len > PAGE_SIZE) {
            throw new AssertionError("ring accessed " + len + " bytes at " + offset + ", outside the page");
        }
    }

    // the frontend's view
    int get(int offset) {
        return bytes.getInt(offset);
    }

    void put(int offset, int value) {
        bytes.putInt(offset, value);
    }

    @Override
    public int ref() {
        return 1;
    }

    @Override
    public boolean writable() {
        return writable;
    }

    @Override
    public boolean live() {
        return true;
    }

    @Override
    public int read8(int offset) {
        check(offset, 1);
        return bytes.get(offset) & 0xff;
    }

    @Override
    public int read16(int offset) {
        check(offset, 2);
        return bytes.getShort(offset) & 0xffff;
    }

    @Override
    public int read32(int offset) {
        check(offset, 4);
        return bytes.getInt(offset);
    }

    @Override
    public void write8(int offset, int value) {
        check(offset, 1);
        bytes.put(offset, (byte) value);
    }

    @Override
    public void write16(int offset, int value) {
        check(offset, 2);
        bytes.putShort(offset, (short) value);
    }

    @Override
    public void write32(int offset, int value) {
        check(offset, 4);
        bytes.putInt(offset, value);
    }

    @Override
    public void read(int offset, byte[] dst, int dstOff, int len) {
        check(offset, len);
        bytes.get(offset, dst, dstOff, len);
    }

    @Override
    public void write(int offset, byte[] src, int srcOff, int len) {
        check(offset, len);
        bytes.put(offset, src, srcOff, len);
    }

    @Override
    public void unmap() {
    }
}
