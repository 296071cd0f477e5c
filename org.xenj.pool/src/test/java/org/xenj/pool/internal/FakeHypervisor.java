package org.xenj.pool.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;

import org.xenj.hypervisor.api.ConsoleAccess;
import org.xenj.hypervisor.api.CpuPools;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainListener;
import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.HostInfo;
import org.xenj.hypervisor.api.Hypervisor;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.api.PCpuInfo;
import org.xenj.hypervisor.api.SaveInfo;
import org.xenj.hypervisor.api.ShutdownReason;
import org.xenj.hypervisor.api.VCpuInfo;

/**
 * A minimal in-process hypervisor for pool tests: domains are records with a state, memory is
 * accounted, and every life-cycle call is written to the shared {@link History}. The pool uses
 * nothing else of the {@link Hypervisor} API. Listeners are told of every change as the real one
 * tells them: later, in order, on one thread of the hypervisor's own ("control"), so that a
 * listener that blocked would hold up every later event, and the caller never waits for them.
 */
final class FakeHypervisor implements Hypervisor {

    static final long TOTAL_KIB = 4L << 20;

    private final String host;
    private final History history;
    private final Map<Integer, FakeDomain> domains = new TreeMap<>();
    private final long totalKiB;
    private int nextId = 1;
    private final List<DomainListener> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final java.util.concurrent.ExecutorService control = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "fake-hypervisor-control");
        t.setDaemon(true);
        return t;
    });

    FakeHypervisor(String host, History history) {
        this(host, history, TOTAL_KIB);
    }

    FakeHypervisor(String host, History history, long totalKiB) {
        this.host = host;
        this.history = history;
        this.totalKiB = totalKiB;
        history.network.put(host + ".test", this);
    }

    /** What the hypervisor asks before a domain that arrived by migration runs here (the pool's hand-over). */
    volatile org.xenj.hypervisor.spi.MigrationGate gate;

    /**
     * A migration in the shape of the real one: the source pauses it, the destination holds it
     * paused, asks its gate after GO, and resumes it; only then is the source's copy destroyed. A
     * refusal after GO leaves the source's copy paused (uncertain), as the real one does.
     */
    @Override
    public org.xenj.hypervisor.api.MigrationInfo migrate(int domid, String toHost, int port, boolean live, long downtimeMillis, int maxRounds) {
        FakeHypervisor dest = history.network.get(toHost);
        if (dest == null) {
            throw new HypervisorException("cannot migrate: no xenj at " + toHost + ":" + port + "; it runs on here");
        }
        FakeDomain d;
        synchronized (this) {
            d = get(domid);
            if (d.state == DomainState.RUNNING) {
                pause(domid);
            }
        }
        long t0 = System.nanoTime();
        FakeDomain arrived = dest.arrive(d.config);
        try {
            org.xenj.hypervisor.spi.MigrationGate g = dest.gate;
            if (g != null) {
                g.admit(arrived.id, d.name(), d.config);
            }
        } catch (RuntimeException e) {
            dest.discard(arrived.id);
            throw new HypervisorException("migration of " + d.name() + " to " + toHost + " is uncertain (the destination did not resume it: "
                    + e.getMessage() + "): it is left paused here", e);
        }
        dest.unpause(arrived.id);
        long down = System.nanoTime() - t0;
        destroy(domid);
        return new org.xenj.hypervisor.api.MigrationInfo(toHost + ":" + port, arrived.id, List.of(), 0, 0, 0, down, down);
    }

    /** Holds an arriving domain paused (not running: no history event). */
    private synchronized FakeDomain arrive(DomainConfig config) {
        FakeDomain d = new FakeDomain(nextId++, config);
        d.state = DomainState.PAUSED;
        domains.put(d.id, d);
        fire(l -> l.created(d));
        return d;
    }

    private synchronized void discard(int domid) {
        domains.remove(domid);
    }

    final class FakeDomain implements Domain {
        final int id;
        final DomainConfig config;
        volatile DomainState state = DomainState.RUNNING;

        FakeDomain(int id, DomainConfig config) {
            this.id = id;
            this.config = config;
        }

        @Override public int id() { return id; }
        @Override public String name() { return renamed != null ? renamed : config.name(); }
        /** Set by a rename-restart: the old copy keeps running under {@code name-<domid>}. */
        volatile String renamed;
        @Override public UUID uuid() { return new UUID(host.hashCode(), id); }
        @Override public DomainState state() { return state; }
        @Override public DomainType type() { return config.type(); }
        @Override public int vcpus() { return config.vcpus(); }
        @Override public long memoryKiB() { return config.memoryMiB() * 1024; }
        @Override public long maxMemoryKiB() { return config.maxMemoryMiB() * 1024; }
        @Override public long uptimeNanos() { return 0; }
        @Override public long cpuTimeNanos() { return 0; }
        @Override public String pool() { return config.pool(); }
        @Override public DomainConfig config() { return config; }
        @Override public ShutdownReason shutdownReason() { return reason; }
        volatile ShutdownReason reason;
    }

    private void fire(java.util.function.Consumer<DomainListener> event) {
        for (DomainListener l : listeners) {
            control.execute(() -> event.accept(l));
        }
    }

    /**
     * The guest ends by itself ({@code SCHEDOP_shutdown} with {@code reason}, or a crash), as the
     * real hypervisor's shutdown handler does it: the domain is marked shut down (or crashed) and
     * the configured on_poweroff / on_reboot / on_crash action runs — destroy, or destroy and
     * create again under the same name (restart), or nothing (preserve).
     */
    synchronized void guestShutdown(String name, ShutdownReason reason) {
        FakeDomain d = (FakeDomain) lookup(name).orElseThrow(() -> new HypervisorException("no domain '" + name + "'"));
        DomainState before = d.state;
        d.reason = reason;
        boolean crash = reason == ShutdownReason.CRASH || reason == ShutdownReason.WATCHDOG;
        history.record(host, d.name(), History.Kind.SHUTDOWN, () -> d.state = crash ? DomainState.CRASHED : DomainState.SHUTDOWN);
        fire(l -> l.stateChanged(d, before));
        org.xenj.hypervisor.api.ShutdownAction action = switch (reason) {
            case POWEROFF -> d.config.onPoweroff();
            case REBOOT -> d.config.onReboot();
            case CRASH, WATCHDOG -> d.config.onCrash();
            default -> org.xenj.hypervisor.api.ShutdownAction.PRESERVE;
        };
        switch (action) {
            case DESTROY, COREDUMP_DESTROY -> destroy(d.id);
            case RESTART, COREDUMP_RESTART -> {
                destroy(d.id);
                create(d.config);
            }
            case RENAME_RESTART -> { // as the real one: renamed without an event, left shut down
                d.renamed = d.config.name() + "-" + d.id;
                create(d.config);
            }
            default -> { }
        }
    }

    @Override
    public synchronized Domain create(DomainConfig config) {
        for (FakeDomain d : domains.values()) {
            if (d.name().equals(config.name())) {
                throw new HypervisorException("a domain named '" + config.name() + "' exists");
            }
        }
        FakeDomain d = new FakeDomain(nextId++, config);
        history.record(host, d.name(), History.Kind.CREATE, () -> domains.put(d.id, d));
        fire(l -> l.created(d));
        return d;
    }

    private FakeDomain get(int domid) {
        FakeDomain d = domains.get(domid);
        if (d == null) {
            throw new HypervisorException("no domain " + domid);
        }
        return d;
    }

    @Override
    public synchronized void destroy(int domid) {
        FakeDomain d = get(domid);
        DomainState before = d.state;
        history.record(host, d.name(), History.Kind.DESTROY, () -> domains.remove(domid));
        d.state = DomainState.DYING;
        fire(l -> l.stateChanged(d, before));
        fire(l -> l.destroyed(domid, d.name()));
    }

    @Override
    public synchronized void pause(int domid) {
        FakeDomain d = get(domid);
        DomainState before = d.state;
        history.record(host, d.name(), History.Kind.PAUSE, () -> d.state = DomainState.PAUSED);
        fire(l -> l.stateChanged(d, before));
    }

    @Override
    public synchronized void unpause(int domid) {
        FakeDomain d = get(domid);
        DomainState before = d.state;
        history.record(host, d.name(), History.Kind.UNPAUSE, () -> d.state = DomainState.RUNNING);
        fire(l -> l.stateChanged(d, before));
    }

    @Override
    public synchronized List<Domain> list() {
        return new ArrayList<>(domains.values());
    }

    @Override
    public synchronized Optional<Domain> lookup(int domid) {
        return Optional.ofNullable(domains.get(domid));
    }

    @Override
    public synchronized Optional<Domain> lookup(String name) {
        return domains.values().stream().filter(d -> d.name().equals(name)).map(d -> (Domain) d).findFirst();
    }

    @Override
    public Domain resolve(String nameOrId) {
        return lookup(nameOrId).orElseThrow(() -> new HypervisorException("no domain '" + nameOrId + "'"));
    }

    /** The state of the local domain of that name, or null. */
    DomainState state(String name) {
        return lookup(name).map(Domain::state).orElse(null);
    }

    @Override
    public synchronized HostInfo info() {
        long used = domains.values().stream().mapToLong(Domain::memoryKiB).sum();
        return new HostInfo(host, "xenj-0.1", "xen-3.0-x86_32p", 4, totalKiB, totalKiB - used, "credit", List.of("credit"), 0);
    }

    @Override public void shutdown(int domid, ShutdownReason reason) { throw new UnsupportedOperationException(); }
    @Override public void reboot(int domid) { throw new UnsupportedOperationException(); }
    @Override public List<PCpuInfo> pcpus() { throw new UnsupportedOperationException(); }
    @Override public List<VCpuInfo> vcpus(int domid) { throw new UnsupportedOperationException(); }
    @Override public void pinVCpu(int domid, int vcpu, int[] pcpus) { throw new UnsupportedOperationException(); }
    @Override public List<String> dmesg() { return List.of(); }
    @Override public void debugKeys(String keys) { throw new UnsupportedOperationException(); }
    @Override public void clearDmesg() { }
    @Override public SaveInfo save(int domid, java.nio.file.Path file, boolean leavePaused) { throw new UnsupportedOperationException(); }
    @Override public Domain restore(java.nio.file.Path file, Map<String, String> overrides, boolean paused) { throw new UnsupportedOperationException(); }
    @Override public ConsoleAccess console(int domid) { throw new UnsupportedOperationException(); }
    @Override public CpuPools cpupools() { throw new UnsupportedOperationException(); }
    @Override public void addListener(DomainListener listener) { listeners.add(listener); }
    @Override public void removeListener(DomainListener listener) { listeners.remove(listener); }

    /** A plain {@code xen:destroy} of the named domain (not through the pool). */
    void destroyByHand(String name) {
        destroy(lookup(name).orElseThrow().id());
    }
}
