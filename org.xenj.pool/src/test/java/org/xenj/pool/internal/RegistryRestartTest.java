package org.xenj.pool.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.apache.curator.test.TestingCluster;
import org.apache.curator.test.TestingServer;
import org.apache.curator.test.TestingZooKeeperServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.hypervisor.api.DomainState;
import org.xenj.pool.api.PoolDomain;
import org.xenj.pool.api.PoolHost;

/** The registry lives in ZooKeeper's data, not in any host: it survives the server's restart and a lost ensemble member. */
class RegistryRestartTest {

    @TempDir
    Path dir;

    @Test
    void theRegistrySurvivesARestartOfTheServer() throws Exception {
        History history = new History();
        TestingServer server = ZkServers.start(dir);
        try (PoolHostFixture a = new PoolHostFixture("host-a", server.getPort(), history)) {
            a.pool.join();
            for (String n : List.of("one", "two", "three")) {
                a.pool.add(LeaseTest.config(n));
            }
            a.pool.start("two");
            List<PoolDomain> before = a.pool.domains();
            server.restart();
            PoolHostFixture.await("host-a reconnected after the restart", Duration.ofSeconds(30), () -> {
                try {
                    return a.pool.domains().equals(before);
                } catch (RuntimeException e) {
                    return false;
                }
            });
            assertEquals(before, a.pool.domains());
            PoolHostFixture.await("host-a is a member again", Duration.ofSeconds(30),
                    () -> a.pool.hosts().stream().map(PoolHost::name).toList().equals(List.of("host-a")));
            PoolHostFixture.await("host-a runs 'two' after the restart", Duration.ofSeconds(30),
                    () -> a.hypervisor.state("two") == DomainState.RUNNING);
            a.pool.stop("two");
            assertEquals("stopped", a.pool.domains().get(2).state());
        } finally {
            server.close();
        }
        assertEquals(List.of(), history.violations());
    }

    @Test
    void aThreeServerEnsembleKeepsTheRegistryWhenOneServerDies() throws Exception {
        History history = new History();
        try (TestingCluster cluster = new TestingCluster(3)) {
            cluster.start();
            String connect = cluster.getConnectString();
            try (var client = PoolClients.create(connect, PoolHostFixture.SECRET, 6000)) {
                assertTrue(client.blockUntilConnected(30, java.util.concurrent.TimeUnit.SECONDS));
                ZkPool a = new ZkPool(client, new FakeHypervisor("host-a", history), "host-a", "host-a", connect, false, s -> { });
                a.join();
                a.add(LeaseTest.config("ha"));
                a.start("ha");
                List<PoolDomain> before = a.domains();
                TestingZooKeeperServer victim = cluster.getServers().get(0);
                victim.kill();
                PoolHostFixture.await("registry readable with 2 of 3 servers", Duration.ofSeconds(30), () -> {
                    try {
                        return a.domains().equals(before);
                    } catch (RuntimeException e) {
                        return false;
                    }
                });
                a.stop("ha");
                assertEquals("stopped", a.domains().get(0).state());
                a.close();
            }
        }
        assertEquals(List.of(), history.violations());
    }
}
