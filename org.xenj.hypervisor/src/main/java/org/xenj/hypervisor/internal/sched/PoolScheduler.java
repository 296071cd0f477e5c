package org.xenj.hypervisor.internal.sched;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

import org.xenj.hypervisor.internal.exec.VCpuExecutor.RunExit;
import org.xenj.hypervisor.spi.SchedVCpu;
import org.xenj.hypervisor.spi.ScheduleDecision;
import org.xenj.hypervisor.spi.SchedulerContext;
import org.xenj.hypervisor.spi.SchedulerInstance;
import org.xenj.hypervisor.spi.SchedulerType;

/**
 * The mechanism half of one cpupool's scheduling: its lock, its pCPUs and domains, and the
 * current {@link SchedulerInstance} (the policy), which it calls only with the lock held. It
 * keeps the core's promises whatever the policy does: a vCPU executing on one pCPU is never
 * dispatched on another, and every runnable vCPU is known to the current instance.
 *
 * <p>Hot-swap ({@link #swap}): the new instance is built outside the lock, then, under the lock,
 * given every vCPU (runnable or not; vCPUs still executing arrive as not runnable and are woken
 * into the new instance when their pCPU hands them back), and switched in. The old instance is
 * disposed after the lock is released. pCPUs find out by comparing the instance that made their
 * last decision with the current one.
 */
public final class PoolScheduler {

    private final ReentrantLock lock = new ReentrantLock();
    private final String name;
    private final PCpu[] allPcpus;
    private final Consumer<String> log;
    private volatile int[] pcpus = new int[0];
    private volatile long[] pcpuBits = new long[0];

    // --- guarded by lock ---
    private final List<SchedDomain> domains = new ArrayList<>();
    private SchedulerInstance instance;
    private SchedulerType type;
    private long swaps;
    private long policyFaults;

    PoolScheduler(String name, PCpu[] allPcpus, Consumer<String> log) {
        this.name = name;
        this.allPcpus = allPcpus;
        this.log = log;
    }

    public String name() {
        return name;
    }

    public int[] pcpus() {
        return pcpus.clone();
    }

    boolean contains(int pcpu) {
        return Bits.test(pcpuBits, pcpu);
    }

    boolean intersects(long[] bits) {
        long[] mine = pcpuBits;
        for (int i = 0; i < Math.min(bits.length, mine.length); i++) {
            if ((bits[i] & mine[i]) != 0) {
                return true;
            }
        }
        return false;
    }

    /** The scheduler type in use, or null while the pool has none. */
    public SchedulerType type() {
        lock.lock();
        try {
            return type;
        } finally {
            lock.unlock();
        }
    }

    /** Runs {@code action} on the current instance under the lock; null instance gives null. */
    public <T> T withInstance(java.util.function.Function<SchedulerInstance, T> action) {
        lock.lock();
        try {
            return instance == null ? null : action.apply(instance);
        } finally {
            lock.unlock();
        }
    }

    public long swaps() {
        lock.lock();
        try {
            return swaps;
        } finally {
            lock.unlock();
        }
    }

    /** How often the policy returned something the core had to refuse (a scheduler bug). */
    public long policyFaults() {
        lock.lock();
        try {
            return policyFaults;
        } finally {
            lock.unlock();
        }
    }

    public List<SchedDomain> domains() {
        lock.lock();
        try {
            return new ArrayList<>(domains);
        } finally {
            lock.unlock();
        }
    }

    void lock() {
        // critical sections are a few microseconds: spin briefly before parking, because a parked
        // pCPU thread on a busy host may wait milliseconds for the OS to run it again
        for (int i = 0; i < 256; i++) {
            if (lock.tryLock()) {
                return;
            }
            Thread.onSpinWait();
        }
        lock.lock();
    }

    void unlock() {
        lock.unlock();
    }

    /** Locks the pool {@code d} currently belongs to (its pool may change until we hold the lock). */
    static PoolScheduler lockPoolOf(SchedDomain d) {
        while (true) {
            PoolScheduler p = d.pool;
            p.lock();
            if (d.pool == p) {
                return p;
            }
            p.lock.unlock();
        }
    }

    // ------------------------------------------------------------------ vCPU state changes

    /**
     * Brings the instance's view of a vCPU in line with whether it wants to run. Lock held. An
     * executing vCPU that must stop is asked to exit; its pCPU settles it on return.
     */
    void refresh(VCpu v) {
        if (v.executingOn >= 0) {
            if (!v.wantsToRun()) {
                v.executor.requestExit();
            }
            return;
        }
        SchedulerInstance inst = instance;
        if (inst == null) {
            v.schedRunnable = false;
            return;
        }
        boolean want = v.wantsToRun();
        if (want == v.schedRunnable) {
            return;
        }
        long now = System.nanoTime();
        try {
            if (want) {
                v.schedRunnable = true;
                inst.wake(v, now);
                kickIdleFor(v);
            } else {
                v.schedRunnable = false;
                inst.sleep(v, now);
            }
        } catch (RuntimeException | LinkageError e) {
            policyFault(v, e);
        }
    }

