package org.xenj.pool.internal;

import java.util.List;
import java.util.function.Consumer;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.api.transaction.CuratorTransactionResult;
import org.apache.curator.framework.api.transaction.TransactionOp;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.data.Stat;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.Hypervisor;
import org.xenj.hypervisor.api.MigrationInfo;
import org.xenj.hypervisor.spi.MigrationGate;
import org.xenj.pool.api.PoolDomain;
import org.xenj.pool.api.PoolException;
import org.xenj.pool.api.PoolHost;
import org.xenj.pool.internal.record.DomainRecord;
import org.xenj.pool.internal.record.RecordException;
import org.xenj.pool.internal.record.Records;

/**
 * Live migration of a pool domain with its lease handed over in the same step.
 *
 * <p>The owner (source) writes {@code /migrations/<name>} = (from, to, generation) in a transaction
 * that also checks its lease and record, then runs the hypervisor's live migration. On the
 * destination, the hypervisor asks every {@link MigrationGate} after the source's GO and before the
 * domain first runs there — the moment it runs nowhere. This host's gate then does, in ONE ZooKeeper
 * transaction: check the marker, delete it, delete the source's lease node (at the version it read),
 * create its own lease, and rewrite the record (owner = destination, generation + 1) at the version
 * it read. So the lease is never absent and never two (delete and create are one step), and the
 * registry changes owner exactly when the domain changes host. If the transaction fails, the gate
 * refuses, the arrived copy is destroyed, and the source — which sees its lease and record unchanged
 * once it has deleted the marker (after which no gate can commit) — resumes its paused copy.
 */
final class Handover implements MigrationGate {

    static final String MIGRATIONS = "/migrations";
    /** xl's migration port; a member's address may name another ({@code host:port}). */
    static final int DEFAULT_PORT = 8002;

    private final CuratorFramework zk;
    private final Hypervisor hypervisor;
    private final DomainRegistry registry;
    private final String host;
    private final Runnable changed;
    private final Consumer<String> log;

    Handover(CuratorFramework zk, Hypervisor hypervisor, DomainRegistry registry, String host, Runnable changed, Consumer<String> log) {
        this.zk = zk;
        this.hypervisor = hypervisor;
        this.registry = registry;
        this.host = host;
        this.changed = changed;
        this.log = log;
    }

    // ------------------------------------------------------------------ source

    PoolDomain migrate(String name, PoolHost target) {
        DomainRegistry.HeldView h = registry.heldView(name);
        if (h == null || h.domid() < 0) {
            throw new PoolException("this host (" + host + ") does not run pool domain '" + name + "'");
        }
        if (target.name().equals(host)) {
            throw new PoolException("pool domain '" + name + "' already runs on " + host);
        }
        long generation = h.record().generation();
        String marker = MIGRATIONS + "/" + name;
        TransactionOp op = zk.transactionOp();
        try {
            Engine.ensure(zk, MIGRATIONS);
            zk.transaction().forOperations(
                    op.check().forPath(DomainRegistry.LEASES + "/" + name),
                    op.check().withVersion(h.version()).forPath(DomainRegistry.DOMAINS + "/" + name),
                    op.create().withMode(CreateMode.PERSISTENT).forPath(marker,
                            Records.encodeMigration(new Records.Migration(name, host, target.name(), generation))));
        } catch (KeeperException.NodeExistsException e) {
            throw new PoolException("a migration of pool domain '" + name + "' is already under way (" + marker + ")");
        } catch (KeeperException.NoNodeException | KeeperException.BadVersionException e) {
            throw new PoolException("this host's lease on pool domain '" + name + "' is no longer valid: not migrated");
        } catch (Exception e) {
            throw Engine.failure("cannot start the migration of pool domain '" + name + "'", e);
        }
        registry.migrating(name, true); // the source copy's destroy is the hand-over's, not the guest's end
        try {
            return handOver(name, target, h, generation, marker);
        } finally {
            registry.migrating(name, false);
        }
    }

    private PoolDomain handOver(String name, PoolHost target, DomainRegistry.HeldView h, long generation, String marker) {
        boolean wasPaused = hypervisor.lookup(h.domid()).map(d -> d.state() == DomainState.PAUSED).orElse(false);
        String[] where = address(target);
        RuntimeException failure = null;
        MigrationInfo info = null;
        long t0 = System.nanoTime();
        try {
            info = hypervisor.migrate(h.domid(), where[0], Integer.parseInt(where[1]), true, 100, 30);
        } catch (RuntimeException e) {
            failure = e;
        }
        // From here on no gate can commit: the marker it checks is gone.
        try {
            zk.delete().guaranteed().forPath(marker);
        } catch (KeeperException.NoNodeException taken) {
            // the destination's hand-over deleted it
        } catch (Exception e) {
            log.accept("pool: could not delete " + marker + ": " + e.getMessage());
        }
        Stat st = new Stat();
        DomainRecord now = registry.readRecord(name, st);
        if (now.owner().equals(target.name()) && now.generation() == generation + 1) {
            registry.forget(name);
            hypervisor.lookup(h.domid()).filter(d -> d.name().equals(name) || d.state() == DomainState.PAUSED).ifPresent(d -> {
                try {
                    hypervisor.destroy(d.id());
                } catch (RuntimeException e) {
                    log.accept("pool: could not destroy the source copy of " + name + ": " + e.getMessage());
                }
            });
            changed.run();
            log.accept(String.format("pool: %s migrated to %s (generation %d)%s, %.1f ms", name, target.name(), now.generation(),
                    info != null ? String.format(", downtime %.1f ms", info.downtimeNanos() / 1e6) : " (the source's answer was lost)",
                    (System.nanoTime() - t0) / 1e6));
            return now.toApi();
        }
        if (failure == null) {
            // the destination ran it without taking the lease: its xenj has no pool gate (not this pool's member software)
            registry.forget(name);
            throw new PoolException("pool domain '" + name + "' moved to " + target.name() + " but its pool did not take the lease: "
                    + "the registry still names " + host + " (generation " + generation + ")");
        }
        // Not handed over: resume our copy if the migration left it paused and it is still ours.
        Domain local = hypervisor.lookup(h.domid()).orElse(null);
        if (local != null && local.state() == DomainState.PAUSED && !wasPaused) {
            try {
                registry.ownerWrite(name, DomainRecord.RUNNING, false); // refused unless the lease and record are still ours
                hypervisor.unpause(h.domid());
            } catch (PoolException e) {
                log.accept("pool: " + name + " stays paused after the failed migration: " + e.getMessage());
            }
        }
        throw new PoolException("pool domain '" + name + "' not migrated to " + target.name() + ": " + failure.getMessage()
                + "; it stays on " + host + " (generation " + generation + ")", failure);
    }

