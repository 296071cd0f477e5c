package org.xenj.pool.internal;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.nodes.PersistentNode;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.data.Stat;
import org.xenj.hypervisor.api.HostInfo;
import org.xenj.hypervisor.api.Hypervisor;
import org.xenj.pool.api.PoolException;
import org.xenj.pool.api.PoolHost;
import org.xenj.pool.internal.record.RecordException;
import org.xenj.pool.internal.record.Records;

/**
 * This host's membership: an ephemeral {@code /hosts/<name>} record that lives as long as the
 * host's ZooKeeper session. Curator's {@link PersistentNode} re-creates it after a session expiry
 * (the host comes back as a member once it reconnects), and {@link #refresh()} keeps its free
 * memory current.
 */
final class Membership {

    static final String HOSTS = "/hosts";

    private final CuratorFramework zk;
    private final Hypervisor hypervisor;
    private final String host;
    private final String address;
    private final Consumer<String> log;
    private PersistentNode node; // guarded by this

    Membership(CuratorFramework zk, Hypervisor hypervisor, String host, String address, Consumer<String> log) {
        this.zk = zk;
        this.hypervisor = hypervisor;
        this.host = host;
        this.address = address;
        this.log = log;
    }

    PoolHost current() {
        HostInfo info = hypervisor.info();
        return new PoolHost(host, address, info.nrPcpus(), info.freeMemoryKiB(), info.xenVersion(), System.currentTimeMillis());
    }

    synchronized boolean isMember() {
        return node != null;
    }

    synchronized void join() {
        if (node != null) {
            return;
        }
        String path = HOSTS + "/" + host;
        try {
            Engine.ensure(zk, HOSTS);
            Stat st = zk.checkExists().forPath(path);
            long session = zk.getZookeeperClient().getZooKeeper().getSessionId();
            if (st != null && st.getEphemeralOwner() != session) {
                throw new PoolException("cannot join: a host named '" + host + "' is already a member (session 0x"
                        + Long.toHexString(st.getEphemeralOwner()) + "); give this one another name with xenj.pool.host");
            }
            PersistentNode n = new PersistentNode(zk, CreateMode.EPHEMERAL, false, path, Records.encodeHost(current()));
            n.start();
            if (!n.waitForInitialCreate(15, TimeUnit.SECONDS)) {
                n.close();
                throw new PoolException("cannot join: the membership record " + path + " was not created within 15 s");
            }
            node = n;
            log.accept("pool: host " + host + " joined");
        } catch (Exception e) {
            throw Engine.failure("cannot join the pool", e);
        }
    }

    synchronized void leave() {
        if (node == null) {
            return;
        }
        try {
            node.close();
            log.accept("pool: host " + host + " left");
        } catch (Exception e) {
            throw Engine.failure("cannot leave the pool", e);
        } finally {
            node = null;
        }
    }

    /** Rewrites this member's record with the hypervisor's figures now (runs every few seconds). */
    synchronized void refresh() {
        if (node == null) {
            return;
        }
        try {
            node.setData(Records.encodeHost(current()));
        } catch (Exception e) {
            // the next refresh tries again; PersistentNode re-creates the node after a session loss
            log.accept("pool: membership record not refreshed: " + e.getMessage());
        }
    }

    List<PoolHost> hosts(List<String> errors) {
        List<PoolHost> out = new ArrayList<>();
        try {
            List<String> children;
            try {
                // reading the pool's root needs the secret even while this list is still empty
                zk.getChildren().forPath("/");
                children = zk.getChildren().forPath(HOSTS);
            } catch (KeeperException.NoNodeException none) {
                return out;
            }
            for (String child : children) {
                String path = HOSTS + "/" + child;
                try {
                    PoolHost h = Records.decodeHost(zk.getData().forPath(path));
                    if (!h.name().equals(child)) {
                        throw new RecordException("field 'name': '" + h.name() + "' is not the record's name '" + child + "'");
                    }
                    out.add(h);
                } catch (KeeperException.NoNodeException gone) {
                    // left between the listing and the read
                } catch (RecordException e) {
                    errors.add(path + ": " + e.getMessage());
                }
            }
        } catch (Exception e) {
            throw Engine.failure("cannot list the pool's hosts", e);
        }
        out.sort(Comparator.comparing(PoolHost::name));
        return out;
    }

    synchronized void close() {
        if (node != null) {
            try {
                node.close();
            } catch (Exception e) {
                // the session's end removes the ephemeral node anyway
            }
            node = null;
        }
    }
}
