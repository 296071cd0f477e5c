package org.xenj.hvm.qemudm.internal.pci;

import java.util.List;

import org.xenj.hypervisor.spi.pci.PciBar;
import org.xenj.hypervisor.spi.pci.PciDevice;
import org.xenj.hypervisor.spi.pci.PciIdentity;

/**
 * A PCI function's device-specific registers (0x40-0xff) with a per-byte write mask, so that a
 * device is described by its power-on bytes and which of them the guest may change. The standard
 * header is the platform's.
 */
public abstract class PciFunction implements PciDevice {

    private final String name;
    private final PciIdentity identity;
    final byte[] config = new byte[256];
    final byte[] writable = new byte[256];
    private final byte[] powerOn = new byte[256];

    protected PciFunction(String name, PciIdentity identity) {
        this.name = name;
        this.identity = identity;
    }

    public String name() {
        return name;
    }

    @Override
    public PciIdentity identity() {
        return identity;
    }

    @Override
    public List<PciBar> bars() {
        return List.of();
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

    @Override
    public synchronized void reset() {
        System.arraycopy(powerOn, 0, config, 0, 256);
    }

    @Override
    public synchronized int configRead(int offset, int size) {
        int v = 0;
        for (int i = 0; i < size && offset + i < 256; i++) {
            v |= (config[offset + i] & 0xff) << (8 * i);
        }
        return v;
    }

    @Override
    public void configWrite(int offset, int size, int value) {
        synchronized (this) {
            for (int i = 0; i < size && offset + i < 256; i++) {
                int at = offset + i;
                int mask = writable[at] & 0xff;
                int b = value >>> (8 * i) & 0xff;
                config[at] = (byte) ((config[at] & ~mask) | (b & mask));
            }
        }
        written(offset, size);
    }

    /** The device-specific registers (0x40-0xff) as the guest left them: this function's state record. */
    public synchronized byte[] saveConfig() {
        return java.util.Arrays.copyOfRange(config, 0x40, 0x100);
    }

    /** Puts back what {@link #saveConfig} took; registers with side effects act as after a write. */
    public void restoreConfig(byte[] deviceSpecific) {
        if (deviceSpecific.length != 0xc0) {
            throw new IllegalArgumentException(name + ": device-specific configuration must be 192 bytes");
        }
        synchronized (this) {
            System.arraycopy(deviceSpecific, 0, config, 0x40, 0xc0);
        }
        written(0x40, 0xc0);
    }

    /** Hook after a guest write landed (outside the lock): registers with side effects act here. */
    void written(int offset, int size) {
    }

    @Override
    public String toString() {
        return name;
    }
}
