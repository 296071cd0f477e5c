package org.xenj.pool.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.test.InstanceSpec;
import org.apache.curator.test.TestingCluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.hypervisor.api.DomainState;
import org.xenj.pool.api.PoolDomain;

/**
 * The server a host is connected to vanishes silently (its own host's link is cut) while the rest
 * of the ensemble is fine. The host must move to another server before its fence deadline and
 * pause nothing: its session was never in danger. The three-host run saw such a host pause for
 * 0.2 s, because its client noticed the silence only at its read timeout (2/3 T) and then slept up
 * to 1 s before it tried the next server — after the 3/4 T deadline.
 */
class ServerLossTest {

    /** Longer than the other tests' 3 s so that the client's random 0-1 s reconnect delay is small beside it. */
    static final int SESSION_MS = 6000;

    @TempDir
    Path dir;

    record Line(long nanos, String text) {
    }

    /** Whether the ZooKeeper handle under {@code client} is connected (false while Curator swaps it). */
    private static boolean connected(CuratorFramework client) {
        try {
            return client.getZookeeperClient().getZooKeeper().getState() == org.apache.zookeeper.ZooKeeper.States.CONNECTED;
        } catch (Exception e) {
            return false;
        }
    }

    @Test
    void aHostWhoseServerVanishesMovesToAnotherServerBeforeItsDeadlineAndPausesNothing() throws Exception {
        History history = new History();
        List<InstanceSpec> specs = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            // tick 500 ms: the servers grant sessions of 1-10 s
            java.nio.file.Files.createDirectories(dir.resolve("zk" + i));
            specs.add(new InstanceSpec(dir.resolve("zk" + i).toFile(), -1, -1, -1, true, i, 500, 100));
        }
        List<TcpProxy> links = new ArrayList<>();
        try (TestingCluster cluster = new TestingCluster(specs)) {
            cluster.start();
            for (InstanceSpec s : specs) {
                links.add(new TcpProxy(s.getPort()));
            }
            String connect = links.stream().map(TcpProxy::connectString).collect(Collectors.joining(","));
            List<Line> log = new CopyOnWriteArrayList<>();
            try (CuratorFramework client = PoolClients.create(connect, PoolHostFixture.SECRET, SESSION_MS)) {
                assertTrue(client.blockUntilConnected(30, TimeUnit.SECONDS));
                FakeHypervisor hv = new FakeHypervisor("host-a", history);
                ZkPool a = new ZkPool(client, hv, "host-a", "host-a.test", connect, false,
                        l -> log.add(new Line(System.nanoTime(), l)), new Placements(), SESSION_MS, 1000);
                try {
                    a.join();
                    a.add(LeaseTest.config("steady"));
                    a.start("steady");
                    Thread.sleep(SESSION_MS / 5); // a heartbeat or two
                    List<TcpProxy> carrying = links.stream().filter(TcpProxy::carrying).toList();
                    assertEquals(1, carrying.size(), "links carrying host-a's connection");
                    TcpProxy server = carrying.get(0);
                    long mark = history.events().size();
                    long cutAt = System.nanoTime();
                    server.cut();
                    try {
                        PoolHostFixture.await("host-a connected through another server", Duration.ofSeconds(20),
                                // not "through another proxy": Curator's ensemble tracker may hand the client the servers'
                                // own addresses from /zookeeper/config (seen in 4 of 19 runs: connected, no proxy carrying)
                                () -> !server.carrying() && a.status().state().equals("connected")
                                        && connected(client));
                    } catch (AssertionError e) {
                        throw new AssertionError(e.getMessage() + "; links carrying: "
                                + links.stream().map(l -> (l == server ? "cut:" : "") + l.carrying()).toList() + ", pool state "
                                + a.status().state() + ", client state " + client.getZookeeperClient().getZooKeeper().getState()
                                + "; log since the cut: " + log.stream().filter(l -> l.nanos() >= cutAt)
                                        .map(l -> (l.nanos() - cutAt) / 1_000_000 + " ms " + l.text()).toList(), e);
                    }
                    Thread.sleep(SESSION_MS); // a pending pause would have come by now
                    List<String> after = log.stream().filter(l -> l.nanos() >= cutAt).map(Line::text).toList();
                    assertEquals(-1, history.firstSeq("host-a", "steady", History.Kind.PAUSE, mark - 1),
                            "host-a paused although another server was there all along: " + after);
                    long suspendedMs = log.stream().filter(l -> l.nanos() >= cutAt && l.text().contains("(suspended)"))
                            .mapToLong(l -> (l.nanos() - cutAt) / 1_000_000).findFirst().orElse(-1);
                    // not the client's own read timeout (2/3 T after the last answer): the guard's move
                    assertTrue(suspendedMs >= 0 && suspendedMs < SESSION_MS * 0.6, "left the silent server after " + suspendedMs + " ms: " + after);
                    assertEquals(DomainState.RUNNING, hv.state("steady"));
                    PoolDomain d = a.domains().get(0);
                    assertEquals("host-a", d.owner());
                    assertEquals(1, d.generation(), "the same lease: never expired, never retaken");
                    System.out.println("ServerLossTest: left the silent server after " + suspendedMs + " ms; " + after);
                } finally {
                    a.close();
                }
            } finally {
                for (TcpProxy l : links) {
                    l.close();
                }
            }
        }
        assertEquals(List.of(), history.violations());
    }
}
