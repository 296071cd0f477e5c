package org.xenj.pool.internal;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
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
import org.xenj.pool.api.PoolDomain;
import org.xenj.pool.api.PoolException;
import org.xenj.pool.internal.record.DomainRecord;
import org.xenj.pool.internal.record.RecordException;
import org.xenj.pool.internal.record.Records;

/**
 * The pool's registry of domains and the leases that keep each on at most one host.
 *
 * <p>{@code /domains/<name>} holds the record (configuration, owner, state, generation);
 * {@code /leases/<name>} is an ephemeral node of the owner's session. Taking a lease is one
 * ZooKeeper transaction: create the lease (fails while any live session holds it) and rewrite the
 * record with {@code generation + 1} under a version check. The generation is the fencing token;
 * the record's znode version is what ZooKeeper compares: every owner write is a transaction
 * "the lease exists, and the record is still at the version I last wrote", so an owner whose
 * session expired (lease gone) or whose domain another host has since taken (version moved on)
 * has its write refused by the engine itself, not by a check in our code that could race.
 *
 * <p>Self-fencing: when the link to the ensemble is lost and does not come back in time
 * ({@link SessionGuard}: by 3/4 of the session timeout after the session was last proved alive)
 * every local copy of a held domain is paused ({@link #linkLost}), which is before the server can
 * expire the session and so before any other host can take the lease. On RECONNECTED with the same session the paused copies resume; after an expiry the
 * host takes the lease again only if nobody did in between, and otherwise destroys its copy.
 */
final class DomainRegistry {

    static final String DOMAINS = "/domains";
    static final String LEASES = "/leases";

    /** What this host holds: the lease's generation, the record's znode version after our last write, the local domain. */
    private record Held(DomainRecord record, int version, int domid) {
        Held withRecord(DomainRecord r, int v) {
            return new Held(r, v, domid);
        }
    }

    private final CuratorFramework zk;
    private final Hypervisor hypervisor;
    private final String host;
    private final Consumer<String> log;
    private final Map<String, Held> held = new ConcurrentHashMap<>();
    /** Local domains this registry paused because the link was lost (and only those are resumed). */
    private final Set<String> fencePaused = ConcurrentHashMap.newKeySet();
    /**
     * Domids this registry destroys itself (pool-stop, a fenced copy): their {@code destroyed}
     * event, which arrives later on the hypervisor's thread, is not the guest's own end.
     */
    private final Set<Integer> ownDestroys = ConcurrentHashMap.newKeySet();
    /** Domains this host is migrating away: the source copy's destroy belongs to the hand-over, which decides the record. */
    private final Set<String> migrating = ConcurrentHashMap.newKeySet();
    /** Held domains whose guest rebooted ({@code on_reboot=restart}): name → the old domid, until the new domain appears. */
    private final Map<String, Integer> rebooting = new ConcurrentHashMap<>();
    /** Set by {@link #close}: no domain starts here any more (a start racing the close pauses itself). */
    private volatile boolean closed;

    DomainRegistry(CuratorFramework zk, Hypervisor hypervisor, String host, Consumer<String> log) {
        this.zk = zk;
        this.hypervisor = hypervisor;
        this.host = host;
        this.log = log;
    }

    Set<String> held() {
        return Set.copyOf(held.keySet());
    }

    /** What this host holds of a domain: its record as last written, the znode version after that write, the local domid. */
    record HeldView(DomainRecord record, int version, int domid) {
    }

    HeldView heldView(String name) {
        Held h = held.get(name);
        return h == null ? null : new HeldView(h.record(), h.version(), h.domid());
    }

    /** A domain this host took over by a migration hand-over (the lease transaction is done). */
    void adopt(String name, DomainRecord record, int version, int domid) {
        held.put(name, new Held(record, version, domid));
    }

    /** The domain left this host by a migration: nothing of it is held here any more. */
    void forget(String name) {
        held.remove(name);
        fencePaused.remove(name);
        rebooting.remove(name);
    }

