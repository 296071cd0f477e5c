package org.xenj.sched.credit.internal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import org.xenj.hypervisor.spi.SchedVCpu;
import org.xenj.hypervisor.spi.ScheduleDecision;
import org.xenj.hypervisor.spi.SchedulerContext;
import org.xenj.hypervisor.spi.SchedulerInstance;

/**
 * One pool's credit scheduler (the semantics of Xen's sched_credit.c, our own code).
 *
 * <p>Each pCPU has a run queue ordered BOOST &gt; UNDER &gt; OVER. A vCPU burns credit (CPU time in
 * nanoseconds) exactly as it runs; once per timeslice {@link CreditAccounting} hands out the
 * period's CPU time to the active vCPUs in proportion to their domains' weights. Waking vCPUs that
 * still have credit are boosted and preempt the running vCPU (after the ratelimit); pCPUs that
 * would idle or run OVER work steal better work from their peers' queues; capped domains are parked
 * when their cap budget runs out.
 *
 * <p>There is no timer of our own: accounting runs in whichever {@link #schedule} call first finds
 * it due. Busy pCPUs call schedule at least once per timeslice; while capped vCPUs are parked,
 * every slice and idle period ends at the next accounting, so the parked vCPUs are released on time.
 *
 * <p>Called only under the pool's scheduling lock (see {@link SchedulerInstance}).
 */
final class CreditScheduler implements SchedulerInstance {

    /** Shortest slice ever granted (Xen's CSCHED_MIN_TIMER, the minimum ratelimit). */
    static final long MIN_SLICE_NANOS = CreditPoolParams.RATELIMIT_MIN_US * 1_000L;

    final SchedulerContext context;
    private final Supplier<CreditPoolParams> defaults;
    private final CreditAccounting accounting = new CreditAccounting(this);

    CreditPoolParams params;
    /** Set once someone configured this pool; then later ConfigAdmin defaults no longer apply to it. */
    private boolean explicitPoolParams;

    /** Per-vCPU state keyed by {@link SchedVCpu#index()}. */
    private CreditVCpu[] byIndex = new CreditVCpu[16];
    final Map<Integer, CreditDomain> domains = new HashMap<>();
    final List<CreditDomain> domainList = new ArrayList<>();

    /** Per-pCPU state, keyed by pCPU number. */
    private RunQueue[] runQueues = new RunQueue[0];
    private CreditVCpu[] current = new CreditVCpu[0];
    private long[] runStart = new long[0];
    int[] poolPcpus;

    long nextAccounting;
    int parkedCount;
    /** CPU time charged to the pool's vCPUs since the last accounting: what accounting hands out. */
    long burnedThisPeriod;
    /** The same per pCPU: the most any pCPU delivered is what one vCPU can use in a period. */
    long[] burnedOnPcpu = new long[0];

    CreditScheduler(SchedulerContext context, Supplier<CreditPoolParams> defaults) {
        this.context = context;
        this.defaults = defaults;
        this.params = defaults.get();
        refreshPcpus();
        this.nextAccounting = context.nowNanos() + params.tsliceNanos();
    }

    // ---- vCPU life cycle -------------------------------------------------------------------

    @Override
    public void insert(SchedVCpu vcpu, boolean runnable) {
        CreditVCpu existing = lookup(vcpu);
        if (existing != null) {
            // Adopted twice (e.g. a retried hand-over): only the runnable state can be new.
            if (runnable) {
                wake(vcpu, context.nowNanos());
            } else {
                sleep(vcpu, context.nowNanos());
            }
            return;
        }
        CreditDomain domain = domainOf(vcpu.domid(), true);
        if (!domain.configured && domain.vcpus.isEmpty()) {
            domain.weight = Math.max(CreditDomain.MIN_WEIGHT, Math.min(CreditDomain.MAX_WEIGHT, vcpu.weight()));
            domain.cap = Math.max(0, vcpu.cap());
            domain.capBudget = domain.capPerPeriod(params.tsliceNanos());
        }
        CreditVCpu v = new CreditVCpu(vcpu, domain);
        domain.vcpus.add(v);
        int index = vcpu.index();
        if (index >= byIndex.length) {
            byIndex = Arrays.copyOf(byIndex, Math.max(index + 1, byIndex.length * 2));
        }
        byIndex[index] = v;
        if (domain.isCapped() && domain.capBudget <= 0) {
            park(v);
        }
        if (runnable) {
            v.runnable = true;
            if (!v.parked) {
                enqueueAndTickle(v);
            }
        }
    }

