package org.xenj.hypervisor.internal.pool;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

import org.xenj.hypervisor.api.CpuPoolInfo;
import org.xenj.hypervisor.api.CpuPools;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.internal.sched.PoolScheduler;
import org.xenj.hypervisor.internal.sched.SchedDomain;
import org.xenj.hypervisor.internal.sched.SchedulingCore;
import org.xenj.hypervisor.spi.SchedulerType;

/**
 * Cpupools and which scheduler type each runs. Decides, whenever types come and go, what every
 * pool should run: the type the user asked for if registered, else the one it runs if still
 * registered, else any registered type (so stopping one scheduler bundle and starting another
 * moves the pools over), else none — then the pool's domains wait, paused.
 */
public final class CpuPoolManager implements CpuPools {

    public static final String WEIGHT = "weight";
    public static final String CAP = "cap";

    private final SchedulingCore core;
    private final DomainDirectory directory;
    private final Consumer<String> log;
    private final SchedulerRegistry registry = new SchedulerRegistry();
    private final Map<String, CpuPool> pools = new LinkedHashMap<>();
    private final String defaultScheduler;
    private int nextPoolId;
    private volatile PoolScheduler.SwapResult lastSwap;

    public CpuPoolManager(SchedulingCore core, DomainDirectory directory, String defaultScheduler, Consumer<String> log) {
        this.core = core;
        this.directory = directory;
        this.log = log;
        this.defaultScheduler = defaultScheduler;
        int[] all = new int[core.nrPcpus()];
        Arrays.setAll(all, i -> i);
        CpuPool pool0 = new CpuPool(nextPoolId++, DEFAULT_POOL, core.newPool(DEFAULT_POOL), defaultScheduler);
        pools.put(DEFAULT_POOL, pool0);
        pool0.sched.swap(null, null, all);
        core.attachPcpus(pool0.sched, all);
    }

    public String defaultScheduler() {
        return defaultScheduler;
    }

    public synchronized List<String> availableSchedulers() {
        return registry.names();
    }

    /** The scheduling side of a pool, for placing new domains; throws if there is no such pool. */
    public synchronized PoolScheduler pool(String name) {
        return require(name).sched;
    }

    /** Figures of the last hot-swap (for the benchmark and tests). */
    public PoolScheduler.SwapResult lastSwap() {
        return lastSwap;
    }

    // ------------------------------------------------------------------ scheduler types

    public synchronized void typeAdded(SchedulerType t) {
        registry.add(t);
        log.accept("scheduler '" + SchedulerRegistry.nameOf(t) + "' registered");
        reconcileAll();
    }

    public synchronized void typeRemoved(SchedulerType t) {
        if (registry.remove(t)) {
            log.accept("scheduler '" + SchedulerRegistry.nameOf(t) + "' unregistered");
            reconcileAll();
        }
    }

    private void reconcileAll() {
        for (CpuPool p : pools.values()) {
            reconcile(p);
        }
    }

    /** Puts the pool onto the type it should run now, if that is not the one it runs. */
    private void reconcile(CpuPool p) {
        SchedulerType current = p.sched.type();
        SchedulerType target = registry.byName(p.wantedScheduler);
        if (target == null) {
            target = current != null && registry.contains(current) ? current : registry.any(defaultScheduler);
        }
        if (target == current) {
            return;
        }
        switchTo(p, target);
    }

    private void switchTo(CpuPool p, SchedulerType target) {
        String name = target == null ? null : SchedulerRegistry.nameOf(target);
        try {
            lastSwap = p.sched.swap(target, name == null ? null : p.paramsFor(name), null);
            if (target == null) {
                log.accept("pool " + p.name + ": no scheduler, its domains wait paused");
            } else {
                log.accept("pool " + p.name + ": now scheduled by '" + name + "' (" + lastSwap.vcpus() + " vCPUs handed over in "
                        + lastSwap.lockHeldNanos() / 1000 + " us)");
            }
        } catch (RuntimeException | LinkageError e) {
            log.accept("pool " + p.name + ": switching to '" + name + "' failed, keeping the old scheduler: " + e);
            throw new HypervisorException("cannot switch pool " + p.name + " to scheduler '" + name + "': " + e.getMessage(), e);
        }
    }

    // ------------------------------------------------------------------ CpuPools

    @Override
    public synchronized List<CpuPoolInfo> list() {
        List<CpuPoolInfo> out = new ArrayList<>();
        for (CpuPool p : pools.values()) {
            SchedulerType t = p.sched.type();
            String sched = t == null ? "none (wants " + p.wantedScheduler + ")" : SchedulerRegistry.nameOf(t);
            out.add(new CpuPoolInfo(p.id, p.name, sched, p.sched.pcpus(), p.sched.domains().size()));
        }
        return out;
    }

