package org.xenj.hypervisor.internal.platform;

import java.util.function.Consumer;

import org.xenj.hypervisor.spi.IoHandler;

/**
 * The 64 Ki port-I/O space: one slot per port holding the claiming handler and its base, so that
 * dispatch is an array load and one interface call. Unclaimed reads return all ones, writes are
 * dropped. A handler that throws is logged and treated as absent for that access.
 */
public final class IoPortBus {

    private static final class Range {
        final IoHandler handler;
        final int base;

        Range(IoHandler handler, int base) {
            this.handler = handler;
            this.base = base;
        }
    }

    private final Range[] slots = new Range[0x10000];
    private final Consumer<String> log;

    public IoPortBus(Consumer<String> log) {
        this.log = log;
    }

    public synchronized void map(int base, int count, IoHandler handler) {
        if (base < 0 || count < 1 || base + count > 0x10000) {
            throw new IllegalArgumentException("bad port range 0x" + Integer.toHexString(base) + "+" + count);
        }
        for (int p = base; p < base + count; p++) {
            if (slots[p] != null) {
                throw new IllegalStateException("port 0x" + Integer.toHexString(p) + " is already claimed");
            }
        }
        Range r = new Range(handler, base);
        for (int p = base; p < base + count; p++) {
            slots[p] = r;
        }
    }

    public synchronized void unmap(int base, int count) {
        for (int p = Math.max(base, 0); p < Math.min(base + count, 0x10000); p++) {
            slots[p] = null;
        }
    }

    public boolean claimed(int port) {
        return slots[port & 0xffff] != null;
    }

    static int ones(int size) {
        return size >= 4 ? -1 : (1 << (size * 8)) - 1;
    }

    public int read(int port, int size) {
        Range r = slots[port & 0xffff];
        if (r == null) {
            return ones(size);
        }
        try {
            int mask = ones(size);
            return r.handler.ioRead((port & 0xffff) - r.base, size) & mask;
        } catch (RuntimeException e) {
            log.accept("port read 0x" + Integer.toHexString(port) + " failed in device: " + e);
            return ones(size);
        }
    }

    public void write(int port, int size, int value) {
        Range r = slots[port & 0xffff];
        if (r == null) {
            return;
        }
        try {
            r.handler.ioWrite((port & 0xffff) - r.base, size, size >= 4 ? value : value & ones(size));
        } catch (RuntimeException e) {
            log.accept("port write 0x" + Integer.toHexString(port) + " failed in device: " + e);
        }
    }
}