    /** The hand-over of {@code name} runs (true) or is over (false): meanwhile the local copy's end is not the guest's. */
    void migrating(String name, boolean on) {
        if (on) {
            migrating.add(name);
        } else {
            migrating.remove(name);
        }
    }

    DomainRecord readRecord(String name, Stat stat) {
        return readForUse(name, stat);
    }

    // ------------------------------------------------------------------ reads

    List<PoolDomain> domains(List<String> errors) {
        List<PoolDomain> out = new ArrayList<>();
        try {
            List<String> children;
            try {
                // reading the pool's root needs the secret even while this list is still empty
                zk.getChildren().forPath("/");
                children = zk.getChildren().forPath(DOMAINS);
            } catch (KeeperException.NoNodeException none) {
                return out;
            }
            for (String child : children) {
                try {
                    out.add(read(child, new Stat()).toApi());
                } catch (KeeperException.NoNodeException gone) {
                    // removed between the listing and the read
                } catch (RecordException e) {
                    errors.add(DOMAINS + "/" + child + ": " + e.getMessage());
                }
            }
        } catch (Exception e) {
            throw Engine.failure("cannot list the pool's domains", e);
        }
        out.sort(Comparator.comparing(PoolDomain::name));
        return out;
    }

    private DomainRecord read(String name, Stat stat) throws Exception {
        DomainRecord r = Records.decodeDomain(zk.getData().storingStatIn(stat).forPath(DOMAINS + "/" + name));
        if (!r.name().equals(name)) {
            throw new RecordException("field 'name': '" + r.name() + "' is not the record's name '" + name + "'");
        }
        return r;
    }

    private DomainRecord readForUse(String name, Stat stat) {
        try {
            return read(name, stat);
        } catch (KeeperException.NoNodeException e) {
            throw new PoolException("no pool domain '" + name + "'");
        } catch (RecordException e) {
            throw new PoolException("pool domain '" + name + "': its record " + DOMAINS + "/" + name + " cannot be read: " + e.getMessage());
        } catch (Exception e) {
            throw Engine.failure("cannot read pool domain '" + name + "'", e);
        }
    }

    /** Whether any live session holds the domain's lease now. */
    boolean leaseExists(String name) {
        try {
            return zk.checkExists().forPath(LEASES + "/" + name) != null;
        } catch (Exception e) {
            throw Engine.failure("cannot read the lease of pool domain '" + name + "'", e);
        }
    }

    // ------------------------------------------------------------------ registry changes

    PoolDomain add(DomainConfig config) {
        String name = config.name();
        if (!Records.validName(name)) {
            throw new PoolException("'" + name + "' cannot be a pool domain's name (letters, digits, '.', '_', '-'; at most 64)");
        }
        try {
            Records.onHostFailure(config.raw());
        } catch (RecordException e) {
            throw new PoolException("pool domain '" + name + "': " + e.getMessage());
        }
        DomainRecord r = new DomainRecord(config.toBuilder().startPaused(false).build(), "", DomainRecord.STOPPED, 0);
        try {
            Engine.ensure(zk, DOMAINS);
            zk.create().forPath(DOMAINS + "/" + name, Records.encodeDomain(r));
        } catch (KeeperException.NodeExistsException e) {
            throw new PoolException("the pool already has a domain named '" + name + "'");
        } catch (Exception e) {
            throw Engine.failure("cannot add pool domain '" + name + "'", e);
        }
        log.accept("pool: domain " + name + " added");
        return r.toApi();
    }