    @Override
    public synchronized CpuPoolInfo create(String name, String scheduler, int[] pcpus) {
        if (name == null || !name.matches("[A-Za-z0-9_.-]{1,64}") || name.matches("[0-9]+")) {
            throw new HypervisorException("bad cpupool name '" + name + "': use 1-64 letters, digits, '_', '.', '-', not only digits");
        }
        if (pools.containsKey(name)) {
            throw new HypervisorException("cpupool '" + name + "' already exists");
        }
        String schedName = scheduler == null || scheduler.isBlank() ? defaultScheduler : scheduler.trim();
        SchedulerType type = registry.byName(schedName);
        if (type == null) {
            throw new HypervisorException("scheduler '" + schedName + "' is not available (available: " + registry.names() + ")");
        }
        CpuPool pool0 = pools.get(DEFAULT_POOL);
        int[] take = checkTakeable(pcpus, pool0);
        int[] remaining = Arrays.stream(pool0.sched.pcpus()).filter(c -> Arrays.stream(take).noneMatch(t -> t == c)).toArray();
        if (remaining.length == 0) {
            throw new HypervisorException("cpupool " + DEFAULT_POOL + " must keep at least one pCPU");
        }
        CpuPool p = new CpuPool(nextPoolId++, name, core.newPool(name), schedName);
        movePcpus(pool0, p, take, remaining, take);
        pools.put(name, p);
        log.accept("cpupool " + name + " created with pCPUs " + Arrays.toString(take) + ", scheduler " + schedName);
        return new CpuPoolInfo(p.id, p.name, schedName, p.sched.pcpus(), 0);
    }

    private int[] checkTakeable(int[] pcpus, CpuPool pool0) {
        if (pcpus == null || pcpus.length == 0) {
            throw new HypervisorException("a cpupool needs at least one pCPU");
        }
        int[] sorted = Arrays.stream(pcpus).distinct().sorted().toArray();
        int[] in0 = pool0.sched.pcpus();
        for (int c : sorted) {
            if (c < 0 || c >= core.nrPcpus()) {
                throw new HypervisorException("no pCPU " + c + " (there are " + core.nrPcpus() + ", 0.." + (core.nrPcpus() - 1) + ")");
            }
            if (Arrays.stream(in0).noneMatch(x -> x == c)) {
                throw new HypervisorException("pCPU " + c + " is not in " + DEFAULT_POOL);
            }
        }
        return sorted;
    }

    /** Moves pCPUs {@code ids} from one pool to another, rebuilding both pools' instances. */
    private void movePcpus(CpuPool from, CpuPool to, int[] ids, int[] fromAfter, int[] toAfter) {
        core.detachPcpus(from.sched, ids);
        SchedulerType fromType = from.sched.type();
        from.sched.swap(fromType, fromType == null ? null : from.paramsFor(SchedulerRegistry.nameOf(fromType)), fromAfter);
        SchedulerType toType = to.sched.type();
        if (toType == null || !registry.contains(toType)) {
            toType = registry.byName(to.wantedScheduler);
        }
        String toName = toType == null ? null : SchedulerRegistry.nameOf(toType);
        to.sched.swap(toType, toName == null ? null : to.paramsFor(toName), toAfter);
        core.attachPcpus(to.sched, ids);
    }

    @Override
    public synchronized void destroy(String name) {
        CpuPool p = require(name);
        if (p.name.equals(DEFAULT_POOL)) {
            throw new HypervisorException("cpupool " + DEFAULT_POOL + " cannot be destroyed");
        }
        int n = p.sched.domains().size();
        if (n > 0) {
            throw new HypervisorException("cpupool " + name + " still has " + n + " domain(s); migrate or destroy them first");
        }
        CpuPool pool0 = pools.get(DEFAULT_POOL);
        int[] ids = p.sched.pcpus();
        int[] after0 = Arrays.stream(concat(pool0.sched.pcpus(), ids)).sorted().toArray();
        // the empty pool gets no policy instance at all (a policy may not cope with zero pCPUs)
        core.detachPcpus(p.sched, ids);
        p.sched.swap(null, null, new int[0]);
        SchedulerType t0 = pool0.sched.type();
        pool0.sched.swap(t0, t0 == null ? null : pool0.paramsFor(SchedulerRegistry.nameOf(t0)), after0);
        core.attachPcpus(pool0.sched, ids);
        pools.remove(name);
        log.accept("cpupool " + name + " destroyed; pCPUs " + Arrays.toString(ids) + " back in " + DEFAULT_POOL);
    }

