package org.xenj.hypervisor.internal.timer;

import java.util.PriorityQueue;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

import org.xenj.hypervisor.internal.exec.HostTimer;

/**
 * The hypervisor's one timer thread: one-shot tasks ordered by deadline
 * ({@link System#nanoTime()} scale). The thread parks until the earliest deadline or until an
 * earlier task arrives, so an idle hypervisor costs nothing. Tasks run on the timer thread and
 * must be short; a task that throws is reported and the thread goes on.
 */
public final class HostTimerThread implements HostTimer, AutoCloseable {

    private final PriorityQueue<Task> queue = new PriorityQueue<>();
    private final Thread thread;
    private final Consumer<String> log;
    private volatile boolean running = true;
    private long sequence;
    private int cancelledInQueue;

    public HostTimerThread(Consumer<String> log) {
        this.log = log;
        this.thread = new Thread(this::loop, "xenj-timer");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    @Override
    public Handle schedule(long deadlineNanos, Runnable task) {
        Task t;
        boolean earliest;
        synchronized (queue) {
            t = new Task(this, deadlineNanos, sequence++, task);
            queue.add(t);
            earliest = queue.peek() == t;
        }
        if (earliest) {
            LockSupport.unpark(thread);
        }
        return t;
    }

    /** Tasks scheduled and not yet run or cancelled. */
    public int pending() {
        synchronized (queue) {
            int n = 0;
            for (Task t : queue) {
                if (!t.cancelled) {
                    n++;
                }
            }
            return n;
        }
    }

    /** Entries in the queue, cancelled ones included (for tests). */
    int queued() {
        synchronized (queue) {
            return queue.size();
        }
    }

    private void loop() {
        while (running) {
            Task due = null;
            long wait = 0;
            synchronized (queue) {
                Task head = queue.peek();
                while (head != null && head.cancelled) {
                    queue.poll();
                    head = queue.peek();
                }
                if (head != null) {
                    wait = head.deadline - System.nanoTime();
                    if (wait <= 0) {
                        due = queue.poll();
                    }
                }
            }
            if (due != null) {
                try {
                    due.task.run();
                } catch (Throwable e) {
                    log.accept("timer task failed: " + e);
                }
            } else if (wait > 0) {
                LockSupport.parkNanos(this, wait);
            } else {
                LockSupport.park(this);
            }
        }
    }

    @Override
    public void close() {
        running = false;
        LockSupport.unpark(thread);
        try {
            thread.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (queue) {
            queue.clear();
        }
    }

    /**
     * Cancelled tasks are dropped lazily when they reach the head; if they pile up (timers re-armed
     * far ahead, again and again), they are purged so the queue stays as small as the live timers.
     */
    private void cancelled() {
        synchronized (queue) {
            if (++cancelledInQueue > 64 && cancelledInQueue > queue.size() / 2) {
                queue.removeIf(x -> x.cancelled);
                cancelledInQueue = 0;
            }
        }
    }

    private static final class Task implements Handle, Comparable<Task> {
        final HostTimerThread owner;
        final long deadline;
        final long seq;
        final Runnable task;
        volatile boolean cancelled;

        Task(HostTimerThread owner, long deadline, long seq, Runnable task) {
            this.owner = owner;
            this.deadline = deadline;
            this.seq = seq;
            this.task = task;
        }

        @Override
        public void cancel() {
            if (!cancelled) {
                cancelled = true;
                owner.cancelled();
            }
        }

        @Override
        public int compareTo(Task o) {
            // deadlines compared by difference, as nanoTime values may wrap
            long d = deadline - o.deadline;
            return d != 0 ? (d < 0 ? -1 : 1) : Long.compare(seq, o.seq);
        }
    }
}