    void remove(String name) {
        Stat st = new Stat();
        DomainRecord r = readForUse(name, st);
        if (!r.state().equals(DomainRecord.LOST) && (!r.owner().isEmpty() || !DomainRecord.down(r.state()))) {
            throw new PoolException("pool domain '" + name + "' is " + r.state() + (r.owner().isEmpty() ? "" : " on " + r.owner()) + ": stop it first");
        }
        // Taking the lease in the same transaction proves that nobody holds it while the record goes.
        TransactionOp op = zk.transactionOp();
        try {
            Engine.ensure(zk, LEASES);
            zk.transaction().forOperations(
                    op.create().withMode(CreateMode.EPHEMERAL).forPath(LEASES + "/" + name, lease(0)),
                    op.delete().withVersion(st.getVersion()).forPath(DOMAINS + "/" + name),
                    op.delete().forPath(LEASES + "/" + name));
        } catch (KeeperException.NodeExistsException e) {
            throw new PoolException("pool domain '" + name + "' is being taken by a host: not removed");
        } catch (KeeperException.BadVersionException | KeeperException.NoNodeException e) {
            throw new PoolException("pool domain '" + name + "' changed while being removed: not removed");
        } catch (Exception e) {
            throw Engine.failure("cannot remove pool domain '" + name + "'", e);
        }
        log.accept("pool: domain " + name + " removed");
    }

    /**
     * At join and every few seconds after: the records that name this host as the owner of a domain that may run, while this
     * host holds no lease on it and has no local domain of that name, are what a previous run of
     * this host (killed, crashed, restarted) left: their copies died with it. Each is marked
     * {@link DomainRecord#LOST} (owner and generation kept), so that {@code xen:list --pool} does
     * not show them running; an HA domain among them is then restarted by the HA leader without
     * waiting for its owner. The write is one transaction that also creates and deletes the lease:
     * it fails if any host holds or takes the domain meanwhile, or the record changed.
     */
    List<String> markLost() {
        List<String> marked = new ArrayList<>();
        if (!zk.getZookeeperClient().isConnected()) {
            return marked; // again at the next turn
        }
        List<String> children;
        try {
            children = zk.getChildren().forPath(DOMAINS);
        } catch (KeeperException.NoNodeException none) {
            return marked;
        } catch (Exception e) {
            log.accept("pool: cannot look for domains lost with this host's previous run: " + e.getMessage());
            return marked;
        }
        for (String name : children) {
            Stat st = new Stat();
            DomainRecord r;
            try {
                r = read(name, st);
            } catch (Exception e) {
                continue; // gone meanwhile, or a bad record (xen:pool-list names it)
            }
            if (!r.owner().equals(host) || !r.mayRun() || held.containsKey(name)) {
                continue;
            }
            if (hypervisor.lookup(name).isPresent()) {
                log.accept("pool: domain " + name + " is recorded here and a local domain of that name exists: left as it is");
                continue;
            }
            DomainRecord lost = r.with(host, DomainRecord.LOST, r.generation());
            TransactionOp op = zk.transactionOp();
            try {
                Engine.ensure(zk, LEASES);
                zk.transaction().forOperations(
                        op.create().withMode(CreateMode.EPHEMERAL).forPath(LEASES + "/" + name, lease(r.generation())),
                        op.setData().withVersion(st.getVersion()).forPath(DOMAINS + "/" + name, Records.encodeDomain(lost)),
                        op.delete().forPath(LEASES + "/" + name));
                marked.add(name);
                log.accept("pool: domain " + name + " marked lost: this host (" + host + ") ran it (generation " + r.generation()
                        + ", " + r.state() + ") before it restarted");
            } catch (KeeperException.NodeExistsException | KeeperException.BadVersionException | KeeperException.NoNodeException e) {
                // somebody holds or changed it: then it is not ours to mark
            } catch (Exception e) {
                log.accept("pool: cannot mark domain " + name + " lost: " + e.getMessage());
            }
        }
        return marked;
    }

    // ------------------------------------------------------------------ leases

