package org.xenj.hvm.qemudm.internal.pci;

/**
 * One PCI function's 256-byte configuration space with a per-byte write mask, so that a device
 * is described by its power-on bytes and which of them the guest may change.
 */
public class PciFunction {

    private final String name;
    final byte[] config = new byte[256];
    final byte[] writable = new byte[256];
    private final byte[] powerOn = new byte[256];

    public PciFunction(String name, int vendor, int device, int classCode, int revision, int headerType) {
        this.name = name;
        put16(0x00, vendor);
        put16(0x02, device);
        config[0x08] = (byte) revision;
        config[0x09] = (byte) classCode;
        config[0x0a] = (byte) (classCode >> 8);
        config[0x0b] = (byte) (classCode >> 16);
        config[0x0e] = (byte) headerType;
    }

    public String name() {
        return name;
    }

    final void put16(int offset, int value) {
        config[offset] = (byte) value;
        config[offset + 1] = (byte) (value >> 8);
    }

    /** Marks {@code [offset, offset+len)} writable under {@code mask} (per byte). */
    final void allowWrite(int offset, int len, int mask) {
        for (int i = 0; i < len; i++) {
            writable[offset + i] = (byte) mask;
        }
    }

    /** Freezes the current bytes as the power-on state for {@link #reset}. */
    final void sealPowerOn() {
        System.arraycopy(config, 0, powerOn, 0, 256);
    }

    public synchronized void reset() {
        System.arraycopy(powerOn, 0, config, 0, 256);
    }

    public synchronized int read(int offset, int size) {
        int v = 0;
        for (int i = 0; i < size && offset + i < 256; i++) {
            v |= (config[offset + i] & 0xff) << (8 * i);
        }
        return v;
    }

    public synchronized void write(int offset, int size, int value) {
        for (int i = 0; i < size && offset + i < 256; i++) {
            int at = offset + i;
            int mask = writable[at] & 0xff;
            int b = value >>> (8 * i) & 0xff;
            config[at] = (byte) ((config[at] & ~mask) | (b & mask));
        }
    }
}
