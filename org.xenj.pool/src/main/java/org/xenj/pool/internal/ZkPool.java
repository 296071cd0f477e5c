package org.xenj.pool.internal;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.zookeeper.KeeperException;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.Hypervisor;
import org.xenj.pool.api.Placement;
import org.xenj.pool.api.PlacementCandidate;
import org.xenj.pool.api.PlacementPolicy;
import org.xenj.pool.api.PlacementRequest;
import org.xenj.pool.api.Pool;
import org.xenj.pool.api.PoolDomain;
import org.xenj.pool.api.PoolException;
import org.xenj.pool.api.PoolHost;
import org.xenj.pool.api.PoolStatus;
import org.xenj.pool.internal.record.PoolRequest;
import org.xenj.pool.internal.record.Records;

/**
 * One host's membership of a pool, over a started Curator client whose namespace is the pool's
 * root. Connection-state changes arrive on Curator's event thread; fencing pauses there (it must
 * happen before the session can expire), everything slower runs on this pool's own executor.
 */
public final class ZkPool implements Pool, AutoCloseable {

    /** How often the membership record's figures (free memory) are rewritten. */
    static final long REFRESH_SECONDS = 5;
    /** The pool-wide choice of placement policy (its name), shared by every host. */
    static final String PLACEMENT = "/config/placement";
    /** How long a host asked to start a domain may take to answer (a real guest's start is seconds). */
    static final long START_TIMEOUT_MS = 60_000;

    private final CuratorFramework zk;
    private final String host;
    private final String connect;
    private final boolean embedded;
    private final Consumer<String> log;
    private final Membership membership;
    private final DomainRegistry registry;
    private final ScheduledExecutorService executor;
    private final Placements placements;
    private final Requests requests;
    private final HaMonitor ha;
    private final Handover handover;
    private final SessionGuard guard;
    private final Hypervisor hypervisor;
    private final GuestEnds guestEnds;
    private volatile String state = "connecting";
    private volatile boolean revalidate = true;

    public ZkPool(CuratorFramework zk, Hypervisor hypervisor, String host, String address, String connect, boolean embedded,
            Consumer<String> log) {
        this(zk, hypervisor, host, address, connect, embedded, log, new Placements(), 10_000, 1000);
    }

