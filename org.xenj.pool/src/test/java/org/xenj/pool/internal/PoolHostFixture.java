package org.xenj.pool.internal;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;

import org.apache.curator.framework.CuratorFramework;

/** One xenj host of a test pool: its own hypervisor, link (proxy), ZooKeeper session and pool member. */
final class PoolHostFixture implements AutoCloseable {

    static final String SECRET = "test-secret";
    /** Short so that expiry tests take seconds; the server's tickTime must allow it (min 2, max 20 ticks). */
    static final int SESSION_MS = 3000;

    final String name;
    final FakeHypervisor hypervisor;
    final Placements placements;
    final TcpProxy link;
    final CuratorFramework client;
    final ZkPool pool;
    final List<String> log = new CopyOnWriteArrayList<>();

    PoolHostFixture(String name, int serverPort, History history) throws Exception {
        this(name, serverPort, history, SECRET);
    }

    PoolHostFixture(String name, int serverPort, History history, String secret) throws Exception {
        this(name, serverPort, history, secret, FakeHypervisor.TOTAL_KIB, new Placements(), 10_000);
    }

    /** HA tests: {@code haSweepMs} how often the HA leader looks; its grace for a returning owner is the real session time. */
    PoolHostFixture(String name, int serverPort, History history, String secret, long memoryKiB, Placements placements, long haSweepMs)
            throws Exception {
        this(name, serverPort, history, secret, memoryKiB, placements, haSweepMs, SESSION_MS);
    }

    /** {@code sessionMs}: tests that never let a session expire use a long one (a loaded CI host can stall 3 s). */
    PoolHostFixture(String name, int serverPort, History history, String secret, long memoryKiB, Placements placements, long haSweepMs,
            int sessionMs) throws Exception {
        this.name = name;
        this.placements = placements;
        this.hypervisor = new FakeHypervisor(name, history, memoryKiB);
        this.link = new TcpProxy(serverPort);
        this.client = PoolClients.create(link.connectString(), secret, sessionMs);
        if (!client.blockUntilConnected(20, java.util.concurrent.TimeUnit.SECONDS)) {
            throw new IllegalStateException(name + " did not connect");
        }
        this.pool = new ZkPool(client, hypervisor, name, name + ".test", link.connectString(), false, log::add, placements, sessionMs,
                haSweepMs);
        this.hypervisor.gate = pool.handover();
    }

    /** {@code n} members "host-a", "host-b", … of one server, {@link FakeHypervisor#TOTAL_KIB} each, joined. */
    static List<PoolHostFixture> members(int n, int serverPort, History history, long haSweepMs) throws Exception {
        return members(n, serverPort, history, haSweepMs, SESSION_MS);
    }

    /** As above with ZooKeeper sessions of {@code sessionMs} (the server's tick must allow it). */
    static List<PoolHostFixture> members(int n, int serverPort, History history, long haSweepMs, int sessionMs) throws Exception {
        List<PoolHostFixture> hosts = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            PoolHostFixture h = new PoolHostFixture("host-" + (char) ('a' + i), serverPort, history, SECRET, FakeHypervisor.TOTAL_KIB,
                    new Placements(), haSweepMs, sessionMs);
            h.pool.join();
            hosts.add(h);
        }
        return hosts;
    }

    /**
     * Ends a test pool: the history's violations are taken before the hosts go (a host that stops is
     * no failure to repair), then the hosts and the server close; a moment a domain ran on two hosts
     * fails the test, with every host's log printed.
     */
    static void closeAndCheck(List<PoolHostFixture> hosts, AutoCloseable server, History history) throws Exception {
        List<String> bad = history.violations();
        for (PoolHostFixture h : hosts) {
            h.close();
        }
        server.close();
        if (!bad.isEmpty()) {
            hosts.forEach(h -> System.out.println(h.name + " log: " + String.join("\n  ", h.log)));
        }
        org.junit.jupiter.api.Assertions.assertEquals(List.of(), bad, "moments a domain ran on two hosts; history " + history.events());
    }

    static void await(String what, Duration timeout, BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("not within " + timeout.toSeconds() + " s: " + what);
            }
            Thread.sleep(50);
        }
    }

    @Override
    public void close() {
        pool.close();
        client.close();
        link.close();
    }
}
