package org.xenj.hypervisor.spi;

import org.osgi.annotation.versioning.ProviderType;

/**
 * A domain's guest-physical RAM, for DMA by devices and backends. Addresses outside the domain's
 * RAM throw {@link IndexOutOfBoundsException}; a device turns that into its own error status.
 */
@ProviderType
public interface GuestMemory {

    /** Bytes of guest RAM below and above the PCI hole together. */
    long size();

    boolean isRam(long gpa, int length);

    void read(long gpa, byte[] dst, int off, int len);

    void write(long gpa, byte[] src, int off, int len);

    int read8(long gpa);

    int read16(long gpa);

    int read32(long gpa);

    void write8(long gpa, int value);

    void write16(long gpa, int value);

    void write32(long gpa, int value);
}
