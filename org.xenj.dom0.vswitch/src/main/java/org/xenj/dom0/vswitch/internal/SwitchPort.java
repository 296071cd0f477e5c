package org.xenj.dom0.vswitch.internal;

import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

import org.xenj.dom0.vswitch.api.Bridge;
import org.xenj.dom0.vswitch.api.FrameReceiver;
import org.xenj.dom0.vswitch.api.Frames;
import org.xenj.dom0.vswitch.api.Port;
import org.xenj.dom0.vswitch.api.PortCounters;

/**
 * A port of a {@link LearningBridge}. Frames for it wait in a bounded queue of tasks on its own
 * executor: {@link #deliver} only counts and hands over, so the sender's thread never runs the
 * receiver.
 */
final class SwitchPort implements Port {

    private final LearningBridge bridge;
    private final String name;
    private final Executor executor;
    private final int capacity;
    private final FrameReceiver receiver;
    private final AtomicInteger queued = new AtomicInteger();
    private final LongAdder rxFrames = new LongAdder();
    private final LongAdder rxBytes = new LongAdder();
    private final LongAdder rxDrops = new LongAdder();
    private final LongAdder txFrames = new LongAdder();
    private final LongAdder txBytes = new LongAdder();
    private final LongAdder txDrops = new LongAdder();
    private volatile boolean open = true;
    /** Parked for a hand-over: frames wait here (guarded by this) until {@link #handTo} a successor. */
    private volatile boolean parked;
    private final java.util.ArrayDeque<byte[]> parkedFrames = new java.util.ArrayDeque<>();
    private final java.util.ArrayDeque<Integer> parkedLengths = new java.util.ArrayDeque<>();
    private SwitchPort successor;

    SwitchPort(LearningBridge bridge, String name, Executor executor, int capacity, FrameReceiver receiver) {
        if (capacity < 1) {
            throw new IllegalArgumentException("queue capacity " + capacity);
        }
        this.bridge = bridge;
        this.name = name;
        this.executor = executor;
        this.capacity = capacity;
        this.receiver = receiver;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Bridge bridge() {
        return bridge;
    }

    @Override
    public boolean send(byte[] frame, int length) {
        if (!open || frame == null || length < Frames.HEADER_LENGTH || length > Frames.MAX_LENGTH || length > frame.length) {
            rxDrops.increment();
            return false;
        }
        rxFrames.increment();
        rxBytes.add(length);
        bridge.forward(this, frame, length);
        return true;
    }

    /** Queues one frame for this port's receiver; drops and counts it when the queue is full. */
    void deliver(byte[] frame, int length) {
        if (!open) {
            return;
        }
        if (parked) {
            keep(frame, length);
            return;
        }
        if (queued.incrementAndGet() > capacity) {
            queued.decrementAndGet();
            txDrops.increment();
            return;
        }
        try {
            executor.execute(() -> {
                queued.decrementAndGet();
                if (!open) {
                    return;
                }
                if (parked) {
                    keep(frame, length); // queued before the park, run after it: waits too, in order
                    return;
                }
                try {
                    receiver.receive(frame, length);
                    txFrames.increment();
                    txBytes.add(length);
                } catch (RuntimeException e) {
                    txDrops.increment();
                    bridge.logOnce("port " + name + ": receiver failed (" + e + "); frames that fail are counted as drops");
                }
            });
        } catch (RejectedExecutionException e) {
            queued.decrementAndGet();
            txDrops.increment();
        }
    }

    /** A frame for a parked port: waits for the successor, or goes to it once there. */
    private void keep(byte[] frame, int length) {
        SwitchPort to;
        synchronized (this) {
            to = successor;
            if (to == null) {
                if (parkedFrames.size() >= capacity) {
                    txDrops.increment();
                } else {
                    parkedFrames.add(frame);
                    parkedLengths.add(length);
                }
                return;
            }
        }
        to.deliver(frame, length);
    }

    @Override
    public void park() {
        parked = true;
    }

    boolean isParked() {
        return parked && open;
    }

    /** The port of the same name attached after the park takes the waiting frames (in order) and every later one. */
    void handTo(SwitchPort next) {
        synchronized (this) {
            successor = next;
            while (!parkedFrames.isEmpty()) {
                next.deliver(parkedFrames.poll(), parkedLengths.poll());
            }
        }
    }

    @Override
    public PortCounters counters() {
        return new PortCounters(rxFrames.sum(), rxBytes.sum(), rxDrops.sum(), txFrames.sum(), txBytes.sum(), txDrops.sum());
    }

    @Override
    public int queued() {
        return queued.get();
    }

    @Override
    public void close() {
        if (open) {
            open = false;
            synchronized (this) {
                parkedFrames.clear();
                parkedLengths.clear();
            }
            bridge.detach(this);
        }
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public String toString() {
        return "port " + name + " on " + bridge.name();
    }
}
