package org.xenj.hypervisor.internal.sched;

import org.xenj.hypervisor.api.VCpuState;
import org.xenj.hypervisor.internal.exec.VCpuExecutor;
import org.xenj.hypervisor.internal.exec.VCpuWaker;
import org.xenj.hypervisor.spi.SchedVCpu;

/**
 * One virtual CPU as the scheduling core tracks it. Scheduling state is guarded by the lock of
 * the vCPU's pool; fields read by monitoring ({@code xl vcpu-list}) are volatile.
 *
 * <p>The invariant that makes hot-swaps safe: while {@link #executingOn} is set, the vCPU is on a
 * pCPU and no scheduler instance has it queued; otherwise {@link #schedRunnable} is exactly what
 * the pool's current instance believes about it.
 */
public final class VCpu implements SchedVCpu, VCpuWaker {

    final SchedDomain domain;
    final int vcpuId;
    /** Dense host-wide index; assigned by {@link SchedulingCore#register}. */
    int index = -1;
    volatile VCpuExecutor executor;

    // --- guarded by the pool lock ---
    /** The guest blocked (HLT, SCHEDOP_block) and nothing woke it yet. */
    boolean blocked;
    /**
     * A wake-up arrived while executing; keeps the vCPU runnable if it blocks at the same time.
     * Volatile: {@link #wake} sets it without the lock while the vCPU executes.
     */
    volatile boolean wakePending;
    /** Returned SHUTDOWN/CRASH: never runs again in this domain incarnation. */
    boolean stopped;
    /** Taken out of the scheduler (domain destroyed). */
    boolean removed;
    /** What the pool's current scheduler instance believes, for a vCPU not executing. */
    boolean schedRunnable;

    /** The pCPU executing this vCPU, or -1. Written under the pool lock. */
    volatile int executingOn = -1;
    volatile int lastPcpu = -1;
    /** Hard affinity as pinned (null = any pCPU). */
    volatile long[] hardAffinity;
    /** Written only by the pCPU thread executing the vCPU (one at a time). */
    private volatile long cpuTimeNanos;
    private volatile long runs;
    /** When the last wake-up ended a block (System.nanoTime), 0 when none is waiting to be dispatched. */
    volatile long wokenAtNanos;
    final WakeLatency wakeLatency = new WakeLatency();

    VCpu(SchedDomain domain, int vcpuId) {
        this.domain = domain;
        this.vcpuId = vcpuId;
    }

    public SchedDomain domain() {
        return domain;
    }

    public void setExecutor(VCpuExecutor executor) {
        this.executor = executor;
    }

    public VCpuExecutor executor() {
        return executor;
    }

    @Override
    public int domid() {
        return domain.domid;
    }

    @Override
    public int vcpuId() {
        return vcpuId;
    }

    @Override
    public int index() {
        return index;
    }

    @Override
    public boolean canRunOn(int pcpu) {
        long[] aff = hardAffinity;
        if (aff != null && !Bits.test(aff, pcpu)) {
            // an affinity outside the pool is broken, as Xen does, rather than leaving the vCPU stranded
            PoolScheduler p = domain.pool;
            return p != null && !p.intersects(aff) && p.contains(pcpu);
        }
        PoolScheduler p = domain.pool;
        return p != null && p.contains(pcpu);
    }

    @Override
    public int lastPcpu() {
        return lastPcpu;
    }

    @Override
    public int weight() {
        return domain.weight;
    }

    @Override
    public int cap() {
        return domain.cap;
    }

    public long cpuTimeNanos() {
        return cpuTimeNanos;
    }

    /** Number of times the vCPU was dispatched onto a pCPU. */
    public long runs() {
        return runs;
    }

    void accountRun(long nanos) {
        cpuTimeNanos += nanos; // single writer: the pCPU executing this vCPU
        runs++;
    }

    /** Wake-to-dispatch latency of this vCPU so far, one line (logged when the domain goes). */
    public String wakeLatencySummary() {
        return wakeLatency.summary();
    }

    /** At dispatch, pCPU thread: closes the wake-up that made the vCPU runnable, if any. */
    void dispatched(long nowNanos) {
        long w = wokenAtNanos;
        if (w != 0) {
            wokenAtNanos = 0;
            wakeLatency.record(nowNanos - w);
        }
    }

    public int executingOn() {
        return executingOn;
    }

    /** Hard affinity, or null for any pCPU. */
    public long[] hardAffinity() {
        long[] a = hardAffinity;
        return a == null ? null : a.clone();
    }

    /** Whether the vCPU should be able to run now. Pool lock held. */
    boolean wantsToRun() {
        return domain.active && !blocked && !stopped && !removed && executor != null;
    }

    /** A monitoring snapshot; racy by nature, like xl's. */
    public VCpuState state() {
        if (executingOn >= 0) {
            return VCpuState.RUNNING;
        }
        if (executor == null || stopped || removed) {
            return VCpuState.OFFLINE;
        }
        if (!domain.active) {
            return VCpuState.PAUSED;
        }
        return blocked ? VCpuState.BLOCKED : VCpuState.RUNNABLE;
    }

    /** Ends a block (interrupt, event, timer). Safe from any thread. */
    @Override
    public void wake() {
        // Fast path, no lock, for the common case of an interrupt to a running vCPU. Safe because
        // the pCPU handing it back writes executingOn = -1 before it reads wakePending: either it
        // sees our flag, or we see -1 below and take the locked path.
        if (executingOn >= 0) {
            wakePending = true;
            if (executingOn >= 0) {
                return;
            }
        }
        PoolScheduler p = PoolScheduler.lockPoolOf(domain);
        try {
            if (executingOn >= 0) {
                wakePending = true;
            } else if (blocked) {
                blocked = false;
                wokenAtNanos = System.nanoTime();
                p.refresh(this);
            }
        } finally {
            p.unlock();
        }
    }

    @Override
    public String toString() {
        return "d" + domain.domid + "v" + vcpuId;
    }
}
