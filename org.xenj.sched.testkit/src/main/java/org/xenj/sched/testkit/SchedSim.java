package org.xenj.sched.testkit;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import org.xenj.hypervisor.spi.SchedVCpu;
import org.xenj.hypervisor.spi.ScheduleDecision;
import org.xenj.hypervisor.spi.SchedulerContext;
import org.xenj.hypervisor.spi.SchedulerInstance;

/**
 * A deterministic discrete-event simulation of one pool: N pCPUs that run simulated vCPUs for the
 * slices a {@link SchedulerInstance} grants, in virtual nanoseconds. It plays the hypervisor's
 * scheduling core: it calls {@code schedule} when a slice ends, a vCPU blocks or a pCPU is kicked,
 * {@code wake} when a sleeping vCPU's timer fires, and checks every decision (a vCPU never runs
 * twice at once, never runs while blocked or paused, never outside its affinity).
 * A broken decision throws {@link IllegalStateException}.
 */
public final class SchedSim implements SchedulerContext {

    /** Virtual time starts away from zero so that code assuming {@code now == 0} at start shows. */
    public static final long START_NANOS = 1_000_000_000L;
    private static final int MAX_RESCHEDULES_PER_INSTANT = 100_000;

    private final int[] pcpus;
    private final SimVCpu[] current;
    private final long[] startedAt;
    private final long[] deadline;
    private final boolean[] kicked;
    private final long[] busyNanos;
    /** The vCPU on this pCPU was dispatched by an instance swapped out since: hand it back by wake(). */
    private final boolean[] handBack;
    private final List<SimVCpu> vcpus = new ArrayList<>();
    private final List<String> log = new ArrayList<>();

    private SchedulerInstance instance;
    private long now = START_NANOS;
    private long statsSince = START_NANOS;
    private int nextIndex;
    private boolean sleepOnBlock;
    /** Fraction of wall time a pCPU thread gets from a busy host; the core charges that CPU time. */
    private double hostShare = 1.0;
    private long idleWhileRunnableNanos;
    private long scheduleCalls;

    public SchedSim(int pcpuCount) {
        pcpus = new int[pcpuCount];
        for (int i = 0; i < pcpuCount; i++) {
            pcpus[i] = i;
        }
        current = new SimVCpu[pcpuCount];
        startedAt = new long[pcpuCount];
        deadline = new long[pcpuCount];
        Arrays.fill(deadline, Long.MAX_VALUE);
        kicked = new boolean[pcpuCount];
        busyNanos = new long[pcpuCount];
        handBack = new boolean[pcpuCount];
    }

    /** Creates the pool's scheduler instance through {@code factory} (e.g. {@code type::createInstance}). */
    public SchedSim start(Function<SchedulerContext, SchedulerInstance> factory) {
        instance = factory.apply(this);
        return this;
    }

    public SchedulerInstance instance() {
        return instance;
    }

    /**
     * Whether a running vCPU that blocks is also reported through {@code sleep()} before
     * {@code schedule(..., prevRunnable=false, ...)}. The hypervisor core does not (default: off);
     * on, it checks that a scheduler copes with the stricter-than-needed sequence too.
     */
    public SchedSim sleepOnBlock(boolean value) {
        sleepOnBlock = value;
        return this;
    }

    /**
     * Simulates a busy host: pCPU threads get only {@code share} of wall time, and vCPUs are charged
     * (and credited in the figures) the CPU time they really got, as the core charges thread CPU time.
     */
    public SchedSim hostShare(double share) {
        if (!(share > 0 && share <= 1)) {
            throw new IllegalArgumentException("host share must be in (0, 1]: " + share);
        }
        hostShare = share;
        return this;
    }

    // ---- population ------------------------------------------------------------------------

    /** Adds (inserts into the scheduler) a vCPU that is runnable now, or blocked if its workload is idle. */
    public SimVCpu add(int domid, int weight, int cap, Workload workload) {
        SimVCpu v = new SimVCpu(domid, countVCpus(domid), nextIndex++, weight, cap, workload);
        boolean blocked = workload.sleepNanos() == Long.MAX_VALUE && workload.burstNanos() == 1;
        v.runnable = !blocked;
        if (v.runnable) {
            v.waitingSince = now;
        }
        vcpus.add(v);
        instance.insert(v, v.runnable);
        processKicks();
        return v;
    }

