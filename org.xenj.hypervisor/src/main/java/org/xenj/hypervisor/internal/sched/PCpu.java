package org.xenj.hypervisor.internal.sched;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.concurrent.locks.LockSupport;

import org.xenj.hypervisor.internal.exec.VCpuExecutor;
import org.xenj.hypervisor.internal.exec.VCpuExecutor.RunExit;
import org.xenj.hypervisor.spi.SchedulerInstance;

/**
 * A physical CPU: one host worker thread that asks its pool's policy what to run, runs it
 * through {@link VCpuExecutor#run} until the granted slice ends, hands it back, and parks when
 * there is nothing to run (until kicked or its idle time passes). Nothing a policy or an
 * executor throws ends the thread.
 */
public final class PCpu {

    /**
     * Run time is charged as the pCPU thread's CPU time, not wall time: on a busy host the OS
     * may deschedule a pCPU thread in the middle of a slice, and that time is nobody's work.
     * (Wall time was tried as well: it bills that time to whichever vCPU was on the pCPU.)
     * Policies see the time actually delivered (credit hands out what was charged, so its
     * weights and caps hold on a busy host too). Falls back to wall time without a thread clock.
     */
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static final boolean THREAD_CLOCK = enableThreadClock();

    private static boolean enableThreadClock() {
        try {
            if (THREADS.isCurrentThreadCpuTimeSupported()) {
                if (!THREADS.isThreadCpuTimeEnabled()) {
                    THREADS.setThreadCpuTimeEnabled(true);
                }
                return THREADS.getCurrentThreadCpuTime() >= 0;
            }
        } catch (UnsupportedOperationException | SecurityException e) {
            // fall back to wall time
        }
        return false;
    }

    private static long runClock() {
        return THREAD_CLOCK ? THREADS.getCurrentThreadCpuTime() : System.nanoTime();
    }

    final int id;
    private final Thread thread;
    /** Written only while holding the lock of the pool it leaves. */
    volatile PoolScheduler pool;
    private volatile boolean running = true;
    private volatile boolean kicked;
    /** Set under the pool lock when the pCPU found nothing to run; cleared when it looks again. */
    private volatile boolean idle;
    private volatile VCpu current;
    /** The instance that made this pCPU's last decision; pCPU thread only, under the pool lock. */
    SchedulerInstance decisionInstance;
    private volatile long busyNanos;
    private volatile long idleNanos;

    private final java.util.function.Consumer<String> log;

    PCpu(int id, PoolScheduler initial, java.util.function.Consumer<String> log) {
        this.id = id;
        this.log = log;
        this.pool = initial;
        this.thread = new Thread(this::loop, "xenj-pcpu-" + id);
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    public int id() {
        return id;
    }

    public PoolScheduler pool() {
        return pool;
    }

    /** The vCPU executing here now, or null. */
    public VCpu current() {
        return current;
    }

    public long busyNanos() {
        return busyNanos;
    }

    public long idleNanos() {
        return idleNanos;
    }

    boolean isIdle() {
        return idle;
    }

    /** Makes the pCPU reschedule soon: preempts what runs, or wakes the idle loop. */
    public void kick() {
        kicked = true;
        VCpu c = current;
        if (c != null) {
            VCpuExecutor e = c.executor;
            if (e != null) {
                e.requestExit();
            }
        }
        LockSupport.unpark(thread);
    }

    /** Wakes the pCPU if idle, without preempting anything. */
    void nudge() {
        kicked = true;
        LockSupport.unpark(thread);
    }

    private PoolScheduler lockOwnPool() {
        while (true) {
            PoolScheduler p = pool;
            p.lock();
            if (pool == p) {
                return p;
            }
            p.unlock();
        }
    }

    private void loop() {
        while (running) {
            try {
                schedulingLoop();
            } catch (Throwable t) {
                // last resort: a bug of ours; keep the pCPU alive, after a pause so it cannot spin
                log.accept("pCPU " + id + ": internal error, continuing: " + t);
                current = null;
                LockSupport.parkNanos(this, 1_000_000L);
            }
        }
    }

    private void schedulingLoop() {
        VCpu prev = null;
        RunExit exit = RunExit.PREEMPTED;
        Throwable cause = null;
        long ran = 0;
        long[] out = new long[1];
        while (running || prev != null) {
            kicked = false;
            PoolScheduler held;
            VCpu passPrev = null;
            boolean prevRunnable = false;
            if (prev != null) {
                PoolScheduler vp = PoolScheduler.lockPoolOf(prev.domain);
                boolean keep = false;
                try {
                    boolean runnable = vp.vcpuReturned(prev, exit, cause, id);
                    current = null;
                    SchedulerInstance inst = vp.instance();
                    if (vp == pool && inst != null && inst == decisionInstance && !prev.removed) {
                        passPrev = prev;
                        prevRunnable = runnable;
                        prev.schedRunnable = runnable; // the policy re-queues it unless it picks it again
                        if (runnable && !prev.canRunOn(id)) {
                            // it left because its affinity no longer has this pCPU: an idle one that
                            // may run it must look at the queue, or it waits for some other event there
                            vp.kickIdleFor(prev);
                        }
                        keep = true;
                    } else {
                        // the policy that dispatched it is gone (hot-swap, pool change): wake it into the current one
                        prev.schedRunnable = false;
                        vp.refresh(prev);
                        keep = vp == pool;
                    }
                } finally {
                    prev = null;
                    if (!keep) {
                        vp.unlock();
                    }
                }
                held = keep ? vp : lockOwnPool();
            } else {
                held = lockOwnPool();
            }
            if (!running) {
                held.unlock();
                break;
            }
            VCpu next;
            long budget;
            try {
                next = held.pick(this, System.nanoTime(), passPrev, prevRunnable, ran, out);
                budget = out[0];
                if (next != null) {
                    current = next;
                } else {
                    idle = true;
                }
            } finally {
                held.unlock();
            }
            if (next != null) {
                long start = System.nanoTime();
                next.dispatched(start);
                long clock0 = runClock();
                long deadline = start + budget;
                if (deadline < start) {
                    deadline = Long.MAX_VALUE;
                }
                try {
                    exit = next.executor.run(deadline);
                    cause = null;
                    if (exit == null) {
                        exit = RunExit.PREEMPTED;
                    }
                } catch (Throwable t) {
                    exit = RunExit.CRASH;
                    cause = t;
                }
                ran = Math.max(0, runClock() - clock0);
                next.accountRun(ran);
                busyNanos += ran;
                prev = next;
                if (exit == RunExit.YIELD) {
                    // a pause loop (CpuExecutor): the vCPU it spins for may be runnable on another pCPU
                    // whose thread the host has not scheduled; give the host core away once
                    Thread.yield();
                }
            } else {
                ran = 0;
                long t0 = System.nanoTime();
                if (!kicked && running) {
                    if (budget == Long.MAX_VALUE) {
                        LockSupport.park(this);
                    } else {
                        LockSupport.parkNanos(this, budget);
                    }
                }
                idle = false;
                idleNanos += System.nanoTime() - t0;
            }
        }
    }

    void stop() {
        running = false;
        kick();
    }

    void join(long millis) throws InterruptedException {
        thread.join(millis);
    }

    boolean isAlive() {
        return thread.isAlive();
    }
}