    /**
     * @param sessionMs the client's session timeout (the HA monitor gives a returning owner that long)
     * @param haSweepMs how often the HA leader looks for domains whose owner failed
     */
    public ZkPool(CuratorFramework zk, Hypervisor hypervisor, String host, String address, String connect, boolean embedded,
            Consumer<String> log, Placements placements, long sessionMs, long haSweepMs) {
        this.zk = zk;
        this.host = host;
        this.connect = connect;
        this.embedded = embedded;
        this.log = log;
        this.membership = new Membership(zk, hypervisor, host, address, log);
        this.registry = new DomainRegistry(zk, hypervisor, host, log);
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "xenj-pool-" + host);
            t.setDaemon(true);
            return t;
        });
        this.placements = placements;
        this.requests = new Requests(zk, host, executor, this::handle, log);
        this.handover = new Handover(zk, hypervisor, registry, host, membership::refresh, log);
        this.ha = new HaMonitor(zk, this, registry, host, sessionMs, haSweepMs, log);
        this.guard = new SessionGuard(zk, sessionMs, registry::linkLost, log, host);
        // a held domain whose guest ends by itself: recorded on this executor, never on the hypervisor's thread
        this.hypervisor = hypervisor;
        this.guestEnds = new GuestEnds(registry, executor, log, membership::refresh);
        hypervisor.addListener(guestEnds);
        zk.getConnectionStateListenable().addListener(this::stateChanged);
        if (zk.getZookeeperClient().isConnected()) {
            state = "connected";
        }
        executor.scheduleWithFixedDelay(membership::refresh, REFRESH_SECONDS, REFRESH_SECONDS, TimeUnit.SECONDS);
        // again later too: at join the previous run's session (and its leases) may not have expired yet
        executor.scheduleWithFixedDelay(() -> {
            if (membership.isMember()) {
                registry.markLost();
            }
        }, REFRESH_SECONDS, REFRESH_SECONDS, TimeUnit.SECONDS);
    }

    private void stateChanged(CuratorFramework client, ConnectionState s) {
        switch (s) {
            case CONNECTED -> {
                guard.reconnected();
                state = "connected";
            }
            case SUSPENDED -> {
                state = "suspended";
                log.accept("pool: link to the pool's ZooKeeper lost (suspended)");
                guard.suspended(); // pauses the held domains before the session can expire, not at once
            }
            case LOST -> {
                state = "lost";
                log.accept("pool: session with the pool expired: leases gone, held domains stay paused");
                guard.lost();
            }
            case RECONNECTED -> {
                guard.reconnected();
                state = "connected";
                log.accept("pool: link to the pool back");
                if (revalidate) {
                    executor.execute(registry::linkBack);
                }
                executor.execute(requests::sweep);
            }
            case READ_ONLY -> state = "read-only";
            default -> { }
        }
    }

    public String host() {
        return host;
    }

    @Override
    public PoolStatus status() {
        return new PoolStatus(host, connect, embedded, state, membership.isMember());
    }

    @Override
    public List<PoolHost> hosts() {
        return membership.hosts(new ArrayList<>());
    }

    @Override
    public void join() {
        membership.join();
        registry.markLost();
        requests.serve();
        ha.start();
    }

    @Override
    public void leave() {
        List<String> running = new ArrayList<>(registry.held());
        if (!running.isEmpty()) {
            throw new PoolException("cannot leave the pool: this host runs pool domains " + running + "; stop them first");
        }
        membership.leave();
    }

    @Override
    public List<PoolDomain> domains() {
        return registry.domains(new ArrayList<>());
    }

    @Override
    public List<String> recordErrors() {
        List<String> errors = new ArrayList<>();
        membership.hosts(errors);
        registry.domains(errors);
        return errors;
    }

    @Override
    public PoolDomain add(DomainConfig config) {
        return registry.add(config);
    }

    @Override
    public PoolDomain start(String name) {
        if (!membership.isMember()) {
            throw new PoolException("this host is not a member of the pool: xen:pool-join first");
        }
        PoolDomain d = registry.start(name);
        membership.refresh(); // the next placement sees this host's memory as it is now
        return d;
    }

    @Override
    public PoolDomain stop(String name) {
        PoolDomain d = registry.stop(name);
        membership.refresh();
        return d;
    }

    /** A request another host sent this one. */
    private String handle(PoolRequest r) {
        if (r.op().equals(PoolRequest.START)) {
            PoolDomain d = start(r.domain());
            return "started on " + d.owner() + " (generation " + d.generation() + ")";
        }
        if (r.op().equals(PoolRequest.MIGRATE)) {
            PoolDomain d = migrate(r.domain(), r.target());
            return "migrated to " + d.owner() + " (generation " + d.generation() + ")";
        }
        throw new PoolException("unknown request '" + r.op() + "'");
    }

    @Override
    public PoolDomain startOn(String name, String target) {
        if (target.equals(host)) {
            return start(name);
        }
        if (hosts().stream().noneMatch(h -> h.name().equals(target))) {
            throw new PoolException("'" + target + "' is not a member of the pool (xen:pool-list shows the members)");
        }
        String answer = requests.call(target, new PoolRequest(PoolRequest.START, name, "", host, "", ""), START_TIMEOUT_MS);
        log.accept("pool: " + target + " answered: " + answer);
        return domains().stream().filter(d -> d.name().equals(name)).findFirst()
                .orElseThrow(() -> new PoolException("pool domain '" + name + "' vanished after its start on " + target));
    }

    /** The gate the hypervisor asks before an arrived domain runs here (registered by the OSGi component). */
    Handover handover() {
        return handover;
    }

    @Override
    public PoolDomain migrate(String name, String target) {
        PoolHost to = member(target);
        PoolDomain d = domains().stream().filter(x -> x.name().equals(name)).findFirst()
                .orElseThrow(() -> new PoolException("no pool domain '" + name + "'"));
        if (registry.heldView(name) != null) {
            return handover.migrate(name, to);
        }
        if (d.owner().isEmpty() || org.xenj.pool.internal.record.DomainRecord.down(d.state())) {
            throw new PoolException("pool domain '" + name + "' does not run (xen:pool-start --on " + target + " starts it there)");
        }
        member(d.owner());
        requests.call(d.owner(), new PoolRequest(PoolRequest.MIGRATE, name, target, host, "", ""), START_TIMEOUT_MS);
        return domains().stream().filter(x -> x.name().equals(name)).findFirst().orElseThrow();
    }

    @Override
    public List<String> evacuate(String from) {
        member(from);
        List<String> lines = new ArrayList<>();
        for (PoolDomain d : domains()) {
            if (!d.owner().equals(from) || org.xenj.pool.internal.record.DomainRecord.down(d.state())) {
                continue;
            }
            Placement p = place(new PlacementRequest(d.name(), Long.parseLong(d.config().getOrDefault("memory", "0")) * 1024,
                    Integer.parseInt(d.config().getOrDefault("vcpus", "1")), Set.of(from)));
            if (p.refused()) {
                lines.add(d.name() + ": not moved: " + p.reason());
                continue;
            }
            try {
                PoolDomain moved = migrate(d.name(), p.host());
                lines.add(d.name() + ": migrated to " + moved.owner() + " (generation " + moved.generation() + ")");
            } catch (PoolException e) {
                lines.add(d.name() + ": not moved: " + e.getMessage());
            }
        }
        return lines;
    }

    private PoolHost member(String name) {
        return hosts().stream().filter(h -> h.name().equals(name)).findFirst()
                .orElseThrow(() -> new PoolException("'" + name + "' is not a member of the pool (xen:pool-list shows the members)"));
    }

    @Override
    public PoolDomain create(DomainConfig config) {
        Placement p = place(new PlacementRequest(config.name(), config.memoryMiB() * 1024, config.vcpus(), Set.of()));
        if (p.refused()) {
            throw new PoolException("cannot place pool domain '" + config.name() + "': " + p.reason());
        }
        registry.add(config);
        try {
            return startOn(config.name(), p.host());
        } catch (PoolException e) {
            throw new PoolException("pool domain '" + config.name() + "' was added but did not start on " + p.host() + " (the "
                    + placementPolicy() + " policy's choice): " + e.getMessage() + "; it stays stopped (xen:pool-start or xen:pool-remove)", e);
        }
    }

    @Override
    public Placement place(PlacementRequest request) {
        List<String> errors = new ArrayList<>();
        List<PoolHost> members = membership.hosts(errors);
        Map<String, int[]> owned = new HashMap<>(); // host -> {domains, vcpus}
        for (PoolDomain d : registry.domains(errors)) {
            if (!d.owner().isEmpty() && !org.xenj.pool.internal.record.DomainRecord.down(d.state())) {
                int[] n = owned.computeIfAbsent(d.owner(), k -> new int[2]);
                n[0]++;
                n[1] += Integer.parseInt(d.config().getOrDefault("vcpus", "1"));
            }
        }
        List<PlacementCandidate> fit = new ArrayList<>();
        List<String> why = new ArrayList<>();
        for (PoolHost h : members) {
            if (request.excluded().contains(h.name())) {
                why.add(h.name() + ": excluded");
            } else if (h.freeMemoryKiB() < request.memoryKiB()) {
                why.add(h.name() + ": " + h.freeMemoryKiB() / 1024 + " MiB free");
            } else {
                int[] n = owned.getOrDefault(h.name(), new int[2]);
                fit.add(new PlacementCandidate(h, n[0], n[1]));
            }
        }
        if (fit.isEmpty()) {
            return Placement.refuse("no host fits (needs " + request.memoryKiB() / 1024 + " MiB" + (members.isEmpty() ? "; the pool has no members" : "; " + String.join(", ", why)) + ")");
        }
        String name = placementPolicy();
        PlacementPolicy policy = placements.get(name);
        if (policy == null) {
            log.accept("pool: placement policy '" + name + "' is not installed on " + host + ": the default decides");
            name = PlacementPolicy.DEFAULT;
            policy = placements.get(name);
        }
        Placement p;
        try {
            p = policy.place(request, List.copyOf(fit));
        } catch (RuntimeException e) {
            throw new PoolException("placement policy '" + name + "' failed: " + e, e);
        }
        if (p == null) {
            throw new PoolException("placement policy '" + name + "' gave no answer");
        }
        if (p.refused()) {
            return Placement.refuse("placement policy '" + name + "' refused: " + p.reason());
        }
        if (fit.stream().noneMatch(c -> c.host().name().equals(p.host()))) {
            throw new PoolException("placement policy '" + name + "' chose '" + p.host() + "', which is not a candidate");
        }
        return p;
    }

    @Override
    public String placementPolicy() {
        try {
            String name = new String(zk.getData().forPath(PLACEMENT), StandardCharsets.UTF_8).trim();
            return Records.validName(name) ? name : PlacementPolicy.DEFAULT;
        } catch (KeeperException.NoNodeException none) {
            return PlacementPolicy.DEFAULT;
        } catch (Exception e) {
            throw Engine.failure("cannot read the pool's placement policy", e);
        }
    }

    @Override
    public List<String> placementPolicies() {
        return placements.names();
    }

    @Override
    public void choosePlacementPolicy(String name) {
        if (placements.get(name) == null) {
            throw new PoolException("no placement policy '" + name + "' on this host (installed: " + placements.names() + ")");
        }
        byte[] b = name.getBytes(StandardCharsets.UTF_8);
        try {
            try {
                zk.setData().forPath(PLACEMENT, b);
            } catch (KeeperException.NoNodeException none) {
                zk.create().creatingParentsIfNeeded().forPath(PLACEMENT, b);
            }
        } catch (Exception e) {
            throw Engine.failure("cannot choose the placement policy", e);
        }
        log.accept("pool: placement policy is now " + name);
    }

    @Override
    public void remove(String name) {
        registry.remove(name);
    }

    /** For tests: this host's own write as an owner (what a state change of the local copy does). */
    PoolDomain ownerWrite(String name, String newState) {
        return registry.ownerWrite(name, newState, false).toApi();
    }

    /** For tests: whether held domains are checked again when the link comes back (always in production). */
    void revalidateOnReconnect(boolean on) {
        revalidate = on;
    }

    /** For tests: whether this host leads the HA restarts now. */
    boolean haLeader() {
        return ha.isLeader();
    }

    @Override
    public void close() {
        // Pause first: with the link down, what follows (the membership record's removal) can take
        // seconds of retries, and the guard's pending fence goes with it — the session, and the
        // leases, may expire meanwhile and another host restart a domain still running here.
        ha.close();       // no more restarts decided here
        requests.close(); // nor starts asked by others
        hypervisor.removeListener(guestEnds); // the pool's pause and a later end are not for the registry any more
        registry.close(); // refuses starts from now on, then pauses
        guard.close();
        executor.shutdownNow();
        membership.close();
    }
}