    private void policyFault(VCpu v, Throwable e) {
        policyFaults++;
        log.accept("scheduler " + typeName() + " of " + name + " failed on " + v + ": " + e);
        v.domain.listener.schedulerFailed(v, e);
    }

    private String typeName() {
        SchedulerType t = type;
        try {
            return t == null ? "none" : t.name();
        } catch (RuntimeException e) {
            return "?";
        }
    }

    /**
     * Makes sure some idle pCPU that may run {@code v} looks at the queue, in case the policy
     * does not tickle one itself. Idle pCPUs only: preempting is the policy's business.
     */
    void kickIdleFor(VCpu v) {
        int last = v.lastPcpu;
        if (last >= 0 && contains(last) && allPcpus[last].isIdle() && v.canRunOn(last)) {
            allPcpus[last].kick();
            return;
        }
        for (int c : pcpus) {
            if (allPcpus[c].isIdle() && v.canRunOn(c)) {
                allPcpus[c].kick();
                return;
            }
        }
    }

    /** Sets whether a domain may run (pause/unpause, built, shut down). */
    public void setActive(SchedDomain d, boolean active) {
        PoolScheduler p = lockPoolOf(d);
        try {
            d.active = active;
            for (VCpu v : d.vcpus) {
                p.refresh(v);
            }
        } finally {
            p.unlock();
        }
    }

    /** Re-evaluates one vCPU (e.g. its executor appeared, or its affinity changed). */
    public static void refreshVCpu(VCpu v) {
        PoolScheduler p = lockPoolOf(v.domain);
        try {
            p.refresh(v);
            int on = v.executingOn;
            if (on >= 0 && !v.canRunOn(on)) {
                v.executor.requestExit();
            }
        } finally {
            p.unlock();
        }
    }

    /**
     * Hard affinity changed: the policy is made to place the vCPU again (sleep + wake), and an
     * executing vCPU now on a forbidden pCPU is asked to leave it.
     */
    public static void affinityChanged(VCpu v, long[] affinity) {
        PoolScheduler p = lockPoolOf(v.domain);
        try {
            v.hardAffinity = affinity;
            if (v.executingOn >= 0) {
                if (!v.canRunOn(v.executingOn)) {
                    v.executor.requestExit();
                }
            } else if (v.schedRunnable && p.instance != null) {
                v.schedRunnable = false;
                try {
                    p.instance.sleep(v, System.nanoTime());
                } catch (RuntimeException | LinkageError e) {
                    p.policyFault(v, e);
                }
                p.refresh(v);
            }
        } finally {
            p.unlock();
        }
    }

    /** Adds a new domain (not active yet). */
    void addDomain(SchedDomain d) {
        lock.lock();
        try {
            d.pool = this;
            domains.add(d);
            for (VCpu v : d.vcpus) {
                v.schedRunnable = false;
                if (instance != null) {
                    try {
                        instance.insert(v, false);
                    } catch (RuntimeException | LinkageError e) {
                        policyFault(v, e);
                    }
                }
            }
            replayDomainParams(instance, d);
        } finally {
            lock.unlock();
        }
    }

    /** Takes a domain out for good: its vCPUs never run again; executing ones are asked to exit. */
    void removeDomain(SchedDomain d) {
        PoolScheduler p = lockPoolOf(d);
        try {
            p.detach(d);
        } finally {
            p.unlock();
        }
    }

    /** Lock held. */
    private void detach(SchedDomain d) {
        d.active = false;
        for (VCpu v : d.vcpus) {
            v.removed = true;
            if (instance != null) {
                try {
                    instance.remove(v);
                } catch (RuntimeException | LinkageError e) {
                    policyFault(v, e);
                }
            }
            v.schedRunnable = false;
            if (v.executingOn >= 0) {
                v.executor.requestExit();
            }
        }
        domains.remove(d);
    }