    @Override
    public void remove(SchedVCpu vcpu) {
        CreditVCpu v = lookup(vcpu);
        if (v == null) {
            return;
        }
        if (v.isQueued()) {
            runQueues[v.queuedOn].remove(v);
        }
        if (v.isRunning() && current[v.runningOn] == v) {
            current[v.runningOn] = null;
            context.kick(v.runningOn);
        }
        if (v.parked) {
            parkedCount--;
        }
        byIndex[vcpu.index()] = null;
        CreditDomain domain = v.domain;
        domain.vcpus.remove(v);
        if (domain.vcpus.isEmpty()) {
            domains.remove(domain.domid);
            domainList.remove(domain);
        }
    }

    @Override
    public void wake(SchedVCpu vcpu, long nowNanos) {
        CreditVCpu v = lookup(vcpu);
        if (v == null) {
            return;
        }
        v.runnable = true;
        if (v.isRunning() || v.isQueued() || v.parked) {
            // Running: schedule() will see it runnable. Parked: the next accounting queues it.
            return;
        }
        if (v.priority == Priority.UNDER) {
            // Xen's boost: a vCPU waking with credit left (typically I/O bound) runs ahead of CPU hogs.
            v.priority = Priority.BOOST;
        }
        enqueueAndTickle(v);
    }

    @Override
    public void sleep(SchedVCpu vcpu, long nowNanos) {
        CreditVCpu v = lookup(vcpu);
        if (v == null) {
            return;
        }
        v.runnable = false;
        if (v.isQueued()) {
            runQueues[v.queuedOn].remove(v);
        }
        if (v.isRunning()) {
            context.kick(v.runningOn);
        }
    }

    // ---- the decision ----------------------------------------------------------------------

    @Override
    public ScheduleDecision schedule(int pcpu, long nowNanos, SchedVCpu prev, boolean prevRunnable, long prevRanNanos) {
        ensurePcpu(pcpu);
        if (nowNanos - nextAccounting >= 0) {
            accounting.run(nowNanos);
        }
        CreditVCpu was = current[pcpu];
        current[pcpu] = null;
        CreditVCpu p = prev == null ? null : lookup(prev);
        if (was != null && was.runningOn == pcpu) {
            was.runningOn = -1;
            if (was != p && was.runnable && !was.parked && !was.isQueued()) {
                // The core reports something else than what we started here: the vCPU we started is
                // evidently off this pCPU, so queue it rather than lose it.
                queueFor(was, pcpu).insert(was);
            }
        }
        if (p != null) {
            if (p.runningOn == pcpu) {
                p.runningOn = -1;
            }
            charge(p, Math.max(0, prevRanNanos));
            burnedOnPcpu[pcpu] += Math.max(0, prevRanNanos);
            p.runnable = prevRunnable;
            if (!prevRunnable && p.isQueued()) {
                runQueues[p.queuedOn].remove(p);
            }
            ScheduleDecision keep = ratelimited(pcpu, nowNanos, p, was);
            if (keep != null) {
                return keep;
            }
            if (prevRunnable && !p.parked && !p.isQueued() && !p.isRunning()) {
                queueFor(p, pcpu).insert(p);
            }
        }
        CreditVCpu next = pick(pcpu);
        if (next == null) {
            return parkedCount > 0
                    ? ScheduleDecision.idleFor(Math.max(MIN_SLICE_NANOS, nextAccounting - nowNanos))
                    : ScheduleDecision.idle();
        }
        runQueues[next.queuedOn].remove(next);
        next.runningOn = pcpu;
        current[pcpu] = next;
        if (next != was) {
            runStart[pcpu] = nowNanos;
        }
        kickIdlePeerFor(pcpu);
        return next.decision(sliceFor(next, params.tsliceNanos()));
    }

    /**
     * Xen's ratelimit: a vCPU that was switched in less than {@code ratelimit_us} ago keeps its
     * pCPU if it can still run, so wake-up storms cannot thrash the caches. Returns null otherwise.
     */
    private ScheduleDecision ratelimited(int pcpu, long now, CreditVCpu p, CreditVCpu was) {
        long ratelimit = params.ratelimitNanos();
        if (ratelimit == 0 || p != was || !p.runnable || p.parked || p.isQueued() || !p.vcpu.canRunOn(pcpu)) {
            return null;
        }
        long runtime = now - runStart[pcpu];
        if (runtime >= ratelimit) {
            return null;
        }
        p.runningOn = pcpu;
        current[pcpu] = p;
        return p.decision(sliceFor(p, ratelimit - runtime));
    }

