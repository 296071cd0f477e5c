package org.xenj.sched.testkit;

import org.xenj.hypervisor.spi.SchedVCpu;

/** A simulated vCPU: the hypervisor's handle plus what the simulator tracks about it. */
public final class SimVCpu implements SchedVCpu {

    private final int domid;
    private final int vcpuId;
    private final int index;
    private int weight;
    private int cap;
    private long affinityMask = -1L;
    Workload workload;

    int lastPcpu = -1;
    int runningOn = -1;
    boolean runnable;
    boolean paused;
    long burstLeft;
    long wakeAt = Long.MAX_VALUE;
    /** When it last became runnable while not running, for wake-up latency; -1 if not waiting. */
    long waitingSince = -1;

    long cpuNanos;
    long maxWakeLatency;
    long wakeLatencySum;
    int wakeLatencyCount;
    int runs;

    SimVCpu(int domid, int vcpuId, int index, int weight, int cap, Workload workload) {
        this.domid = domid;
        this.vcpuId = vcpuId;
        this.index = index;
        this.weight = weight;
        this.cap = cap;
        this.workload = workload;
        this.burstLeft = workload.burstNanos();
    }

    @Override
    public int domid() {
        return domid;
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
        return pcpu < 64 && (affinityMask & (1L << pcpu)) != 0;
    }

    @Override
    public int lastPcpu() {
        return lastPcpu;
    }

    @Override
    public int weight() {
        return weight;
    }

    @Override
    public int cap() {
        return cap;
    }

    /** Restricts the pCPUs it may use (hard affinity), e.g. {@code pin(0)}. */
    public SimVCpu pin(int... pcpus) {
        long mask = 0;
        for (int p : pcpus) {
            mask |= 1L << p;
        }
        affinityMask = mask;
        return this;
    }

    /** CPU time it got, in nanoseconds. */
    public long cpuNanos() {
        return cpuNanos;
    }

    public boolean isRunnable() {
        return runnable && !paused;
    }

    public boolean isRunning() {
        return runningOn >= 0;
    }

    /** Longest time between becoming runnable and running, in nanoseconds. */
    public long maxWakeLatency() {
        return maxWakeLatency;
    }

    public long meanWakeLatency() {
        return wakeLatencyCount == 0 ? 0 : wakeLatencySum / wakeLatencyCount;
    }

    /** How often it was given a pCPU. */
    public int runs() {
        return runs;
    }

    @Override
    public String toString() {
        return "d" + domid + "v" + vcpuId;
    }
}