    public SimVCpu add(int domid, int weight, Workload workload) {
        return add(domid, weight, 0, workload);
    }

    /** Adds a vCPU that is blocked and wakes after {@code wakeAfterNanos} (then follows its workload). */
    public SimVCpu addBlocked(int domid, int weight, Workload workload, long wakeAfterNanos) {
        SimVCpu v = new SimVCpu(domid, countVCpus(domid), nextIndex++, weight, 0, workload);
        v.runnable = false;
        v.wakeAt = now + wakeAfterNanos;
        vcpus.add(v);
        instance.insert(v, false);
        processKicks();
        return v;
    }

    /** The domain is destroyed: its vCPU leaves the scheduler, even while running. */
    public void remove(SimVCpu v) {
        if (v.runningOn >= 0) {
            int p = v.runningOn;
            current[p] = null;
            v.runningOn = -1;
            deadline[p] = Long.MAX_VALUE;
            kicked[p] = true;
        }
        vcpus.remove(v);
        instance.remove(v);
        processKicks();
    }

    /** Pauses as the core does: a queued vCPU is put to sleep; a running one is kicked off its pCPU. */
    public void pause(SimVCpu v) {
        boolean wasRunnable = v.isRunnable();
        v.paused = true;
        if (v.runningOn >= 0) {
            kicked[v.runningOn] = true;
        } else if (wasRunnable) {
            instance.sleep(v, now);
        }
        processKicks();
    }

    public void unpause(SimVCpu v) {
        v.paused = false;
        if (v.isRunnable() && v.runningOn < 0) {
            v.waitingSince = now;
            instance.wake(v, now);
        }
        processKicks();
    }

    public void setWorkload(SimVCpu v, Workload workload) {
        v.workload = workload;
        v.burstLeft = workload.burstNanos();
    }

    /** Domain parameters through the SPI, as {@code xen:sched-credit -d} would set them. */
    public void setDomainParams(int domid, Map<String, String> params) {
        instance.setDomainParams(domid, params);
        processKicks();
    }

    // ---- hot-swap --------------------------------------------------------------------------

    /**
     * Replaces the scheduler as the hypervisor core does: read the domains' parameters, build the
     * new instance, {@code insert} every vCPU — those still running as not runnable —, give the
     * parameters back, drop the old instance and kick every pCPU. A pCPU that then hands back a
     * vCPU dispatched by the old instance wakes it into the new one (if it can run on) and asks
     * the new instance with {@code prev == null}.
     */
    public void swapTo(Function<SchedulerContext, SchedulerInstance> factory) {
        Map<Integer, Map<String, String>> params = new LinkedHashMap<>();
        for (SimVCpu v : vcpus) {
            params.computeIfAbsent(v.domid(), instance::domainParams);
        }
        SchedulerInstance old = instance;
        instance = factory.apply(this);
        for (SimVCpu v : vcpus) {
            boolean runnable = v.isRunnable() && v.runningOn < 0;
            instance.insert(v, runnable);
        }
        params.forEach((domid, p) -> {
            if (!p.isEmpty()) {
                instance.setDomainParams(domid, p);
            }
        });
        old.dispose();
        for (int p = 0; p < pcpus.length; p++) {
            handBack[p] = current[p] != null;
            kicked[p] = true;
        }
        processKicks();
    }

    // ---- running ---------------------------------------------------------------------------

    public void runFor(long nanos) {
        long end = now + nanos;
        processKicks();
        while (true) {
            long next = Math.min(nextEventTime(), end);
            advanceTo(next);
            if (next == end) {
                return;
            }
            for (int p = 0; p < pcpus.length; p++) {
                if (due(p)) {
                    reschedule(p);
                }
            }
            for (SimVCpu v : new ArrayList<>(vcpus)) {
                if (!v.runnable && v.wakeAt <= now) {
                    v.runnable = true;
                    v.wakeAt = Long.MAX_VALUE;
                    v.burstLeft = v.workload.burstNanos();
                    if (!v.paused) {
                        v.waitingSince = now;
                        instance.wake(v, now);
                    }
                }
            }
            processKicks();
        }
    }

