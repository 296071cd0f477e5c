package org.xenj.hypervisor.internal.console;

import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

import org.xenj.hypervisor.api.ConsoleAccess;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.spi.ConsoleInput;

/**
 * One domain's console: a bounded byte ring of what the guest wrote (oldest bytes dropped
 * first), live subscribers ({@code xen:console}), and the guest's input path. Output may come
 * from a vCPU thread: appending copies into the ring and hands a copy to each subscriber; a
 * subscriber that throws is detached so it cannot disturb the guest.
 */
public final class ConsoleRing implements ConsoleAccess {

    public static final int DEFAULT_CAPACITY = 64 * 1024;

    private final String owner;
    private final byte[] ring;
    private int next;
    private int size;
    private final CopyOnWriteArrayList<Consumer<byte[]>> subscribers = new CopyOnWriteArrayList<>();
    private volatile ConsoleInput input;

    public ConsoleRing(String owner) {
        this(owner, DEFAULT_CAPACITY);
    }

    public ConsoleRing(String owner, int capacity) {
        this.owner = owner;
        this.ring = new byte[capacity];
    }

    /** Guest output. */
    public void output(byte[] data, int off, int len) {
        if (len <= 0) {
            return;
        }
        byte[] copy = new byte[len];
        System.arraycopy(data, off, copy, 0, len);
        synchronized (ring) {
            int start = Math.max(0, len - ring.length); // only the tail fits
            for (int i = start; i < len; i++) {
                ring[next] = copy[i];
                next = (next + 1) % ring.length;
            }
            size = Math.min(ring.length, size + (len - start));
        }
        for (Consumer<byte[]> s : subscribers) {
            try {
                s.accept(copy);
            } catch (RuntimeException e) {
                subscribers.remove(s);
            }
        }
    }

    public void setInput(ConsoleInput input) {
        this.input = input;
    }

    @Override
    public byte[] history() {
        synchronized (ring) {
            byte[] out = new byte[size];
            int first = (next - size + ring.length) % ring.length;
            for (int i = 0; i < size; i++) {
                out[i] = ring[(first + i) % ring.length];
            }
            return out;
        }
    }

    @Override
    public AutoCloseable attach(Consumer<byte[]> output) {
        if (output == null) {
            throw new HypervisorException("console of " + owner + ": no output consumer given");
        }
        subscribers.add(output);
        return () -> subscribers.remove(output);
    }

    @Override
    public void write(byte[] data) {
        if (data == null) {
            throw new HypervisorException("console of " + owner + ": nothing to write");
        }
        ConsoleInput in = input;
        if (in == null) {
            throw new HypervisorException("console of " + owner + " takes no input (the guest has no console device yet)");
        }
        try {
            in.input(data.clone());
        } catch (RuntimeException e) {
            throw new HypervisorException("console of " + owner + " refused input: " + e.getMessage(), e);
        }
    }

    /** Drops every subscriber (the domain is gone). */
    public void closeAll() {
        subscribers.clear();
        input = null;
    }
}
