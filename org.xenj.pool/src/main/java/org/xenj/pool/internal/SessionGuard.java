package org.xenj.pool.internal;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

import org.apache.curator.framework.CuratorFramework;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.ZooKeeper;

/**
 * Decides when a host that lost its link to the ensemble must pause its pool domains.
 *
 * <p>Curator's {@code SUSPENDED} means only "this connection is gone". It comes in two shapes:
 * the client heard nothing for its read timeout (2/3 of the session timeout T — a partition), or a
 * server closed the connection at once (it lost its quorum: a leader election makes every server
 * drop every client for a moment). Pausing at every {@code SUSPENDED} fences the whole pool at each
 * election. What must hold is narrower: the domains are paused before the server can expire the
 * session, because only the expiry deletes the leases another host could then take.
 *
 * <p>The server expires a session T after it last heard from it. This guard proves that the
 * session was alive recently: every T/10 it sends a {@code sync} (which goes through the leader,
 * so a follower cut off from its quorum cannot answer it) and keeps the send time of the last one
 * answered, {@code lastAck}. The server heard from the session no earlier than that, so the
 * session lives at least until {@code lastAck + T}. On {@code SUSPENDED} the guard pauses the
 * domains at {@code lastAck + 3/4 T} — at once when that moment is past (the read-timeout case
 * arrives at about 2/3 T after the last answer, so then the pause comes within T/10 or at once) —
 * unless the connection comes back first. That leaves T/4 (2.5 s with the default 10 s) between
 * the pause and the earliest expiry for scheduling, the pause itself and one server tick by which a
 * follower may pass the session's last touch to the leader late. On {@code LOST} it pauses at once.
 *
 * <p>A server that vanishes silently (its host's link cut, its machine gone) leaves the client
 * waiting for its read timeout, 2/3 T after the last answer, and the client then sleeps a random
 * 0-1 s before it tries the next server: it can miss the 3/4 T deadline although the rest of the
 * ensemble is fine (the three-host run saw that host pause for 0.2 s). So the guard does not wait
 * for the read timeout: when no sync has been answered for {@link #MOVE_AFTER} T while the client
 * still counts itself connected, it closes the client's socket ({@code Testable.closeSocket}, the
 * same thing a server does when it drops its clients — the session stays, the client reconnects to
 * the next server of its list and revalidates the session there). The pause deadline stays at 3/4
 * T: the margin before the earliest expiry is not spent on reconnecting. Moving the deadline later
 * instead (0.9 T) was weighed and not done: it would cut that margin to T/10 and still lose the
 * race whenever the read timeout plus the client's random sleep ran past 0.9 T.
 */
final class SessionGuard implements AutoCloseable {

    /** The pause comes at this fraction of the session timeout after the last proof of life. */
    static final double FENCE_AT = 0.75;
    /**
     * Unanswered syncs for this fraction of T while connected: the server is taken for gone and the
     * connection is closed so that the client moves on. Half the client's own read timeout (2/3 T),
     * so the reconnect, with its random 0-1 s delay, is done well before the 3/4 T deadline; a sync
     * answers in milliseconds otherwise, so a slow but live server costs at most one needless
     * reconnect (the session is kept).
     */
    static final double MOVE_AFTER = 1.0 / 3;

    private final CuratorFramework zk;
    private final long sessionMs;
    private final Runnable fence;
    private final Consumer<String> log;
    private final LongSupplier clock;
    private final ScheduledExecutorService timer;
    private volatile long lastAckNanos;
    /** lastAck at the last time the connection was closed for silence (one close per silence). */
    private volatile long movedAtAck = Long.MIN_VALUE;
    private long epoch;
    private ScheduledFuture<?> pending;