    private boolean due(int p) {
        SimVCpu v = current[p];
        return deadline[p] <= now || (v != null && blockTime(p, v) <= now);
    }

    private long blockTime(int p, SimVCpu v) {
        return v.workload.isCpuBound() ? Long.MAX_VALUE : saturatingAdd(startedAt[p], v.burstLeft);
    }

    private long nextEventTime() {
        long next = Long.MAX_VALUE;
        for (int p = 0; p < pcpus.length; p++) {
            next = Math.min(next, deadline[p]);
            if (current[p] != null) {
                next = Math.min(next, blockTime(p, current[p]));
            }
        }
        for (SimVCpu v : vcpus) {
            if (!v.runnable) {
                next = Math.min(next, v.wakeAt);
            }
        }
        return Math.max(next, now);
    }

    /** Moves virtual time forward, crediting running vCPUs and noting pCPUs idle while work waits. */
    private void advanceTo(long t) {
        long dt = t - now;
        if (dt > 0) {
            for (int p = 0; p < pcpus.length; p++) {
                SimVCpu v = current[p];
                if (v != null) {
                    v.cpuNanos += cpuTime(dt);
                    busyNanos[p] += dt;
                } else if (someoneWaitsFor(p)) {
                    idleWhileRunnableNanos += dt;
                }
            }
        }
        now = t;
    }

    private boolean someoneWaitsFor(int p) {
        for (SimVCpu v : vcpus) {
            if (v.isRunnable() && v.runningOn < 0 && v.canRunOn(p)) {
                return true;
            }
        }
        return false;
    }

    private void processKicks() {
        int guard = 0;
        boolean any = true;
        while (any) {
            any = false;
            for (int p = 0; p < pcpus.length; p++) {
                if (kicked[p]) {
                    kicked[p] = false;
                    any = true;
                    if (++guard > MAX_RESCHEDULES_PER_INSTANT) {
                        throw new IllegalStateException("scheduler keeps kicking pCPUs at t=" + now);
                    }
                    reschedule(p);
                }
            }
        }
    }

    /** Takes a vCPU off pCPU {@code p}: it ran until now; it blocks if its burst is used up. */
    private void retire(int p, SimVCpu v) {
        long ran = now - startedAt[p];
        if (!v.workload.isCpuBound()) {
            v.burstLeft -= ran;
            if (v.burstLeft <= 0) {
                v.runnable = false;
                long sleep = v.workload.sleepNanos();
                v.wakeAt = sleep == Long.MAX_VALUE ? Long.MAX_VALUE : now + sleep;
            }
        }
        v.runningOn = -1;
        v.lastPcpu = p;
    }

    private void reschedule(int p) {
        SimVCpu prev = current[p];
        long ran = 0;
        if (prev != null) {
            ran = now - startedAt[p];
            retire(p, prev);
            if (!prev.isRunnable() && sleepOnBlock && !prev.paused) {
                instance.sleep(prev, now);
            }
        }
        current[p] = null;
        ran = cpuTime(ran);
        if (handBack[p]) {
            // Dispatched by a swapped-out instance: the new one only learns that it may run.
            handBack[p] = false;
            if (prev != null && prev.isRunnable()) {
                prev.waitingSince = now;
                instance.wake(prev, now);
            }
            prev = null;
            ran = 0;
        }
        scheduleCalls++;
        ScheduleDecision d = instance.schedule(p, now, prev, prev != null && prev.isRunnable(), ran);
        apply(p, d);
    }

