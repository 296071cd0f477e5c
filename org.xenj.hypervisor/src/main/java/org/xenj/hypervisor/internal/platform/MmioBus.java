package org.xenj.hypervisor.internal.platform;

import java.util.Arrays;
import java.util.function.Consumer;

import org.xenj.hypervisor.spi.MmioHandler;

/**
 * Guest-physical ranges claimed by devices. Few ranges, so a copy-on-write array scanned linearly
 * is the fastest structure; MMIO is off the CPU's RAM path anyway. Unclaimed reads return all
 * ones, writes are dropped; a throwing handler is logged and treated as absent.
 */
public final class MmioBus {

    private record Range(long base, long size, MmioHandler handler) {
        boolean contains(long gpa) {
            return gpa - base >= 0 && gpa - base < size;
        }
    }

    private volatile Range[] ranges = new Range[0];
    private final Consumer<String> log;

    public MmioBus(Consumer<String> log) {
        this.log = log;
    }

    public synchronized void map(long base, long size, MmioHandler handler) {
        if (base < 0 || size <= 0 || base + size > (1L << 36)) {
            throw new IllegalArgumentException("bad MMIO range 0x" + Long.toHexString(base) + "+0x" + Long.toHexString(size));
        }
        for (Range r : ranges) {
            if (base < r.base + r.size && r.base < base + size) {
                throw new IllegalStateException("MMIO range 0x" + Long.toHexString(base) + " overlaps a device at 0x"
                        + Long.toHexString(r.base));
            }
        }
        Range[] copy = Arrays.copyOf(ranges, ranges.length + 1);
        copy[copy.length - 1] = new Range(base, size, handler);
        ranges = copy;
    }

    public synchronized void unmap(long base, long size) {
        ranges = Arrays.stream(ranges).filter(r -> !(r.base == base && r.size == size)).toArray(Range[]::new);
    }

    public boolean claimed(long gpa) {
        for (Range r : ranges) {
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
        for (Range r : ranges) {
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
        for (Range r : ranges) {
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