    /**
     * Takes the lease: the record's generation + 1 becomes this host's fencing token. Throws if any
     * live session holds the lease or the record changed under us.
     */
    DomainRecord claim(String name) {
        if (closed) {
            throw new PoolException("the pool is stopping on " + host + ": pool domain '" + name + "' not taken");
        }
        Stat st = new Stat();
        DomainRecord r = readForUse(name, st);
        long generation = r.generation() + 1;
        DomainRecord mine = r.with(host, DomainRecord.PAUSED, generation);
        TransactionOp op = zk.transactionOp();
        try {
            Engine.ensure(zk, LEASES);
            List<CuratorTransactionResult> results = zk.transaction().forOperations(
                    op.create().withMode(CreateMode.EPHEMERAL).forPath(LEASES + "/" + name, lease(generation)),
                    op.setData().withVersion(st.getVersion()).forPath(DOMAINS + "/" + name, Records.encodeDomain(mine)));
            held.put(name, new Held(mine, results.get(1).getResultStat().getVersion(), -1));
            return mine;
        } catch (KeeperException.NodeExistsException | KeeperException.BadVersionException e) {
            // Curator retries a transaction whose answer a connection loss swallowed: it may have been ours.
            Stat now = new Stat();
            if (appliedAfterAll(name, mine, now, true)) {
                held.put(name, new Held(mine, now.getVersion(), -1));
                return mine;
            }
            if (e instanceof KeeperException.NodeExistsException) {
                throw new PoolException("pool domain '" + name + "' is held by " + leaseHolder(name));
            }
            throw new PoolException("pool domain '" + name + "' changed while this host was taking it: not taken");
        } catch (Exception e) {
            throw Engine.failure("cannot take pool domain '" + name + "'", e);
        }
    }

    /**
     * Whether the record already says exactly {@code expected} and (if {@code leaseMine}) the lease
     * belongs to this session: then a retried transaction had in fact been applied.
     */
    private boolean appliedAfterAll(String name, DomainRecord expected, Stat stat, boolean leaseMine) {
        try {
            DomainRecord now = read(name, stat);
            if (!now.owner().equals(expected.owner()) || now.generation() != expected.generation() || !now.state().equals(expected.state())) {
                return false;
            }
            Stat lease = zk.checkExists().forPath(LEASES + "/" + name);
            long session = zk.getZookeeperClient().getZooKeeper().getSessionId();
            return leaseMine ? lease != null && lease.getEphemeralOwner() == session : lease == null;
        } catch (Exception e) {
            return false;
        }
    }

    private String leaseHolder(String name) {
        try {
            Stat st = new Stat();
            String s = new String(zk.getData().storingStatIn(st).forPath(LEASES + "/" + name), StandardCharsets.UTF_8);
            long mySession = zk.getZookeeperClient().getZooKeeper().getSessionId();
            return (st.getEphemeralOwner() == mySession ? "this host already" : "another host") + " (lease " + s + ")";
        } catch (Exception e) {
            return "another host";
        }
    }

    private byte[] lease(long generation) {
        return ("{\"owner\":\"" + host + "\",\"generation\":" + generation + "}").getBytes(StandardCharsets.UTF_8);
    }

    /**
     * An owner's write: applied only if this host's lease still exists and the record is still at
     * the version this host last wrote. Otherwise the engine refuses it and this host's copy is fenced.
     */
    DomainRecord ownerWrite(String name, String state, boolean release) {
        Held h = held.get(name);
        if (h == null) {
            throw new PoolException("this host (" + host + ") does not hold pool domain '" + name + "'");
        }
        DomainRecord next = release ? h.record().with("", state, h.record().generation()) : h.record().with(host, state, h.record().generation());
        TransactionOp op = zk.transactionOp();
        try {
            if (release) {
                zk.transaction().forOperations(
                        op.setData().withVersion(h.version()).forPath(DOMAINS + "/" + name, Records.encodeDomain(next)),
                        op.delete().forPath(LEASES + "/" + name));
                held.remove(name);
            } else {
                List<CuratorTransactionResult> results = zk.transaction().forOperations(
                        op.check().forPath(LEASES + "/" + name),
                        op.setData().withVersion(h.version()).forPath(DOMAINS + "/" + name, Records.encodeDomain(next)));
                held.put(name, h.withRecord(next, results.get(1).getResultStat().getVersion()));
            }
            return next;
        } catch (KeeperException.BadVersionException | KeeperException.NoNodeException e) {
            Stat now = new Stat();
            if (appliedAfterAll(name, next, now, !release)) {
                if (release) {
                    held.remove(name);
                } else {
                    held.put(name, h.withRecord(next, now.getVersion()));
                }
                return next;
            }
            fenceLost(name, "the engine refused this host's write (generation " + h.record().generation() + "): "
                    + (e instanceof KeeperException.NoNodeException ? "its lease is gone" : "another host has written the record since"));
            throw new PoolException("refused: this host's lease on pool domain '" + name + "' (generation " + h.record().generation()
                    + ") is no longer valid — a stale owner's write");
        } catch (Exception e) {
            throw Engine.failure("cannot update pool domain '" + name + "'", e);
        }
    }