    private void apply(int p, ScheduleDecision d) {
        if (d == null) {
            throw new IllegalStateException("schedule(" + p + ") returned null at t=" + now);
        }
        if (d.sliceNanos() <= 0) {
            throw new IllegalStateException("schedule(" + p + ") granted a slice of " + d.sliceNanos() + " ns");
        }
        SchedVCpu chosen = d.next();
        if (chosen == null) {
            current[p] = null;
            deadline[p] = saturatingAdd(now, d.sliceNanos());
            return;
        }
        if (!(chosen instanceof SimVCpu next) || !vcpus.contains(next)) {
            throw new IllegalStateException("pCPU " + p + " was given " + chosen + ", which is not in the pool");
        }
        if (!next.isRunnable()) {
            throw new IllegalStateException("pCPU " + p + " was given " + next + ", which is blocked or paused, t=" + now);
        }
        if (next.runningOn >= 0) {
            throw new IllegalStateException(next + " given to pCPU " + p + " while running on pCPU " + next.runningOn);
        }
        if (!next.canRunOn(p)) {
            throw new IllegalStateException(next + " given to pCPU " + p + " outside its affinity");
        }
        next.runningOn = p;
        next.runs++;
        if (next.waitingSince >= 0) {
            long latency = now - next.waitingSince;
            next.maxWakeLatency = Math.max(next.maxWakeLatency, latency);
            next.wakeLatencySum += latency;
            next.wakeLatencyCount++;
            next.waitingSince = -1;
        }
        current[p] = next;
        startedAt[p] = now;
        deadline[p] = saturatingAdd(now, d.sliceNanos());
    }

    private long cpuTime(long wallNanos) {
        return hostShare == 1.0 ? wallNanos : (long) (wallNanos * hostShare);
    }

    private static long saturatingAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
    }

    private int countVCpus(int domid) {
        int n = 0;
        for (SimVCpu v : vcpus) {
            if (v.domid() == domid) {
                n++;
            }
        }
        return n;
    }

    // ---- figures ---------------------------------------------------------------------------

    /** Forgets the figures gathered so far (e.g. after a warm-up). */
    public void resetStats() {
        for (SimVCpu v : vcpus) {
            v.cpuNanos = 0;
            v.maxWakeLatency = 0;
            v.wakeLatencySum = 0;
            v.wakeLatencyCount = 0;
            v.runs = 0;
        }
        Arrays.fill(busyNanos, 0);
        idleWhileRunnableNanos = 0;
        scheduleCalls = 0;
        statsSince = now;
    }

    public long elapsedNanos() {
        return now - statsSince;
    }

    /** CPU time of all vCPUs of {@code domid} since the last reset. */
    public long cpuNanos(int domid) {
        long sum = 0;
        for (SimVCpu v : vcpus) {
            if (v.domid() == domid) {
                sum += v.cpuNanos;
            }
        }
        return sum;
    }

    /** CPU time of the domain as a fraction of one pCPU over the elapsed time. */
    public double share(int domid) {
        return (double) cpuNanos(domid) / elapsedNanos();
    }

    public long busyNanos(int pcpu) {
        return busyNanos[pcpu];
    }

    /** Sum over pCPUs of time spent idle while a runnable vCPU allowed there was waiting. */
    public long idleWhileRunnableNanos() {
        return idleWhileRunnableNanos;
    }

    public long scheduleCalls() {
        return scheduleCalls;
    }

    public SimVCpu runningOn(int pcpu) {
        return current[pcpu];
    }

    public List<SimVCpu> vcpus() {
        return List.copyOf(vcpus);
    }

    public List<String> logLines() {
        return List.copyOf(log);
    }

    // ---- SchedulerContext ------------------------------------------------------------------

    @Override
    public String poolName() {
        return "Pool-0";
    }

    @Override
    public int[] pcpus() {
        return pcpus.clone();
    }

    @Override
    public long nowNanos() {
        return now;
    }

    @Override
    public void kick(int pcpu) {
        if (pcpu < 0 || pcpu >= pcpus.length) {
            throw new IllegalStateException("kick of unknown pCPU " + pcpu);
        }
        kicked[pcpu] = true;
    }

    @Override
    public void log(String message) {
        log.add(message);
    }
}