    private long sliceFor(CreditVCpu v, long wanted) {
        long slice = wanted;
        if (v.priority == Priority.BOOST) {
            slice = Math.min(slice, params.tickNanos());
        }
        if (v.domain.isCapped()) {
            slice = Math.min(slice, v.domain.capBudget);
        }
        if (parkedCount > 0) {
            // Parked vCPUs are released by the next accounting: be back for it, as Xen's timer would.
            slice = Math.min(slice, nextAccounting - context.nowNanos());
        }
        return Math.max(slice, MIN_SLICE_NANOS);
    }

    /** Burns the credit of what ran; a boost lasts one run; a capped domain out of budget is parked. */
    private void charge(CreditVCpu v, long ranNanos) {
        if (ranNanos > 0) {
            v.credit -= ranNanos;
            v.ranThisPeriod = true;
            burnedThisPeriod += ranNanos;
        }
        if (v.priority == Priority.BOOST) {
            v.priority = Priority.UNDER;
        }
        v.refreshPriority();
        CreditDomain domain = v.domain;
        if (domain.isCapped()) {
            domain.capBudget -= ranNanos;
            if (domain.capBudget <= 0) {
                for (CreditVCpu sibling : domain.vcpus) {
                    park(sibling);
                }
            }
        }
    }

    private void park(CreditVCpu v) {
        if (v.parked) {
            return;
        }
        v.parked = true;
        parkedCount++;
        if (v.isQueued()) {
            runQueues[v.queuedOn].remove(v);
        }
        if (v.isRunning()) {
            context.kick(v.runningOn);
        }
    }

    /** Called by accounting when the domain has cap budget again. */
    void unpark(CreditVCpu v) {
        if (!v.parked) {
            return;
        }
        v.parked = false;
        parkedCount--;
        if (v.runnable && !v.isRunning() && !v.isQueued()) {
            enqueueAndTickle(v);
        }
    }

    /** The best local vCPU, or better work stolen from a peer if local work is only OVER (or none). */
    private CreditVCpu pick(int pcpu) {
        CreditVCpu local = firstAllowed(runQueues[pcpu].head(), pcpu, Priority.IDLE);
        if (local != null && local.priority >= Priority.UNDER) {
            return local;
        }
        CreditVCpu stolen = steal(pcpu, local == null ? Priority.IDLE : local.priority);
        return stolen != null ? stolen : local;
    }

    private static CreditVCpu firstAllowed(CreditVCpu from, int pcpu, int floor) {
        for (CreditVCpu v = from; v != null && v.priority > floor; v = v.queueNext) {
            if (v.vcpu.canRunOn(pcpu)) {
                return v;
            }
        }
        return null;
    }

    /** Xen's load balancing: the highest-priority vCPU, above {@code floor}, queued on a peer that may run here. */
    private CreditVCpu steal(int pcpu, int floor) {
        CreditVCpu best = null;
        int[] pcpus = poolPcpus;
        int start = indexOf(pcpus, pcpu);
        for (int i = 1; i <= pcpus.length; i++) {
            int peer = pcpus[(start + i) % pcpus.length];
            if (peer == pcpu || peer >= runQueues.length) {
                continue;
            }
            CreditVCpu candidate = firstAllowed(runQueues[peer].head(), pcpu, best == null ? floor : best.priority);
            if (candidate != null) {
                best = candidate;
            }
        }
        return best;
    }

    /** Work conservation: if work is still queued here, an idle peer that may run it is asked to steal it. */
    private void kickIdlePeerFor(int pcpu) {
        RunQueue queue = runQueues[pcpu];
        if (queue.isEmpty()) {
            return;
        }
        for (int peer : poolPcpus) {
            if (peer != pcpu && peer < current.length && current[peer] == null
                    && firstAllowed(queue.head(), peer, Priority.IDLE) != null) {
                context.kick(peer);
                return;
            }
        }
    }

    /** Queues a runnable vCPU (preferring an idle pCPU it may use) and tickles a pCPU to run it. */
    private void enqueueAndTickle(CreditVCpu v) {
        int target = pcpuForWake(v);
        ensurePcpu(target);
        runQueues[target].insert(v);
        CreditVCpu running = current[target];
        if (running == null || v.priority > running.priority) {
            context.kick(target);
        }
    }

