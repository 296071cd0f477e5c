package org.xenj.hypervisor.internal.evtchn;

import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.function.IntConsumer;

/**
 * Domain 0's event delivery: Dom0 is Java, so a pending port calls the listener a backend bound
 * to it (xenstore, console, test backends). Listeners run on the sending vCPU's thread and must be
 * short; bits are kept so that a listener bound late still sees an earlier event.
 */
public final class Dom0Events implements EventDelivery {

    private final AtomicIntegerArray pending;
    private final AtomicIntegerArray masked;
    private final IntConsumer[] listeners;

    public Dom0Events(int ports) {
        pending = new AtomicIntegerArray(ports);
        masked = new AtomicIntegerArray(ports);
        listeners = new IntConsumer[ports];
    }

    /** Binds a listener to a Dom0 port (replacing any). A pending unmasked event is delivered now. */
    public void listen(int port, IntConsumer listener) {
        synchronized (listeners) {
            listeners[port] = listener;
        }
        if (listener != null && pending.get(port) != 0 && masked.get(port) == 0) {
            fire(port);
        }
    }

    private void fire(int port) {
        IntConsumer l;
        synchronized (listeners) {
            l = listeners[port];
        }
        if (l != null && pending.compareAndSet(port, 1, 0)) {
            l.accept(port);
        }
    }

    @Override
    public void setPending(int port, int vcpu) {
        if (pending.getAndSet(port, 1) == 0 && masked.get(port) == 0) {
            fire(port);
        }
    }

    @Override
    public void clearPending(int port) {
        pending.set(port, 0);
        synchronized (listeners) {
            listeners[port] = null;
        }
    }

    @Override
    public boolean isPending(int port) {
        return pending.get(port) != 0;
    }

    @Override
    public boolean isMasked(int port) {
        return masked.get(port) != 0;
    }

    public void mask(int port) {
        masked.set(port, 1);
    }

    @Override
    public void unmask(int port, int vcpu) {
        masked.set(port, 0);
        if (pending.get(port) != 0) {
            fire(port);
        }
    }
}