    /** Moves a domain to {@code to} with its vCPUs' state. Takes both locks in a fixed order. */
    static void migrate(SchedDomain d, PoolScheduler to) {
        while (true) {
            PoolScheduler from = d.pool;
            if (from == to) {
                return;
            }
            PoolScheduler first = System.identityHashCode(from) <= System.identityHashCode(to) ? from : to;
            PoolScheduler second = first == from ? to : from;
            first.lock.lock();
            second.lock.lock();
            try {
                if (d.pool != from) {
                    continue;
                }
                if (!from.domains.contains(d)) {
                    return; // destroyed meanwhile (the caller looked it up before): nothing to move
                }
                for (VCpu v : d.vcpus) {
                    if (from.instance != null) {
                        try {
                            from.instance.remove(v);
                        } catch (RuntimeException | LinkageError e) {
                            from.policyFault(v, e);
                        }
                    }
                }
                from.domains.remove(d);
                d.pool = to;
                to.domains.add(d);
                for (VCpu v : d.vcpus) {
                    v.schedRunnable = false;
                    if (to.instance != null) {
                        try {
                            to.instance.insert(v, false);
                        } catch (RuntimeException | LinkageError e) {
                            to.policyFault(v, e);
                        }
                    }
                }
                to.replayDomainParams(to.instance, d);
                for (VCpu v : d.vcpus) {
                    to.refresh(v);
                    if (v.executingOn >= 0) {
                        v.executor.requestExit(); // it is on a pCPU of the old pool
                    }
                }
                return;
            } finally {
                second.lock.unlock();
                first.lock.unlock();
            }
        }
    }

    private void replayDomainParams(SchedulerInstance inst, SchedDomain d) {
        if (inst == null) {
            return;
        }
        Map<String, String> extra = d.extraParams();
        if (!extra.isEmpty()) {
            try {
                inst.setDomainParams(d.domid, extra);
            } catch (RuntimeException | LinkageError e) {
                log.accept("scheduler " + typeName() + " of " + name + " refused d" + d.domid + " parameters " + extra + ": " + e);
            }
        }
    }

    // ------------------------------------------------------------------ hot-swap

    /** What a swap measured. */
    public record SwapResult(long lockHeldNanos, int vcpus) {
    }

    /**
     * Replaces the pool's scheduler instance with a fresh one of {@code newType} (null: no
     * scheduler, the pool's domains stop running) on the pCPUs {@code newPcpus} (null: keep).
     * {@code poolParams} are applied to the new instance before it sees any vCPU.
     */
    public SwapResult swap(SchedulerType newType, Map<String, String> poolParams, int[] newPcpus) {
        int[] targetPcpus = newPcpus == null ? pcpus.clone() : newPcpus.clone();
        SchedulerInstance fresh = null;
        if (newType != null) {
            fresh = newType.createInstance(new Context(targetPcpus));
            if (poolParams != null && !poolParams.isEmpty()) {
                try {
                    fresh.setPoolParams(poolParams);
                } catch (IllegalArgumentException e) {
                    log.accept("pool " + name + ": stored parameters " + poolParams + " refused by " + newType.name() + ": " + e.getMessage());
                }
            }
        }
        SchedulerInstance old;
        long held;
        int count = 0;
        lock.lock();
        long t0 = System.nanoTime();
        try {
            if (newPcpus != null) {
                pcpus = targetPcpus;
                pcpuBits = Bits.of(targetPcpus);
            }
            List<VCpu> all = new ArrayList<>();
            for (SchedDomain d : domains) {
                for (VCpu v : d.vcpus) {
                    if (!v.removed) {
                        all.add(v);
                    }
                }
            }
            boolean[] runnable = new boolean[all.size()];
            if (fresh != null) {
                for (int i = 0; i < all.size(); i++) {
                    VCpu v = all.get(i);
                    runnable[i] = v.wantsToRun() && v.executingOn < 0;
                    fresh.insert(v, runnable[i]); // a throwing policy aborts the swap: the old one stays
                }
                for (SchedDomain d : domains) {
                    replayDomainParams(fresh, d);
                }
            }
            for (int i = 0; i < all.size(); i++) {
                VCpu v = all.get(i);
                v.schedRunnable = runnable[i];
                if (fresh == null && v.executingOn >= 0) {
                    v.executor.requestExit(); // no scheduler: the pool's domains wait, paused
                } else if (v.executingOn >= 0 && !v.canRunOn(v.executingOn)) {
                    v.executor.requestExit(); // its pCPU left the pool
                }
            }
            count = all.size();
            old = instance;
            instance = fresh;
            type = newType;
            swaps++;
        } finally {
            held = System.nanoTime() - t0;
            lock.unlock();
        }
        for (int c : targetPcpus) {
            allPcpus[c].kick();
        }
        if (old != null) {
            try {
                old.dispose();
            } catch (RuntimeException | LinkageError e) {
                log.accept("pool " + name + ": disposing the old scheduler failed: " + e);
            }
        }
        return new SwapResult(held, count);
    }

    // ------------------------------------------------------------------ pCPU side