    private int pcpuForWake(CreditVCpu v) {
        int last = v.vcpu.lastPcpu();
        boolean lastUsable = last >= 0 && indexOf(poolPcpus, last) >= 0 && v.vcpu.canRunOn(last);
        if (lastUsable && isIdle(last)) {
            return last;
        }
        for (int pcpu : poolPcpus) {
            if (v.vcpu.canRunOn(pcpu) && isIdle(pcpu)) {
                return pcpu;
            }
        }
        if (lastUsable) {
            return last;
        }
        for (int pcpu : poolPcpus) {
            if (v.vcpu.canRunOn(pcpu)) {
                return pcpu;
            }
        }
        context.log("credit: " + v + " may run on no pCPU of pool " + context.poolName() + "; it waits");
        return poolPcpus.length > 0 ? poolPcpus[0] : 0;
    }

    private boolean isIdle(int pcpu) {
        return pcpu >= current.length || current[pcpu] == null;
    }

    /** The queue a descheduled vCPU goes back to: this pCPU's if affinity still allows it. */
    private RunQueue queueFor(CreditVCpu v, int pcpu) {
        if (v.vcpu.canRunOn(pcpu)) {
            return runQueues[pcpu];
        }
        int target = pcpuForWake(v);
        ensurePcpu(target);
        context.kick(target);
        return runQueues[target];
    }

    // ---- parameters ------------------------------------------------------------------------

    @Override
    public void setDomainParams(int domid, Map<String, String> params) {
        domainOf(domid, true).apply(params, this.params.tsliceNanos());
    }

    @Override
    public Map<String, String> domainParams(int domid) {
        CreditDomain domain = domains.get(domid);
        return domain == null ? Map.of() : domain.toMap();
    }

    @Override
    public void setPoolParams(Map<String, String> changes) {
        CreditPoolParams updated = params.with(changes);
        explicitPoolParams = true;
        applyPoolParams(updated);
    }

    @Override
    public Map<String, String> poolParams() {
        return params.toMap();
    }

    /** Called at accounting: picks up new ConfigAdmin defaults unless this pool was configured by hand. */
    void refreshDefaults() {
        CreditPoolParams latest = defaults.get();
        if (!explicitPoolParams && !latest.equals(params)) {
            applyPoolParams(latest);
        }
    }

    private void applyPoolParams(CreditPoolParams updated) {
        params = updated;
        long soonest = context.nowNanos() + updated.tsliceNanos();
        if (soonest - nextAccounting < 0) {
            nextAccounting = soonest;
        }
    }

    // ---- bookkeeping -----------------------------------------------------------------------

    private CreditVCpu lookup(SchedVCpu vcpu) {
        int index = vcpu.index();
        if (index < 0 || index >= byIndex.length) {
            return null;
        }
        CreditVCpu v = byIndex[index];
        return v != null && v.vcpu == vcpu ? v : null;
    }

    private CreditDomain domainOf(int domid, boolean create) {
        CreditDomain domain = domains.get(domid);
        if (domain == null && create) {
            domain = new CreditDomain(domid);
            domains.put(domid, domain);
            domainList.add(domain);
        }
        return domain;
    }

    void refreshPcpus() {
        poolPcpus = context.pcpus();
        for (int pcpu : poolPcpus) {
            ensurePcpu(pcpu);
        }
    }

    private void ensurePcpu(int pcpu) {
        if (pcpu < runQueues.length) {
            return;
        }
        int size = pcpu + 1;
        int old = runQueues.length;
        runQueues = Arrays.copyOf(runQueues, size);
        for (int i = old; i < size; i++) {
            runQueues[i] = new RunQueue(i);
        }
        current = Arrays.copyOf(current, size);
        runStart = Arrays.copyOf(runStart, size);
        burnedOnPcpu = Arrays.copyOf(burnedOnPcpu, size);
    }

    RunQueue[] runQueues() {
        return runQueues;
    }

    private static int indexOf(int[] array, int value) {
        for (int i = 0; i < array.length; i++) {
            if (array[i] == value) {
                return i;
            }
        }
        return -1;
    }

    @Override
    public String toString() {
        return "credit[" + context.poolName() + " " + params + ", " + domainList.size() + " domains]";
    }
}