    // ------------------------------------------------------------------ running domains

    PoolDomain start(String name) {
        DomainRecord r = claim(name);
        Domain d;
        try {
            d = hypervisor.create(r.config());
        } catch (RuntimeException e) {
            try {
                ownerWrite(name, DomainRecord.STOPPED, true);
            } catch (PoolException ignored) {
                // the lease ends with the session anyway
            }
            throw new PoolException("pool domain '" + name + "' cannot start on " + host + ": " + e.getMessage(), e);
        }
        held.computeIfPresent(name, (k, h) -> new Held(h.record(), h.version(), d.id()));
        if (closed) { // close() set the flag before it paused what it held: this copy may have missed it
            hypervisor.pause(d.id());
            log.accept("pool: domain " + name + " paused (fenced): the pool stopped while it started");
            throw new PoolException("the pool stopped on " + host + " while pool domain '" + name + "' started");
        }
        log.accept("pool: domain " + name + " runs here as domid " + d.id() + " (generation " + r.generation() + ")");
        return ownerWrite(name, DomainRecord.RUNNING, false).toApi();
    }

    PoolDomain stop(String name) {
        Held h = held.get(name);
        if (h == null) {
            DomainRecord r = readForUse(name, new Stat());
            throw new PoolException("pool domain '" + name + "' is " + r.state() + (r.owner().isEmpty() ? "" : " on " + r.owner())
                    + ": only its owner can stop it");
        }
        destroyLocal(h);
        fencePaused.remove(name);
        return ownerWrite(name, DomainRecord.STOPPED, true).toApi();
    }

    private void destroyLocal(Held h) {
        if (h.domid() >= 0 && hypervisor.lookup(h.domid()).isPresent()) {
            ownDestroys.add(h.domid()); // before the call: its event may be handled before destroy returns
            try {
                hypervisor.destroy(h.domid());
            } catch (RuntimeException e) {
                log.accept("pool: could not destroy domid " + h.domid() + ": " + e.getMessage());
            }
        }
    }

    // ------------------------------------------------------------------ the guest's own end

    /**
     * A local domain was destroyed (the hypervisor's {@code destroyed} event, handled on the pool's
     * executor). If it is the copy of a domain this host holds, and neither the pool itself
     * (stop, fencing) nor a migration away destroyed it, its guest ended by itself (power-off, a
     * crash with {@code on_crash=destroy}) or someone destroyed it by hand: the record says so
     * ({@code state}, {@link DomainRecord#STOPPED} or {@link DomainRecord#CRASHED}) and the lease
     * is released, so that HA leaves it alone and {@code xen:pool-start} can start it anywhere.
     * With {@code restart} the guest rebooted: the lease stays, and {@link #localCreated} moves it
     * to the new domid. Throws on a transient failure (the caller tries again).
     *
     * @return whether a reboot is now awaited (the caller checks later that it came)
     */
    boolean localEnded(String name, int domid, String state, String why, boolean restart) {
        if (ownDestroys.remove(domid)) {
            return false;
        }
        Held h = held.get(name);
        if (h == null || h.domid() != domid || migrating.contains(name)) {
            return false; // not ours (any more): stopped, fenced or handed over by the pool itself
        }
        if (restart) {
            rebooting.put(name, domid);
            log.accept("pool: domain " + name + " reboots here (" + why + "): same lease, generation " + h.record().generation());
            return true;
        }
        release(name, h, state, why);
        return false;
    }