    /**
     * A pCPU hands back the vCPU it ran. Lock held. Returns whether the vCPU can run on.
     */
    boolean vcpuReturned(VCpu v, RunExit exit, Throwable cause, int pcpu) {
        v.executingOn = -1;
        v.lastPcpu = pcpu;
        switch (exit) {
            case BLOCKED -> {
                boolean pending = v.wakePending;
                if (!pending) {
                    try {
                        pending = v.executor.wakeupPending();
                    } catch (RuntimeException | LinkageError e) {
                        pending = true; // err on the side of running; the executor will block again
                    }
                }
                v.blocked = !pending;
            }
            case SHUTDOWN, CRASH -> {
                if (!v.stopped) {
                    v.stopped = true;
                    v.domain.listener.vcpuStopped(v, exit, cause);
                }
            }
            default -> {
            }
        }
        v.wakePending = false;
        if (v.removed || !v.domain.active) {
            synchronized (v.domain) {
                v.domain.notifyAll(); // someone may wait for the domain to quiesce
            }
        }
        return v.wantsToRun();
    }

    /**
     * Asks the policy what {@code pcpu} runs next and claims it. Lock held. Returns the vCPU to
     * execute (its {@link VCpu#executingOn} already set) or null, with the slice or idle time in
     * {@code out[0]}.
     */
    VCpu pick(PCpu pcpu, long now, VCpu prev, boolean prevRunnable, long prevRan, long[] out) {
        SchedulerInstance inst = instance;
        pcpu.decisionInstance = inst;
        if (inst == null) {
            out[0] = Long.MAX_VALUE;
            return null;
        }
        SchedVCpu handBack = prev;
        boolean handBackRunnable = prevRunnable;
        long handBackRan = prevRan;
        VCpu[] bounced = null;
        VCpu chosen = null;
        out[0] = 1_000_000L; // after repeated refusals: idle a little, a faulty policy must not spin the pCPU
        for (int attempt = 0; attempt < 4; attempt++) {
            ScheduleDecision d;
            try {
                d = inst.schedule(pcpu.id, now, handBack, handBackRunnable, handBackRan);
            } catch (Throwable e) { // even an Error from a policy must not end the pCPU thread
                if (handBack instanceof VCpu hv) {
                    policyFault(hv, e);
                } else {
                    countFault("failed on pCPU " + pcpu.id + ": " + e);
                }
                break;
            }
            if (d == null || d.next() == null) {
                out[0] = d == null ? 1_000_000L : Math.max(d.sliceNanos(), 1_000L);
                break;
            }
            handBack = null;
            handBackRunnable = false;
            handBackRan = 0;
            if (!(d.next() instanceof VCpu v) || v.domain.pool != this || v.removed) {
                countFault("picked a vCPU not in the pool: " + d.next());
                continue;
            }
            if (v.executingOn >= 0) {
                // already on another pCPU: running it here would run it twice. That pCPU hands it back.
                countFault("picked " + v + " which runs on pCPU " + v.executingOn);
                continue;
            }
            if (!v.wantsToRun() || !v.canRunOn(pcpu.id)) {
                countFault("picked " + v + " which may not run on pCPU " + pcpu.id + " now");
                v.schedRunnable = false;
                handBack = v; // give it back asleep; woken again below if it wants to run
                if (bounced == null) {
                    bounced = new VCpu[4];
                }
                bounced[attempt] = v;
                continue;
            }
            v.executingOn = pcpu.id;
            v.schedRunnable = false;
            out[0] = Math.max(d.sliceNanos(), 1_000L);
            chosen = v;
            break;
        }
        if (bounced != null) {
            for (VCpu b : bounced) {
                if (b != null && b != chosen && b.executingOn < 0) {
                    refresh(b);
                }
            }
        }
        return chosen;
    }

    private void countFault(String what) {
        if (policyFaults++ < 20) {
            log.accept("scheduler " + typeName() + " of " + name + " " + what);
        }
    }

    SchedulerInstance instance() {
        return instance;
    }

    /** The SchedulerContext a pool's instance gets. */
    private final class Context implements SchedulerContext {
        private final int[] initialPcpus;

        Context(int[] initialPcpus) {
            this.initialPcpus = initialPcpus;
        }

        @Override
        public String poolName() {
            return name;
        }

        @Override
        public int[] pcpus() {
            return initialPcpus.clone(); // a change of the pool's pCPUs always brings a new instance
        }

        @Override
        public long nowNanos() {
            return System.nanoTime();
        }

        @Override
        public void kick(int pcpu) {
            if (pcpu >= 0 && pcpu < allPcpus.length) {
                allPcpus[pcpu].kick();
            }
        }

        @Override
        public void log(String message) {
            PoolScheduler.this.log.accept(name + ": " + message);
        }
    }
}