    SessionGuard(CuratorFramework zk, long sessionMs, Runnable fence, Consumer<String> log, String host) {
        this.zk = zk;
        this.sessionMs = sessionMs;
        this.fence = fence;
        this.log = log;
        this.clock = System::nanoTime;
        this.lastAckNanos = clock.getAsLong(); // the client has just connected
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "xenj-pool-fence-" + host);
            t.setDaemon(true);
            return t;
        });
        long beat = Math.max(50, sessionMs / 10);
        timer.scheduleWithFixedDelay(this::heartbeat, 0, beat, TimeUnit.MILLISECONDS);
    }

    /** The session timeout that counts: the one the server granted, if shorter than asked. */
    private long effectiveSessionMs() {
        try {
            int granted = zk.getZookeeperClient().getZooKeeper().getSessionTimeout();
            return granted > 0 ? Math.min(granted, sessionMs) : sessionMs;
        } catch (Exception e) {
            return sessionMs;
        }
    }

    private void heartbeat() {
        ZooKeeper z;
        try {
            z = zk.getZookeeperClient().getZooKeeper();
        } catch (Exception e) {
            return;
        }
        long sent = clock.getAsLong();
        long silent = sent - lastAckNanos;
        if (z.getState() == ZooKeeper.States.CONNECTED && movedAtAck != lastAckNanos
                && silent > TimeUnit.MILLISECONDS.toNanos((long) (effectiveSessionMs() * MOVE_AFTER))) {
            movedAtAck = lastAckNanos;
            log.accept("pool: no answer from the ZooKeeper server for " + silent / 1_000_000
                    + " ms while connected: closing the connection to move to another server (the session stays)");
            try {
                z.getTestable().closeSocket();
            } catch (Exception e) {
                log.accept("pool: could not close the silent connection: " + e);
            }
            // and the sync below: a queued packet wakes the client's I/O thread, which then finds
            // the socket closed at once instead of at its next timeout
        }
        z.sync("/", (rc, path, ctx) -> {
            if (rc == KeeperException.Code.OK.intValue() && sent - lastAckNanos > 0) {
                lastAckNanos = sent;
            }
        }, null);
    }

    /** SUSPENDED: pause at lastAck + 3/4 T unless {@link #reconnected()} comes first. */
    synchronized void suspended() {
        long deadline = lastAckNanos + TimeUnit.MILLISECONDS.toNanos((long) (effectiveSessionMs() * FENCE_AT));
        long delay = deadline - clock.getAsLong();
        long mine = ++epoch;
        if (delay <= 0) {
            log.accept("pool: no answer from the pool for " + (clock.getAsLong() - lastAckNanos) / 1_000_000 + " ms: fencing now");
            fence.run();
            return;
        }
        log.accept("pool: fencing in " + delay / 1_000_000 + " ms unless the link comes back (the session lives at least "
                + (deadline - clock.getAsLong() + TimeUnit.MILLISECONDS.toNanos((long) (effectiveSessionMs() * (1 - FENCE_AT)))) / 1_000_000
                + " ms more)");
        pending = timer.schedule(() -> fenceIfStill(mine), delay, TimeUnit.NANOSECONDS);
    }

    private synchronized void fenceIfStill(long mine) {
        if (mine == epoch) {
            log.accept("pool: the link did not come back in time: fencing");
            fence.run();
        }
    }

    /** LOST: the session is gone or about to be: pause now. */
    synchronized void lost() {
        cancel();
        fence.run();
    }

    /**
     * CONNECTED/RECONNECTED: a pending pause is cancelled. Returns with the guard's lock released,
     * so a pause in progress has finished and the caller's revalidation sees what it paused.
     */
    synchronized void reconnected() {
        cancel();
        lastAckNanos = clock.getAsLong();
    }

    private void cancel() {
        epoch++;
        if (pending != null) {
            pending.cancel(false);
            pending = null;
        }
    }

    /** For tests: when the session was last proved alive, ms ago. */
    long lastAckAgoMs() {
        return (clock.getAsLong() - lastAckNanos) / 1_000_000;
    }

    @Override
    public synchronized void close() {
        cancel();
        timer.shutdownNow();
    }
}