    /**
     * A local domain appeared: if it is the new copy of a held domain that rebooted, the lease now
     * covers it. Restart: the old copy was destroyed first ({@link #localEnded} noted it).
     * Rename-restart: the old copy stays, renamed ({@code name-<domid>}, no event), so a held copy
     * that no longer bears its name is the sign. A domain of the name whose held copy merely
     * vanished is not adopted: that may be anyone's {@code xen:create}.
     */
    void localCreated(String name, int domid) {
        Integer old = rebooting.get(name);
        Held h = held.get(name);
        if (h == null || h.domid() < 0 || h.domid() == domid) {
            return;
        }
        boolean restarted = old != null && h.domid() == old && rebooting.remove(name, old);
        boolean renamed = !restarted && hypervisor.lookup(h.domid()).map(d -> !d.name().equals(name)).orElse(false);
        if (restarted || renamed) {
            held.put(name, new Held(h.record(), h.version(), domid));
            log.accept("pool: domain " + name + " rebooted here as domid " + domid + (renamed ? " (its old copy renamed)" : "")
                    + " (generation " + h.record().generation() + ")");
        }
    }

    /** Some time after a reboot began: if no new copy appeared (the restart failed), the domain ended. */
    void rebootOverdue(String name, int oldDomid) {
        Held h = held.get(name);
        if (rebooting.remove(name, oldDomid) && h != null && h.domid() == oldDomid) {
            release(name, h, DomainRecord.STOPPED, "its reboot did not bring it back");
        }
    }

    /**
     * The owner's release after its copy ended: record {@code state} with no owner, lease deleted,
     * under the version this host last wrote — a host that lost the domain meanwhile (its record
     * moved on) has the write refused by ZooKeeper, as every stale owner's write is. If only the
     * lease is gone (this session expired and nobody took the domain), the lease is re-created and
     * deleted in the same transaction, as {@link #markLost} does: otherwise the record would stay
     * "running" without a lease and HA would restart a guest that ended on purpose.
     */
    private void release(String name, Held h, String state, String why) {
        DomainRecord next = h.record().with("", state, h.record().generation());
        byte[] data = Records.encodeDomain(next);
        TransactionOp op = zk.transactionOp();
        try {
            try {
                zk.transaction().forOperations(
                        op.setData().withVersion(h.version()).forPath(DOMAINS + "/" + name, data),
                        op.delete().forPath(LEASES + "/" + name));
            } catch (KeeperException.NoNodeException leaseGone) {
                zk.transaction().forOperations(
                        op.create().withMode(CreateMode.EPHEMERAL).forPath(LEASES + "/" + name, lease(h.record().generation())),
                        op.setData().withVersion(h.version()).forPath(DOMAINS + "/" + name, data),
                        op.delete().forPath(LEASES + "/" + name));
            }
        } catch (KeeperException.BadVersionException | KeeperException.NoNodeException | KeeperException.NodeExistsException e) {
            if (!appliedAfterAll(name, next, new Stat(), false)) {
                held.remove(name);
                fencePaused.remove(name);
                log.accept("pool: domain " + name + " ended here (" + why + ") but its record is no longer this host's "
                        + "(generation " + h.record().generation() + "): not recorded — a stale owner's write");
                return;
            }
        } catch (Exception e) {
            throw Engine.failure("cannot record the end of pool domain '" + name + "'", e);
        }
        held.remove(name);
        fencePaused.remove(name);
        log.accept("pool: domain " + name + " " + state + " (" + why + "): lease released (generation " + h.record().generation() + ")");
    }

    // ------------------------------------------------------------------ fencing

