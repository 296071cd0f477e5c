package org.xenj.pool.internal;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.api.CuratorWatcher;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.data.Stat;
import org.xenj.pool.api.PoolException;
import org.xenj.pool.internal.record.PoolRequest;
import org.xenj.pool.internal.record.RecordException;
import org.xenj.pool.internal.record.Records;

/**
 * Asks another host to do something (start a pool domain there) through the engine: the request is
 * a sequential znode under {@code /requests/<target>}, the target watches its directory, does it,
 * and writes the answer into the same znode; the requester's watch on that znode wakes it. No
 * connection between xenj hosts is needed beyond the one each has to ZooKeeper, and the ACLs that
 * guard the registry guard the requests too.
 *
 * <p>Safety does not rest on requests: a start still goes through the lease transaction, so a
 * duplicated or late request is refused by the engine like any other claim.
 */
final class Requests {

    static final String REQUESTS = "/requests";

    private final CuratorFramework zk;
    private final String host;
    private final ExecutorService executor;
    private final Function<PoolRequest, String> handler;
    private final Consumer<String> log;
    private volatile boolean closed;

    /**
     * @param handler does a request addressed to this host and returns the answer's message; a
     *                PoolException is the answer "error" with its message
     */
    Requests(CuratorFramework zk, String host, ExecutorService executor, Function<PoolRequest, String> handler, Consumer<String> log) {
        this.zk = zk;
        this.host = host;
        this.executor = executor;
        this.handler = handler;
        this.log = log;
    }

    /** Starts serving this host's requests: a watch on its directory, re-armed on every change. */
    void serve() {
        try {
            Engine.ensure(zk, REQUESTS + "/" + host);
        } catch (Exception e) {
            log.accept("pool: cannot make " + REQUESTS + "/" + host + ": " + e.getMessage());
        }
        executor.execute(this::sweep);
    }

    /** Answers every pending request (also run after a reconnect: watches set before may be gone). */
    void sweep() {
        if (closed) {
            return;
        }
        String dir = REQUESTS + "/" + host;
        List<String> children;
        try {
            CuratorWatcher again = event -> executor.execute(this::sweep);
            children = zk.getChildren().usingWatcher(again).forPath(dir);
        } catch (Exception e) {
            return; // the reconnect runs sweep again
        }
        children.sort(null);
        for (String child : children) {
            answer(dir + "/" + child);
        }
    }

    private void answer(String path) {
        Stat st = new Stat();
        PoolRequest req;
        try {
            req = Records.decodeRequest(zk.getData().storingStatIn(st).forPath(path));
        } catch (RecordException e) {
            log.accept("pool: bad request " + path + ": " + e.getMessage());
            try {
                zk.delete().withVersion(st.getVersion()).forPath(path);
            } catch (Exception ignored) {
                // the next sweep tries again
            }
            return;
        } catch (Exception e) {
            return; // gone (the requester gave up) or unreachable
        }
        if (req.answered()) {
            return;
        }
        PoolRequest done;
        try {
            done = req.answer(PoolRequest.OK, handler.apply(req));
        } catch (PoolException e) {
            done = req.answer(PoolRequest.ERROR, e.getMessage());
        } catch (RuntimeException e) {
            done = req.answer(PoolRequest.ERROR, host + " failed: " + e);
        }
        try {
            zk.setData().withVersion(st.getVersion()).forPath(path, Records.encodeRequest(done));
        } catch (Exception e) {
            // the requester gave up and deleted it
        }
    }

    /**
     * Sends a request to {@code target} and waits for its answer.
     *
     * @return the answer's message when the target did it
     * @throws PoolException the target's error, or no answer within {@code timeoutMs}
     */
    String call(String target, PoolRequest request, long timeoutMs) {
        String path;
        try {
            Engine.ensure(zk, REQUESTS + "/" + target);
            path = zk.create().withMode(CreateMode.PERSISTENT_SEQUENTIAL).forPath(REQUESTS + "/" + target + "/r-", Records.encodeRequest(request));
        } catch (Exception e) {
            throw Engine.failure("cannot send a request to " + target, e);
        }
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        try {
            while (true) {
                CountDownLatch changed = new CountDownLatch(1);
                PoolRequest now;
                try {
                    now = Records.decodeRequest(zk.getData().usingWatcher((CuratorWatcher) e -> changed.countDown()).forPath(path));
                } catch (RecordException e) {
                    throw new PoolException(target + " answered with a bad record: " + e.getMessage());
                }
                if (now.answered()) {
                    if (now.result().equals(PoolRequest.OK)) {
                        return now.message();
                    }
                    throw new PoolException(now.message());
                }
                long left = end - System.nanoTime();
                if (left <= 0 || !changed.await(left, TimeUnit.NANOSECONDS)) {
                    throw new PoolException("no answer from " + target + " within " + timeoutMs + " ms (is its xenj running?)");
                }
            }
        } catch (PoolException e) {
            throw e;
        } catch (Exception e) {
            throw Engine.failure("request to " + target, e);
        } finally {
            try {
                zk.delete().guaranteed().forPath(path);
            } catch (KeeperException.NoNodeException gone) {
                // already
            } catch (Exception e) {
                log.accept("pool: request " + path + " not deleted: " + e.getMessage());
            }
        }
    }

    void close() {
        closed = true;
    }
}
