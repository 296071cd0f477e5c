package org.xenj.pool.internal;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.xenj.pool.api.Placement;
import org.xenj.pool.api.PlacementRequest;
import org.xenj.pool.api.PoolDomain;
import org.xenj.pool.api.PoolException;
import org.xenj.pool.api.PoolHost;
import org.xenj.pool.internal.record.DomainRecord;
import org.xenj.pool.internal.record.RecordException;
import org.xenj.pool.internal.record.Records;

/**
 * Restarts a domain elsewhere when its host fails ({@code on_host_failure="restart"}). One member
 * at a time does it — the leader elected by Curator's {@link LeaderLatch} among the members — so
 * that two hosts do not race to place the same domain (they could not both run it: the lease
 * transaction lets one win; the leader only spares the loser a wasted start).
 *
 * <p>A domain needs a restart when its record says it runs (running, paused or fenced) on an owner
 * but its lease is gone: the owner's ZooKeeper session expired, which happens only after the owner
 * went silent for the whole session timeout — and the owner paused its copy (self-fencing) by 3/4
 * of it ({@link SessionGuard}). The leader still waits a third of the session timeout after it first sees the lease gone —
 * the same margin the owner has between its pause and the expiry — for an owner that learns of its
 * expiry only from the Expired event (a JVM stalled past the timeout; an injected expiry in tests)
 * and pauses then. If the owner is still a member (its session came back new), it gets one whole
 * session timeout to take the domain back itself before the leader places it elsewhere.
 */
final class HaMonitor implements AutoCloseable {

    static final String LEADER = "/ha-leader";

    private final CuratorFramework zk;
    private final ZkPool pool;
    private final DomainRegistry registry;
    private final String host;
    private final long sessionMs;
    private final Consumer<String> log;
    private final LeaderLatch latch;
    private final ScheduledExecutorService executor;
    /** When the leader first saw each domain without a lease (its own clock). */
    private final Map<String, Long> leaseMissingSince = new HashMap<>();
    /** Hosts that failed to restart a domain, per domain and generation, so the next try goes elsewhere. */
    private final Map<String, Set<String>> failedOn = new HashMap<>();

    HaMonitor(CuratorFramework zk, ZkPool pool, DomainRegistry registry, String host, long sessionMs, long sweepMs, Consumer<String> log) {
        this.zk = zk;
        this.pool = pool;
        this.registry = registry;
        this.host = host;
        this.sessionMs = sessionMs;
        this.log = log;
        this.latch = new LeaderLatch(zk, LEADER, host);
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "xenj-pool-ha-" + host);
            t.setDaemon(true);
            return t;
        });
        executor.scheduleWithFixedDelay(this::sweepIfLeader, sweepMs, sweepMs, TimeUnit.MILLISECONDS);
    }

    void start() {
        try {
            latch.start();
        } catch (Exception e) {
            log.accept("pool: HA election not started: " + e.getMessage());
        }
    }

    boolean isLeader() {
        return latch.hasLeadership();
    }

    private void sweepIfLeader() {
        if (!latch.hasLeadership()) {
            leaseMissingSince.clear();
            return;
        }
        try {
            sweep();
        } catch (RuntimeException e) {
            log.accept("pool: HA sweep failed: " + e.getMessage());
        }
    }

    private void sweep() {
        List<PoolDomain> domains = pool.domains();
        Set<String> members = new HashSet<>();
        for (PoolHost h : pool.hosts()) {
            members.add(h.name());
        }
        long now = System.nanoTime();
        Set<String> seen = new HashSet<>();
        for (PoolDomain d : domains) {
            // a released record (stopped or crashed by its guest, pool-stop) has no owner: no host failed
            if (d.owner().isEmpty() || d.state().equals(DomainRecord.STOPPED) || d.state().equals(DomainRecord.CRASHED)
                    || !restartOnFailure(d)) {
                continue;
            }
            if (registry.leaseExists(d.name())) {
                continue;
            }
            seen.add(d.name());
            long since = leaseMissingSince.computeIfAbsent(d.name(), k -> now);
            long grace = d.state().equals(DomainRecord.LOST)
                    ? 0               // its owner came back without it and said so: nothing to wait for
                    : members.contains(d.owner())
                    ? sessionMs       // the owner is back: let it take its domain again first
                    : sessionMs / 3;  // the fencing margin: an owner that learns of its expiry late has paused by then
            if (now - since < TimeUnit.MILLISECONDS.toNanos(grace)) {
                continue;
            }
            restart(d);
        }
        leaseMissingSince.keySet().retainAll(seen);
        failedOn.keySet().retainAll(seen);
    }

    private static boolean restartOnFailure(PoolDomain d) {
        try {
            return Records.onHostFailure(d.config()).equals("restart");
        } catch (RecordException e) {
            return false; // a record with a bad value is not listed at all; a hand-edited raw value ends here
        }
    }

    private void restart(PoolDomain d) {
        String key = d.name() + "@" + d.generation();
        Set<String> failed = failedOn.computeIfAbsent(key, k -> new HashSet<>());
        failedOn.keySet().removeIf(k -> k.startsWith(d.name() + "@") && !k.equals(key));
        Set<String> excluded = new HashSet<>(failed);
        excluded.add(d.owner());
        long memKiB = Long.parseLong(d.config().getOrDefault("memory", "0")) * 1024;
        int vcpus = Integer.parseInt(d.config().getOrDefault("vcpus", "1"));
        Placement p = pool.place(new PlacementRequest(d.name(), memKiB, vcpus, excluded));
        if (p.refused()) {
            log.accept("pool: HA: " + d.name() + " (owner " + d.owner() + " failed) cannot be restarted now: " + p.reason());
            return;
        }
        long t0 = System.nanoTime();
        try {
            PoolDomain again = pool.startOn(d.name(), p.host());
            log.accept("pool: HA: " + d.name() + " restarted on " + again.owner() + " (generation " + again.generation() + ", owner "
                    + d.owner() + " failed; " + (System.nanoTime() - t0) / 1_000_000 + " ms to start)");
        } catch (PoolException e) {
            failed.add(p.host());
            log.accept("pool: HA: " + d.name() + " not restarted on " + p.host() + ": " + e.getMessage());
        }
    }

    @Override
    public void close() {
        executor.shutdownNow();
        try {
            latch.close();
        } catch (Exception e) {
            // the session's end removes the latch node anyway
        }
    }
}