    private static int[] concat(int[] a, int[] b) {
        int[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    @Override
    public synchronized void migrate(int domid, String pool) {
        CpuPool target = require(pool);
        SchedDomain d = directory.schedDomain(domid);
        if (d.pool() == target.sched) {
            return;
        }
        core.migrate(d, target.sched);
        log.accept("d" + domid + " (" + directory.domainName(domid) + ") moved to cpupool " + pool);
    }

    /** The name of the pool a domain is in. */
    public synchronized String poolOf(SchedDomain d) {
        for (CpuPool p : pools.values()) {
            if (p.sched == d.pool()) {
                return p.name;
            }
        }
        return "?";
    }

    @Override
    public synchronized void setScheduler(String pool, String scheduler) {
        CpuPool p = require(pool);
        if (scheduler == null || scheduler.isBlank()) {
            throw new HypervisorException("no scheduler name given");
        }
        SchedulerType t = registry.byName(scheduler.trim());
        if (t == null) {
            throw new HypervisorException("scheduler '" + scheduler + "' is not available (available: " + registry.names() + ")");
        }
        p.wantedScheduler = scheduler.trim();
        switchTo(p, t);
    }

    @Override
    public synchronized Map<String, String> domainParams(int domid) {
        SchedDomain d = directory.schedDomain(domid);
        Map<String, String> out = new TreeMap<>(d.extraParams());
        Map<String, String> fromPolicy = d.pool().withInstance(i -> i.domainParams(domid));
        if (fromPolicy != null) {
            out.putAll(fromPolicy);
        }
        out.put(WEIGHT, Integer.toString(d.weight()));
        out.put(CAP, Integer.toString(d.cap()));
        return out;
    }

    @Override
    public synchronized void setDomainParams(int domid, Map<String, String> params) {
        SchedDomain d = directory.schedDomain(domid);
        if (params == null) {
            throw new HypervisorException("no parameters given");
        }
        Map<String, String> copy = new TreeMap<>(params);
        Integer weight = copy.containsKey(WEIGHT) ? parseInt(WEIGHT, copy.get(WEIGHT), 1, 65535) : null;
        Integer cap = copy.containsKey(CAP) ? parseInt(CAP, copy.get(CAP), 0, 6400) : null;
        try {
            d.pool().withInstance(i -> {
                i.setDomainParams(domid, copy);
                return null;
            });
        } catch (IllegalArgumentException e) {
            throw new HypervisorException("scheduler refused parameters for domain " + domid + ": " + e.getMessage(), e);
        }
        if (weight != null) {
            d.setWeight(weight);
        }
        if (cap != null) {
            d.setCap(cap);
        }
        copy.remove(WEIGHT);
        copy.remove(CAP);
        d.putExtraParams(copy);
    }

    /** Sets weight/cap before a domain is scheduled (from its config). */
    public static void initialParams(SchedDomain d, int weight, int cap) {
        d.setWeight(weight);
        d.setCap(cap);
    }

    private static int parseInt(String key, String value, int min, int max) {
        try {
            int v = Integer.parseInt(value.trim());
            if (v < min || v > max) {
                throw new HypervisorException(key + " must be " + min + ".." + max + ", was " + v);
            }
            return v;
        } catch (NumberFormatException | NullPointerException e) {
            throw new HypervisorException(key + " must be a number " + min + ".." + max + ", was '" + value + "'");
        }
    }

    @Override
    public synchronized Map<String, String> poolParams(String pool) {
        CpuPool p = require(pool);
        SchedulerType t = p.sched.type();
        Map<String, String> out = new TreeMap<>();
        if (t == null) {
            return out;
        }
        try {
            out.putAll(t.defaultPoolParams());
        } catch (RuntimeException e) {
            // a type without defaults still shows what its instance reports
        }
        Map<String, String> live = p.sched.withInstance(i -> i.poolParams());
        if (live != null) {
            out.putAll(live);
        }
        return out;
    }

    @Override
    public synchronized void setPoolParams(String pool, Map<String, String> params) {
        CpuPool p = require(pool);
        SchedulerType t = p.sched.type();
        if (t == null) {
            throw new HypervisorException("cpupool " + pool + " has no scheduler right now");
        }
        if (params == null) {
            throw new HypervisorException("no parameters given");
        }
        Map<String, String> copy = new TreeMap<>(params);
        try {
            p.sched.withInstance(i -> {
                i.setPoolParams(copy);
                return null;
            });
        } catch (IllegalArgumentException e) {
            throw new HypervisorException("bad parameters for scheduler " + SchedulerRegistry.nameOf(t) + " of " + pool + ": " + e.getMessage(), e);
        }
        p.storedParams.computeIfAbsent(SchedulerRegistry.nameOf(t), k -> new TreeMap<>()).putAll(copy);
    }

    private CpuPool require(String name) {
        CpuPool p = name == null ? null : pools.get(name);
        if (p == null) {
            throw new HypervisorException("no cpupool '" + name + "' (cpupools: " + String.join(", ", pools.keySet()) + ")");
        }
        return p;
    }

    /** Whether a pool has a scheduler now (its domains can run). */
    public boolean hasScheduler(PoolScheduler p) {
        return p.type() != null;
    }
}
