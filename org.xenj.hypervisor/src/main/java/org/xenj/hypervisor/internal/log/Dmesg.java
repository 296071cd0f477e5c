package org.xenj.hypervisor.internal.log;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The hypervisor's log ring ({@code xl dmesg}): bounded, oldest lines dropped first, each line
 * stamped with the time since the hypervisor started, as Xen prints it:
 * {@code (XEN) [   12.345678] message}. Safe from any thread; a line costs one string.
 */
public final class Dmesg {

    public static final int DEFAULT_CAPACITY = 4096;

    private final long startNanos;
    private final String[] ring;
    private int next;
    private int size;
    /** Optional mirror (e.g. Domain-0's console), called outside the lock. */
    private volatile Consumer<String> mirror;

    public Dmesg() {
        this(DEFAULT_CAPACITY, System.nanoTime());
    }

    public Dmesg(int capacity, long startNanos) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be positive");
        }
        this.ring = new String[capacity];
        this.startNanos = startNanos;
    }

    public void setMirror(Consumer<String> mirror) {
        this.mirror = mirror;
    }

    public void log(String message) {
        long micros = Math.max(0, (System.nanoTime() - startNanos) / 1000);
        String line = String.format("(XEN) [%5d.%06d] %s", micros / 1_000_000, micros % 1_000_000, message);
        synchronized (ring) {
            ring[next] = line;
            next = (next + 1) % ring.length;
            if (size < ring.length) {
                size++;
            }
        }
        Consumer<String> m = mirror;
        if (m != null) {
            try {
                m.accept(line);
            } catch (RuntimeException ignored) {
                // a broken mirror must never stop logging
            }
        }
    }

    /** The kept lines, oldest first. */
    public List<String> lines() {
        synchronized (ring) {
            List<String> out = new ArrayList<>(size);
            int first = (next - size + ring.length) % ring.length;
            for (int i = 0; i < size; i++) {
                out.add(ring[(first + i) % ring.length]);
            }
            return out;
        }
    }

    public void clear() {
        synchronized (ring) {
            java.util.Arrays.fill(ring, null);
            next = 0;
            size = 0;
        }
    }
}
