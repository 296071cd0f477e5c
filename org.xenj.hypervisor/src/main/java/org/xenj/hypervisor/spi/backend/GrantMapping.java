package org.xenj.hypervisor.spi.backend;

import org.osgi.annotation.versioning.ProviderType;

/**
 * One page the frontend granted to Domain 0, mapped. Offsets are within the page (0..4095);
 * multi-byte values are little-endian and must be naturally aligned. Every access checks that
 * the mapping is still live (a dying frontend's grants are revoked) and, for writes, that it was
 * mapped writable; a refused access throws {@link BackendException} and touches nothing.
 */
@ProviderType
public interface GrantMapping {

    int PAGE_SIZE = 4096;

    /** The frontend's grant reference. */
    int ref();

    boolean writable();

    /** False once unmapped or revoked. */
    boolean live();

    int read8(int offset);

    int read16(int offset);

    int read32(int offset);

    void write8(int offset, int value);

    void write16(int offset, int value);

    void write32(int offset, int value);

    /** Copies {@code len} bytes of the page from {@code offset} into {@code dst}. */
    void read(int offset, byte[] dst, int dstOff, int len);

    /** Copies {@code len} bytes of {@code src} into the page at {@code offset}. */
    void write(int offset, byte[] src, int srcOff, int len);

    /** Unmaps the page (GNTTABOP_unmap_grant_ref). Idempotent. */
    void unmap();
}
