package org.xenj.dom0.vswitch.internal;

import java.util.ArrayDeque;
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
    /**
     * Parked for a hand-over: frames wait (guarded by this) until {@link #handTo} a successor. Set
     * under the lock that {@link #deliver} takes around its check and its enqueue, so every task
     * for the receiver was queued before the park, and every frame that is older than one kept
     * directly after the park (from the same sender) is one of those tasks.
     */
    private volatile boolean parked;
    /**
     * Frames that were queued for the receiver before the park and ran after it. They are older
     * than every frame in {@link #arrivedAfterPark}, but their tasks run on the executor while
     * senders keep frames directly on their own threads, so the two interleave in time: one queue
     * in arrival order reordered them (the 1-in-5 NetbackHandOverTest failure, DESIGN.md).
     */
    private final ArrayDeque<Waiting> queuedBeforePark = new ArrayDeque<>();
    /** Frames sent to this port after the park, in the order they came. */
    private final ArrayDeque<Waiting> arrivedAfterPark = new ArrayDeque<>();
    private SwitchPort successor;

    private record Waiting(byte[] frame, int length) {
    }

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

    /**
     * Queues one frame for this port's receiver; drops and counts it when the queue is full. The
     * check for a park and the enqueue are one step under this port's lock (uncontended unless
     * two senders meet here): a sender that saw the port unparked and queued the task only after
     * the park (it was descheduled in between) would otherwise add a task behind the backend's
     * detach — lost when that executor stops, or run after the successor took over, behind
     * newer frames.
     */
    void deliver(byte[] frame, int length) {
        if (!open) {
            return;
        }
        synchronized (this) {
            if (!parked) {
                if (queued.incrementAndGet() > capacity) {
                    queued.decrementAndGet();
                    txDrops.increment();
                    return;
                }
                try {
                    executor.execute(() -> run(frame, length));
                } catch (RejectedExecutionException e) {
                    queued.decrementAndGet();
                    txDrops.increment();
                }
                return;
            }
        }
        keep(frame, length, false);
    }

    /** A queued frame's task, on the receiver's executor. */
    private void run(byte[] frame, int length) {
        queued.decrementAndGet();
        if (!open) {
            return;
        }
        if (parked) {
            keep(frame, length, true); // queued before the park, run after it: waits too, ahead of later frames
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
    }

    /**
     * A frame for a parked port: waits for the successor, or goes to it once there. {@code queuedBefore}:
     * it was queued for the receiver before the park (so older than any frame sent after it).
     */
    private void keep(byte[] frame, int length, boolean queuedBefore) {
        SwitchPort to;
        synchronized (this) {
            to = successor;
            if (to == null) {
                if (queuedBeforePark.size() + arrivedAfterPark.size() >= capacity) {
                    txDrops.increment();
                } else {
                    (queuedBefore ? queuedBeforePark : arrivedAfterPark).add(new Waiting(frame, length));
                }
                return;
            }
        }
        to.deliver(frame, length);
    }

    @Override
    public void park() {
        synchronized (this) {
            parked = true;
        }
    }

    boolean isParked() {
        return parked && open;
    }

    /**
     * The port of the same name attached after the park takes the waiting frames (those queued
     * before the park first, then the later ones, each in order) and every later one. The bridge
     * calls this before any frame can reach {@code next} directly ({@link LearningBridge#attach}).
     * (With the receiver's executor FIFO and the next attach queued on it after the detach, no task
     * queued before the park runs after this.)
     */
    void handTo(SwitchPort next) {
        synchronized (this) {
            successor = next;
            for (ArrayDeque<Waiting> q : java.util.List.of(queuedBeforePark, arrivedAfterPark)) {
                for (Waiting w; (w = q.poll()) != null;) {
                    next.deliver(w.frame(), w.length());
                }
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
                queuedBeforePark.clear();
                arrivedAfterPark.clear();
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
