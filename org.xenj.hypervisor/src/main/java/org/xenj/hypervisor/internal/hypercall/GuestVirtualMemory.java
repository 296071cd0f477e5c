package org.xenj.hypervisor.internal.hypercall;

/**
 * The narrow view through which hypercalls read and write guest memory at the addresses the
 * guest passed: virtual addresses translated through the guest's page tables for PV, guest-physical
 * addresses for HVM. Every method throws {@link GuestFault} for an address the guest may not use;
 * multi-byte accesses check the whole range before touching anything, so a fault changes nothing.
 */
public interface GuestVirtualMemory {

    /** Throws {@link GuestFault} unless {@code [va, va+len)} is readable. */
    void checkReadable(int va, int len);

    /** Throws {@link GuestFault} unless {@code [va, va+len)} is writable. */
    void checkWritable(int va, int len);

    int read8(int va);

    int read16(int va);

    int read32(int va);

    long read64(int va);

    void write8(int va, int value);

    void write16(int va, int value);

    void write32(int va, int value);

    void write64(int va, long value);

    void read(int va, byte[] dst, int off, int len);

    void write(int va, byte[] src, int off, int len);

    /** Reads a NUL-terminated string of at most {@code max} bytes (fault if no NUL within). */
    default String readCString(int va, int max) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < max; i++) {
            int c = read8(va + i);
            if (c == 0) {
                return sb.toString();
            }
            sb.append((char) c);
        }
        throw GuestFault.INSTANCE;
    }
}
