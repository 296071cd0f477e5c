package org.xenj.hypervisor.internal.mem;

/**
 * What a PV guest may put in its GDT/LDT (after Xen's check_descriptor, simplified for a 32-bit
 * guest): non-present entries pass; code/data segments pass with a DPL of 0 raised to 1 (the
 * kernel runs in ring 1, ring 0 is the hypervisor's); system descriptors (TSS, LDT, gates) are
 * refused.
 */
public final class Descriptors {

    /** Marker for a refused descriptor (not a valid 64-bit descriptor value we ever return). */
    public static final long INVALID = 0xFFFF_FFFF_FFFF_FFFFL;

    private Descriptors() {
    }

    public static long check(long d) {
        if (d == INVALID) {
            return INVALID;
        }
        int hi = (int) (d >>> 32);
        boolean present = (hi & (1 << 15)) != 0;
        if (!present) {
            return d;
        }
        boolean codeOrData = (hi & (1 << 12)) != 0;
        if (!codeOrData) {
            return INVALID;
        }
        int dpl = hi >>> 13 & 3;
        if (dpl == 0) {
            hi |= 1 << 13;
        }
        return (long) hi << 32 | d & 0xffffffffL;
    }
}