    /** The link to the ensemble is gone (SUSPENDED): pause every running local copy now. */
    void linkLost() {
        pauseHeld(false);
    }

    /**
     * Pauses every running local copy of a held domain. {@code stopping}: the pool stops on this
     * host (its leases go next), and every held domain's fate is logged, also one that does not run
     * here (gone, already paused, shut down) — so that a stop shows what it left behind.
     */
    private void pauseHeld(boolean stopping) {
        for (Map.Entry<String, Held> e : held.entrySet()) {
            int domid = e.getValue().domid();
            String name = e.getKey();
            if (domid < 0) {
                continue;
            }
            try {
                DomainState s = hypervisor.lookup(domid).map(Domain::state).orElse(null);
                if (s == DomainState.RUNNING || s == DomainState.BLOCKED) {
                    hypervisor.pause(domid);
                    fencePaused.add(name);
                    log.accept(stopping ? "pool: stopping: domain " + name + " paused (fenced) before this host's leases go"
                            : "pool: link to the pool lost: domain " + name + " paused (fenced)");
                } else if (stopping) {
                    log.accept("pool: stopping: domain " + name + " (domid " + domid + ") does not run here: "
                            + (s == null ? "gone" : s.toString().toLowerCase(java.util.Locale.ROOT)));
                }
            } catch (RuntimeException ex) {
                log.accept("pool: could not pause domain " + name + (stopping ? " while stopping: " : " while fencing: ") + ex.getMessage());
            }
        }
    }

    /**
     * The link is back (RECONNECTED): for each held domain, resume it if the lease is still ours,
     * take it again if nobody took it while our session was gone, or else destroy the local copy.
     */
    void linkBack() {
        long session;
        try {
            session = zk.getZookeeperClient().getZooKeeper().getSessionId();
        } catch (Exception e) {
            return;
        }
        for (String name : held()) {
            Held h = held.get(name);
            if (h == null) {
                continue;
            }
            try {
                Stat lease = zk.checkExists().forPath(LEASES + "/" + name);
                Stat rec = new Stat();
                DomainRecord now = read(name, rec);
                if (lease != null && lease.getEphemeralOwner() == session && rec.getVersion() == h.version()) {
                    resume(name, h);
                } else if (lease == null && now.owner().equals(host) && now.generation() == h.record().generation()
                        && rec.getVersion() == h.version()) {
                    held.remove(name);
                    DomainRecord again = claim(name);
                    held.computeIfPresent(name, (k, x) -> new Held(x.record(), x.version(), h.domid()));
                    ownerWrite(name, DomainRecord.RUNNING, false);
                    log.accept("pool: session was lost but nobody took " + name + ": taken again (generation " + again.generation() + ")");
                    resume(name, h);
                } else {
                    fenceLost(name, "now held by " + (now.owner().isEmpty() ? "nobody" : now.owner()) + " (generation " + now.generation() + ")");
                }
            } catch (PoolException e) {
                fenceLost(name, e.getMessage());
            } catch (Exception e) {
                log.accept("pool: domain " + name + " stays paused: " + e.getMessage());
            }
        }
    }

    private void resume(String name, Held h) {
        if (fencePaused.remove(name) && h.domid() >= 0) {
            hypervisor.unpause(h.domid());
            log.accept("pool: link to the pool back: domain " + name + " resumed");
        }
    }

    /** This host no longer holds the domain: its local copy must not run again. */
    private void fenceLost(String name, String why) {
        Held h = held.remove(name);
        fencePaused.remove(name);
        if (h != null) {
            destroyLocal(h);
            log.accept("pool: lease on " + name + " lost, local copy destroyed: " + why);
        }
    }

    /**
     * The pool stops here (bundle stop, host leaving): the leases end with the session, so every held
     * local copy is paused first — another host may restart an HA domain the moment its lease is
     * gone, and a copy left running here would then be a second one.
     */
    void close() {
        closed = true;
        pauseHeld(true);
        held.clear();
        fencePaused.clear();
        rebooting.clear();
    }
}
