package org.xenj.hypervisor.internal.platform;

import java.util.Arrays;
import java.util.function.Consumer;

import org.xenj.hypervisor.internal.exec.MmioRange;
import org.xenj.hypervisor.spi.MmioHandler;

/**
 * Guest-physical ranges claimed by devices. Few ranges, so a copy-on-write array scanned linearly
 * on a TLB miss; the CPU caches a page's range in its TLB entry ({@link MmioRange}), so repeated
 * accesses do not scan. Unclaimed reads return all
 * ones, writes are dropped; a throwing handler is logged and treated as absent.
 */
public final class MmioBus {

    private volatile MmioRange[] ranges = new MmioRange[0];
    private final Consumer<String> log;

    public MmioBus(Consumer<String> log) {
        this.log = log;
    }

    public synchronized void map(long base, long size, MmioHandler handler) {
        if (base < 0 || size <= 0 || base + size > (1L << 36)) {
            throw new IllegalArgumentException("bad MMIO range 0x" + Long.toHexString(base) + "+0x" + Long.toHexString(size));
        }
        for (MmioRange r : ranges) {
            if (base < r.base + r.size && r.base < base + size) {
                throw new IllegalStateException("MMIO range 0x" + Long.toHexString(base) + " overlaps a device at 0x"
                        + Long.toHexString(r.base));
            }
        }
        MmioRange[] copy = Arrays.copyOf(ranges, ranges.length + 1);
        copy[copy.length - 1] = new MmioRange(handler, base, size);
        ranges = copy;
    }

    /** Removes the range; CPUs that cached it in their TLBs drop it on its next use. */
    public synchronized void unmap(long base, long size) {
        for (MmioRange r : ranges) {
            if (r.base == base && r.size == size) {
                r.retire();
            }
        }
        ranges = Arrays.stream(ranges).filter(MmioRange::live).toArray(MmioRange[]::new);
    }

    /** The range covering all of {@code gpa}'s page, or null: what a TLB entry may cache (a TLB miss, not the access path). */
    public MmioRange rangeCoveringPage(long gpa) {
        long page = gpa & ~0xfffL;
        for (MmioRange r : ranges) {
            if (r.contains(gpa)) {
                return r.coversPage(page) ? r : null;
            }
        }
        return null;
    }

    /** An access through a range a TLB cached: the same guarantees as {@link #read}. */
    public long read(MmioRange r, long offset, int size) {
        try {
            return r.handler.mmioRead(offset, size) & ones(size);
        } catch (RuntimeException e) {
            log.accept("MMIO read 0x" + Long.toHexString(r.base + offset) + " failed in device: " + e);
            return ones(size);
        }
    }

    public void write(MmioRange r, long offset, int size, long value) {
        try {
            r.handler.mmioWrite(offset, size, value & ones(size));
        } catch (RuntimeException e) {
            log.accept("MMIO write 0x" + Long.toHexString(r.base + offset) + " failed in device: " + e);
        }
    }

    public boolean claimed(long gpa) {
        for (MmioRange r : ranges) {
            if (r.contains(gpa)) {
                return true;
            }
        }
        return false;
    }

    private static long ones(int size) {
        return size >= 8 ? -1L : (1L << (size * 8)) - 1;
    }

    public long read(long gpa, int size) {
        for (MmioRange r : ranges) {
            if (r.contains(gpa)) {
                try {
                    return r.handler.mmioRead(gpa - r.base, size) & ones(size);
                } catch (RuntimeException e) {
                    log.accept("MMIO read 0x" + Long.toHexString(gpa) + " failed in device: " + e);
                    return ones(size);
                }
            }
        }
        return ones(size);
    }

    public void write(long gpa, int size, long value) {
        for (MmioRange r : ranges) {
            if (r.contains(gpa)) {
                try {
                    r.handler.mmioWrite(gpa - r.base, size, value & ones(size));
                } catch (RuntimeException e) {
                    log.accept("MMIO write 0x" + Long.toHexString(gpa) + " failed in device: " + e);
                }
                return;
            }
        }
    }
}
