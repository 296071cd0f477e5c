package org.xenj.pool.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.apache.curator.test.TestingServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.pool.api.PoolDomain;
import org.xenj.pool.api.PoolException;
import org.xenj.pool.internal.record.DomainRecord;

/**
 * Leases and fencing over a real ZooKeeper server with several hosts in this JVM, each behind a
 * link the test can cut. The shared {@link History} is checked after every test: no domain ever
 * ran on two hosts.
 */
class LeaseTest {

    static final int HOSTS = 4;
    static final int ROUNDS = 50;

    @TempDir
    Path dir;
    TestingServer server;
    final History history = new History();
    final List<PoolHostFixture> hosts = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        server = ZkServers.start(dir);
        for (int i = 0; i < HOSTS; i++) {
            PoolHostFixture h = new PoolHostFixture("host-" + (char) ('a' + i), server.getPort(), history);
            h.pool.join();
            hosts.add(h);
        }
    }

    @AfterEach
    void stop() throws Exception {
        for (PoolHostFixture h : hosts) {
            h.close();
        }
        server.close();
        List<String> bad = history.violations();
        assertEquals(List.of(), bad, "moments a domain ran on two hosts");
    }

    static DomainConfig config(String name) {
        return DomainConfig.builder(name).type(DomainType.WORKLOAD).workload("idle").memoryMiB(64)
                .disks(List.of("file:/srv/pool/" + name + ".img,xvda,w")).build();
    }

    @Test
    void exactlyOneOfManyConcurrentClaimsWins() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(HOSTS);
        int claims = 0;
        int wins = 0;
        int refusals = 0;
        try {
            for (int round = 0; round < ROUNDS; round++) {
                String name = "dom-" + round;
                hosts.get(0).pool.add(config(name));
                // twice per domain: a fresh lease (generation 1), then after a stop, a second (generation 2)
                for (long generation = 1; generation <= 2; generation++) {
                    CyclicBarrier barrier = new CyclicBarrier(HOSTS);
                    ConcurrentLinkedQueue<String> winners = new ConcurrentLinkedQueue<>();
                    ConcurrentLinkedQueue<String> refused = new ConcurrentLinkedQueue<>();
                    List<Future<?>> done = new ArrayList<>();
                    for (PoolHostFixture h : hosts) {
                        done.add(pool.submit(() -> {
                            barrier.await();
                            try {
                                h.pool.start(name);
                                winners.add(h.name);
                            } catch (PoolException e) {
                                assertTrue(e.getMessage().contains("is held by") || e.getMessage().contains("changed while"), e.getMessage());
                                refused.add(h.name);
                            }
                            return null;
                        }));
                    }
                    for (Future<?> f : done) {
                        f.get();
                    }
                    claims += HOSTS;
                    assertEquals(1, winners.size(), "round " + round + " generation " + generation + ": winners " + winners);
                    wins += winners.size();
                    refusals += refused.size();
                    String winner = winners.peek();
                    PoolDomain d = find(name);
                    assertEquals(winner, d.owner());
                    assertEquals(DomainRecord.RUNNING, d.state());
                    assertEquals(generation, d.generation());
                    for (PoolHostFixture h : hosts) {
                        assertEquals(h.name.equals(winner) ? DomainState.RUNNING : null, h.hypervisor.state(name), h.name);
                    }
                    host(winner).pool.stop(name);
                    assertEquals("", find(name).owner());
                }
            }
        } finally {
            pool.shutdownNow();
        }
        System.out.println("LeaseTest: " + claims + " concurrent claims in " + ROUNDS * 2 + " rounds by " + HOSTS + " hosts: "
                + wins + " won, " + refusals + " refused, " + history.violations().size() + " double runs");
        assertEquals(ROUNDS * 2, wins);
        assertEquals(ROUNDS * 2 * (HOSTS - 1), refusals);
    }

    @Test
    void aPartitionedOwnerPausesItsDomainBeforeAnotherHostTakesItAndItsLaterWritesAreRefused() throws Exception {
        PoolHostFixture a = hosts.get(0);
        PoolHostFixture b = hosts.get(1);
        a.pool.revalidateOnReconnect(false); // so that the stale write below is ours to make, not the reconnect's
        a.pool.add(config("web"));
        a.pool.start("web");
        long cutAt = history.events().size();
        a.link.cut();
        // b tries again and again; it can only succeed once a's session expired on the server
        long takenAt = -1;
        long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
        while (takenAt < 0 && System.nanoTime() < deadline) {
            try {
                b.pool.start("web");
                takenAt = history.firstSeq("host-b", "web", History.Kind.CREATE, cutAt - 1);
            } catch (PoolException e) {
                assertTrue(e.getMessage().contains("is held by"), e.getMessage());
                Thread.sleep(50);
            }
        }
        assertTrue(takenAt >= 0, "host-b never took the lease");
        long pausedAt = history.firstSeq("host-a", "web", History.Kind.PAUSE, cutAt - 1);
        assertTrue(pausedAt >= 0 && pausedAt < takenAt, "host-a paused 'web' at #" + pausedAt + ", host-b started it at #" + takenAt);
        assertEquals(DomainState.PAUSED, a.hypervisor.state("web"));
        assertEquals("host-b", find("web").owner());
        assertEquals(2, find("web").generation());

        a.link.heal();
        PoolHostFixture.await("host-a reconnected", Duration.ofSeconds(30), () -> a.pool.status().state().equals("connected"));
        PoolException stale = assertThrows(PoolException.class, () -> a.pool.ownerWrite("web", DomainRecord.RUNNING));
        assertTrue(stale.getMessage().contains("stale owner"), stale.getMessage());
        assertNull(a.hypervisor.state("web"), "host-a's fenced copy is destroyed");
        PoolDomain now = find("web");
        assertEquals("host-b", now.owner());
        assertEquals(2, now.generation());
        assertEquals(DomainRecord.RUNNING, now.state());
        assertEquals(DomainState.RUNNING, b.hypervisor.state("web"));
        System.out.println("LeaseTest: host-a paused web at #" + pausedAt + ", host-b started it at #" + takenAt + "; stale write: " + stale.getMessage());
    }

    @Test
    void aMomentaryLossOfEveryConnectionDoesNotFence() throws Exception {
        // A leader election: every server drops every client at once, and they reconnect within
        // moments. The sessions were alive a moment ago, so nothing can expire: nobody pauses.
        PoolHostFixture a = hosts.get(0);
        a.pool.add(config("calm"));
        a.pool.start("calm");
        Thread.sleep(PoolHostFixture.SESSION_MS / 5); // a heartbeat or two
        long mark = history.events().size();
        int logged = a.log.size();
        for (PoolHostFixture h : hosts) {
            h.link.drop();
        }
        PoolHostFixture.await("host-a saw the link go", Duration.ofSeconds(10),
                () -> a.log.subList(logged, a.log.size()).stream().anyMatch(l -> l.contains("(suspended)")));
        PoolHostFixture.await("host-a reconnected", Duration.ofSeconds(20), () -> a.pool.status().state().equals("connected"));
        Thread.sleep(PoolHostFixture.SESSION_MS); // a pending pause would have come by now
        assertEquals(-1, history.firstSeq("host-a", "calm", History.Kind.PAUSE, mark - 1),
                "host-a paused 'calm' although its session never was in danger: " + a.log.subList(logged, a.log.size()));
        assertEquals(DomainState.RUNNING, a.hypervisor.state("calm"));
        PoolDomain d = find("calm");
        assertEquals("host-a", d.owner());
        assertEquals(1, d.generation());
        assertEquals(DomainRecord.RUNNING, d.state());
    }

    @Test
    void aDroppedConnectionThatStaysDownIsFencedBeforeTheLeaseCanPass() throws Exception {
        // The same first moment, but the link stays down: the grace ends before the session can expire.
        PoolHostFixture a = hosts.get(0);
        PoolHostFixture b = hosts.get(1);
        a.pool.add(config("grace"));
        a.pool.start("grace");
        Thread.sleep(PoolHostFixture.SESSION_MS / 5);
        long mark = history.events().size();
        long droppedAt = System.nanoTime();
        a.link.cut();
        a.link.drop();
        long takenAt = -1;
        long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
        while (takenAt < 0 && System.nanoTime() < deadline) {
            try {
                b.pool.start("grace");
                takenAt = history.firstSeq("host-b", "grace", History.Kind.CREATE, mark - 1);
            } catch (PoolException e) {
                Thread.sleep(50);
            }
        }
        long tookMs = (System.nanoTime() - droppedAt) / 1_000_000;
        assertTrue(takenAt >= 0, "host-b never took the lease");
        long pausedAt = history.firstSeq("host-a", "grace", History.Kind.PAUSE, mark - 1);
        assertTrue(pausedAt >= 0 && pausedAt < takenAt, "host-a paused 'grace' at #" + pausedAt + ", host-b started it at #" + takenAt);
        assertTrue(tookMs >= PoolHostFixture.SESSION_MS * SessionGuard.FENCE_AT, "taken after " + tookMs + " ms");
        a.link.heal();
    }

    @Test
    void anExpiredOwnerThatNobodyReplacedTakesItsDomainBackAndResumesIt() throws Exception {
        PoolHostFixture a = hosts.get(0);
        a.pool.add(config("db"));
        a.pool.start("db");
        a.link.cut();
        PoolHostFixture.await("host-a's session lost", Duration.ofSeconds(30), () -> a.pool.status().state().equals("lost"));
        assertEquals(DomainState.PAUSED, a.hypervisor.state("db"));
        // the server expired the session too: the lease is gone, nobody took it
        PoolHostFixture.await("lease of db gone", Duration.ofSeconds(30), () -> {
            try {
                return hosts.get(1).client.checkExists().forPath(DomainRegistry.LEASES + "/db") == null;
            } catch (Exception e) {
                return false;
            }
        });
        a.link.heal();
        PoolHostFixture.await("host-a runs db again", Duration.ofSeconds(30),
                () -> a.hypervisor.state("db") == DomainState.RUNNING && find("db").generation() == 2);
        assertEquals("host-a", find("db").owner());
        assertEquals(DomainRecord.RUNNING, find("db").state());
    }

    @Test
    void anExpiredOwnerWhoseDomainWasTakenDestroysItsCopyWhenItComesBack() throws Exception {
        PoolHostFixture a = hosts.get(0);
        PoolHostFixture c = hosts.get(2);
        a.pool.add(config("mail"));
        a.pool.start("mail");
        a.link.cut();
        PoolHostFixture.await("host-c takes mail", Duration.ofSeconds(40), () -> {
            try {
                c.pool.start("mail");
                return true;
            } catch (PoolException e) {
                return false;
            }
        });
        a.link.heal();
        PoolHostFixture.await("host-a's copy destroyed", Duration.ofSeconds(30), () -> a.hypervisor.state("mail") == null);
        assertEquals("host-c", find("mail").owner());
        assertEquals(DomainState.RUNNING, c.hypervisor.state("mail"));
    }

    @Test
    void onlyTheOwnerStopsAndOnlyStoppedDomainsAreRemoved() {
        PoolHostFixture a = hosts.get(0);
        PoolHostFixture b = hosts.get(1);
        a.pool.add(config("app"));
        assertTrue(assertThrows(PoolException.class, () -> a.pool.add(config("app"))).getMessage().contains("already has a domain"));
        a.pool.start("app");
        assertTrue(assertThrows(PoolException.class, () -> b.pool.stop("app")).getMessage().contains("only its owner"));
        assertTrue(assertThrows(PoolException.class, () -> b.pool.remove("app")).getMessage().contains("stop it first"));
        a.pool.stop("app");
        b.pool.remove("app");
        assertEquals(List.of(), b.pool.domains());
        assertTrue(assertThrows(PoolException.class, () -> b.pool.start("app")).getMessage().contains("no pool domain"));
    }

    private PoolDomain find(String name) {
        return hosts.get(HOSTS - 1).pool.domains().stream().filter(d -> d.name().equals(name)).findFirst().orElseThrow();
    }

    private PoolHostFixture host(String name) {
        return hosts.stream().filter(h -> h.name.equals(name)).findFirst().orElseThrow();
    }
}
