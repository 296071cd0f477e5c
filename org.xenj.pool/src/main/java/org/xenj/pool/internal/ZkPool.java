package org.xenj.pool.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.state.ConnectionState;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.Hypervisor;
import org.xenj.pool.api.Pool;
import org.xenj.pool.api.PoolDomain;
import org.xenj.pool.api.PoolException;
import org.xenj.pool.api.PoolHost;
import org.xenj.pool.api.PoolStatus;

/**
 * One host's membership of a pool, over a started Curator client whose namespace is the pool's
 * root. Connection-state changes arrive on Curator's event thread; fencing pauses there (it must
 * happen before the session can expire), everything slower runs on this pool's own executor.
 */
public final class ZkPool implements Pool, AutoCloseable {

    /** How often the membership record's figures (free memory) are rewritten. */
    static final long REFRESH_SECONDS = 5;

    private final CuratorFramework zk;
    private final String host;
    private final String connect;
    private final boolean embedded;
    private final Consumer<String> log;
    private final Membership membership;
    private final DomainRegistry registry;
    private final ScheduledExecutorService executor;
    private volatile String state = "connecting";
    private volatile boolean revalidate = true;

    public ZkPool(CuratorFramework zk, Hypervisor hypervisor, String host, String address, String connect, boolean embedded,
            Consumer<String> log) {
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
        zk.getConnectionStateListenable().addListener(this::stateChanged);
        if (zk.getZookeeperClient().isConnected()) {
            state = "connected";
        }
        executor.scheduleWithFixedDelay(membership::refresh, REFRESH_SECONDS, REFRESH_SECONDS, TimeUnit.SECONDS);
    }

    private void stateChanged(CuratorFramework client, ConnectionState s) {
        switch (s) {
            case CONNECTED -> state = "connected";
            case SUSPENDED -> {
                state = "suspended";
                log.accept("pool: link to the pool's ZooKeeper lost (suspended): fencing held domains");
                registry.linkLost();
            }
            case LOST -> {
                state = "lost";
                log.accept("pool: session with the pool expired: leases gone, held domains stay paused");
                registry.linkLost();
            }
            case RECONNECTED -> {
                state = "connected";
                log.accept("pool: link to the pool back");
                if (revalidate) {
                    executor.execute(registry::linkBack);
                }
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
        return registry.start(name);
    }

    @Override
    public PoolDomain stop(String name) {
        return registry.stop(name);
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

    @Override
    public void close() {
        executor.shutdownNow();
        membership.close();
        registry.close();
    }
}