    private static String[] address(PoolHost target) {
        String a = target.address();
        int colon = a.lastIndexOf(':');
        if (colon > 0 && a.indexOf(':') == colon && a.substring(colon + 1).matches("[0-9]{1,5}")) {
            return new String[] {a.substring(0, colon), a.substring(colon + 1)};
        }
        return new String[] {a, Integer.toString(DEFAULT_PORT)};
    }

    // ------------------------------------------------------------------ destination

    @Override
    public void admit(int domid, String name, DomainConfig config) {
        String marker = MIGRATIONS + "/" + name;
        Stat ms = new Stat();
        Records.Migration m;
        try {
            m = Records.decodeMigration(zk.getData().storingStatIn(ms).forPath(marker));
        } catch (KeeperException.NoNodeException none) {
            if (isPoolDomain(name)) {
                throw new PoolException("'" + name + "' is a pool domain: it moves only through the pool (xen:migrate on its owner)");
            }
            return; // not a pool domain: nothing to hand over
        } catch (RecordException e) {
            throw new PoolException("bad migration record " + marker + ": " + e.getMessage());
        } catch (Exception e) {
            throw Engine.failure("cannot read " + marker, e);
        }
        if (!m.to().equals(host)) {
            throw new PoolException("pool domain '" + name + "' is being handed to " + m.to() + ", not " + host);
        }
        Stat rs = new Stat();
        DomainRecord r = registry.readRecord(name, rs);
        if (!r.owner().equals(m.from()) || r.generation() != m.generation()) {
            throw new PoolException("pool domain '" + name + "' is no longer " + m.from() + "'s (generation " + m.generation() + ")");
        }
        Stat lease;
        try {
            lease = zk.checkExists().forPath(DomainRegistry.LEASES + "/" + name);
        } catch (Exception e) {
            throw Engine.failure("cannot read the lease of " + name, e);
        }
        if (lease == null) {
            throw new PoolException("the source's lease on pool domain '" + name + "' is gone");
        }
        DomainRecord mine = r.with(host, DomainRecord.RUNNING, r.generation() + 1);
        TransactionOp op = zk.transactionOp();
        try {
            List<CuratorTransactionResult> results = zk.transaction().forOperations(
                    op.delete().withVersion(ms.getVersion()).forPath(marker),
                    op.delete().withVersion(lease.getVersion()).forPath(DomainRegistry.LEASES + "/" + name),
                    op.create().withMode(CreateMode.EPHEMERAL).forPath(DomainRegistry.LEASES + "/" + name,
                            ("{\"owner\":\"" + host + "\",\"generation\":" + mine.generation() + "}").getBytes(java.nio.charset.StandardCharsets.UTF_8)),
                    op.setData().withVersion(rs.getVersion()).forPath(DomainRegistry.DOMAINS + "/" + name, Records.encodeDomain(mine)));
            registry.adopt(name, mine, results.get(3).getResultStat().getVersion(), domid);
        } catch (KeeperException.NoNodeException | KeeperException.BadVersionException e) {
            // Curator retries a transaction whose answer a connection loss swallowed: it may have been ours
            Stat now = new Stat();
            if (tookOverAfterAll(name, mine, now)) {
                registry.adopt(name, mine, now.getVersion(), domid);
            } else {
                throw new PoolException("pool domain '" + name + "' changed during the hand-over (the source gave up or lost its lease)");
            }
        } catch (Exception e) {
            throw Engine.failure("cannot take over pool domain '" + name + "'", e);
        }
        changed.run();
        log.accept("pool: " + name + " handed over from " + m.from() + " (generation " + mine.generation() + ")");
    }

    /** Whether the record says exactly {@code mine} and the lease is this session's: a retried hand-over that had been applied. */
    private boolean tookOverAfterAll(String name, DomainRecord mine, Stat stat) {
        try {
            DomainRecord now = registry.readRecord(name, stat);
            Stat lease = zk.checkExists().forPath(DomainRegistry.LEASES + "/" + name);
            return now.owner().equals(mine.owner()) && now.generation() == mine.generation() && lease != null
                    && lease.getEphemeralOwner() == zk.getZookeeperClient().getZooKeeper().getSessionId();
        } catch (Exception e) {
            return false;
        }
    }

    private boolean isPoolDomain(String name) {
        try {
            return zk.checkExists().forPath(DomainRegistry.DOMAINS + "/" + name) != null;
        } catch (Exception e) {
            throw Engine.failure("cannot check pool domain '" + name + "'", e);
        }
    }
}
