package org.xenj.hypervisor.internal.sched;

import java.util.Map;
import java.util.TreeMap;

/**
 * A domain as the scheduling core sees it: its vCPUs, its pool, whether it may run at all, and
 * the parameters the core keeps for it (weight, cap and any scheduler-specific ones, replayed to
 * each new scheduler instance on a hot-swap).
 */
public final class SchedDomain {

    final int domid;
    final VCpu[] vcpus;
    final VCpuExitListener listener;
    /** Written only while holding the locks of both the old and the new pool. */
    volatile PoolScheduler pool;
    /** Whether the domain may run (not paused, built, not shut down); guarded by the pool lock. */
    boolean active;
    volatile int weight = 256;
    volatile int cap;
    /** Scheduler-specific domain parameters set by the user; guarded by this. */
    private final Map<String, String> extraParams = new TreeMap<>();

    public SchedDomain(int domid, int vcpuCount, VCpuExitListener listener) {
        this.domid = domid;
        this.listener = listener;
        this.vcpus = new VCpu[vcpuCount];
        for (int i = 0; i < vcpuCount; i++) {
            vcpus[i] = new VCpu(this, i);
        }
    }

    public int domid() {
        return domid;
    }

    public VCpu vcpu(int i) {
        return vcpus[i];
    }

    public int vcpuCount() {
        return vcpus.length;
    }

    public PoolScheduler pool() {
        return pool;
    }

    public int weight() {
        return weight;
    }

    public int cap() {
        return cap;
    }

    public void setWeight(int weight) {
        this.weight = weight;
    }

    public void setCap(int cap) {
        this.cap = cap;
    }

    public synchronized Map<String, String> extraParams() {
        return new TreeMap<>(extraParams);
    }

    public synchronized void putExtraParams(Map<String, String> params) {
        extraParams.putAll(params);
    }

    /** Sum of the vCPUs' consumed pCPU time. */
    public long cpuTimeNanos() {
        long t = 0;
        for (VCpu v : vcpus) {
            t += v.cpuTimeNanos();
        }
        return t;
    }

    /** Whether no vCPU of the domain is executing on a pCPU right now. */
    public boolean quiescent() {
        for (VCpu v : vcpus) {
            if (v.executingOn >= 0) {
                return false;
            }
        }
        return true;
    }
}
