package org.xenj.hypervisor.internal.testsupport;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.xenj.hypervisor.internal.exec.GuestContext;
import org.xenj.hypervisor.internal.exec.VCpuExecutor;

/**
 * An instrumented vCPU for tests and benchmarks: detects concurrent {@link #run} calls (a vCPU
 * run twice at once), counts runs, and records each run's pCPU and time span. Spins until its
 * deadline; optionally blocks on every {@code blockEvery}-th run, woken by a host timer later.
 */
public final class ProbeExecutor implements VCpuExecutor {

    /** Concurrent runs seen by any probe. */
    public static final AtomicLong DOUBLE_RUNS = new AtomicLong();

    private final GuestContext context;
    private final int vcpu;
    private final int blockEvery;
    private final long blockNanos;
    private final AtomicBoolean inRun = new AtomicBoolean();
    private volatile boolean exitRequested;
    private volatile long wakeAt = Long.MIN_VALUE;
    private volatile boolean throwNext;
    private volatile org.xenj.hypervisor.api.ShutdownReason shutdownNext;
    private volatile long runs;
    private final long[] starts;
    private final long[] ends;
    private final int[] pcpus;
    private volatile int recorded;

    public ProbeExecutor(GuestContext context, int vcpu, int blockEvery, long blockNanos, int capacity) {
        this.context = context;
        this.vcpu = vcpu;
        this.blockEvery = blockEvery;
        this.blockNanos = blockNanos;
        this.starts = new long[capacity];
        this.ends = new long[capacity];
        this.pcpus = new int[capacity];
    }

    @Override
    public RunExit run(long deadlineNanos) {
        if (!inRun.compareAndSet(false, true)) {
            DOUBLE_RUNS.incrementAndGet();
        }
        long start = System.nanoTime();
        try {
            if (throwNext) {
                throwNext = false;
                throw new IllegalStateException("probe executor failure (test)");
            }
            org.xenj.hypervisor.api.ShutdownReason r = shutdownNext;
            if (r != null) {
                context.requestShutdown(r); // as a PV guest's SCHEDOP_shutdown does, from its vCPU
                return RunExit.SHUTDOWN;
            }
            long n = ++runs;
            if (blockEvery > 0 && n % blockEvery == 0) {
                long at = start + blockNanos;
                wakeAt = at;
                context.schedule(at, context.waker(vcpu)::wake);
                return RunExit.BLOCKED;
            }
            long x = 0;
            while (!exitRequested && System.nanoTime() - deadlineNanos < 0) {
                for (int i = 0; i < 500; i++) {
                    x = x * 31 + i;
                }
            }
            exitRequested = false;
            if (x == 42) {
                Thread.yield(); // keep x alive
            }
            return RunExit.PREEMPTED;
        } finally {
            record(start, System.nanoTime());
            inRun.set(false);
        }
    }

    private void record(long start, long end) {
        int i = recorded;
        if (i < starts.length) {
            starts[i] = start;
            ends[i] = end;
            String t = Thread.currentThread().getName();
            pcpus[i] = t.startsWith("xenj-pcpu-") ? Integer.parseInt(t.substring(10)) : -1;
            recorded = i + 1;
        }
    }

    @Override
    public void requestExit() {
        exitRequested = true;
    }

    @Override
    public boolean wakeupPending() {
        return System.nanoTime() - wakeAt >= 0;
    }

    /** Makes the guest shut down itself with {@code reason} on its next run. */
    public void shutdownOnNextRun(org.xenj.hypervisor.api.ShutdownReason reason) {
        shutdownNext = reason;
    }

    /** Makes the next run throw (to test that a failing executor crashes only its domain). */
    public void throwOnNextRun() {
        throwNext = true;
    }

    public long runs() {
        return runs;
    }

    public int recorded() {
        return recorded;
    }

    public long start(int i) {
        return starts[i];
    }

    public long end(int i) {
        return ends[i];
    }

    public int pcpu(int i) {
        return pcpus[i];
    }
}
