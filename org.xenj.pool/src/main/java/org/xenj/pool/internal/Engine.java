package org.xenj.pool.internal;

import java.util.concurrent.TimeoutException;

import org.apache.zookeeper.KeeperException;
import org.xenj.pool.api.PoolException;

/** Turns the engine's exceptions into messages for a user: what was asked, and what went wrong. */
final class Engine {

    private Engine() {
    }

    /**
     * Makes a top-level directory of the pool as a persistent node. Not Curator's
     * {@code createContainers}: ZooKeeper reaps an empty container, and {@code /leases} is empty
     * whenever no domain runs, so a transaction creating a lease under it could fail with NoNode.
     */
    static void ensure(org.apache.curator.framework.CuratorFramework zk, String path) throws Exception {
        if (zk.checkExists().forPath(path) == null) {
            try {
                zk.create().creatingParentsIfNeeded().forPath(path);
            } catch (KeeperException.NodeExistsException raced) {
                // another host made it
            }
        }
    }

    static PoolException failure(String what, Throwable e) {
        if (e instanceof PoolException p) {
            return p;
        }
        if (e instanceof KeeperException.NoAuthException || e instanceof KeeperException.AuthFailedException) {
            return new PoolException(what + ": the pool refused access (the pool secret, xenj.pool.secret, does not match)", e);
        }
        if (e instanceof KeeperException.ConnectionLossException || e instanceof KeeperException.SessionExpiredException
                || e instanceof KeeperException.OperationTimeoutException || e instanceof TimeoutException) {
            return new PoolException(what + ": the pool's ZooKeeper ensemble is not reachable (" + e.getClass().getSimpleName() + ")", e);
        }
        if (e instanceof KeeperException k) {
            return new PoolException(what + ": ZooKeeper said " + k.code() + (k.getPath() != null ? " on " + k.getPath() : ""), e);
        }
        if (e instanceof InterruptedException) {
            Thread.currentThread().interrupt();
            return new PoolException(what + ": interrupted", e);
        }
        return new PoolException(what + ": " + e, e);
    }
}
