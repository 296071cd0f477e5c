package org.xenj.pool.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.apache.curator.test.TestingServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.pool.api.PoolException;
import org.xenj.pool.api.PoolHost;

/** Membership over a real ZooKeeper server: records appear, disappear with the session, come back. */
class MembershipTest {

    @TempDir
    Path dir;
    TestingServer server;
    final History history = new History();
    PoolHostFixture a;
    PoolHostFixture b;

    @BeforeEach
    void start() throws Exception {
        server = ZkServers.start(dir);
        a = new PoolHostFixture("host-a", server.getPort(), history);
        b = new PoolHostFixture("host-b", server.getPort(), history);
    }

    @AfterEach
    void stop() throws Exception {
        b.close();
        a.close();
        server.close();
    }

    private List<String> names(PoolHostFixture from) {
        return from.pool.hosts().stream().map(PoolHost::name).toList();
    }

    @Test
    void recordsCarryTheHostsFigures() {
        a.pool.join();
        b.pool.join();
        List<PoolHost> hosts = b.pool.hosts();
        assertEquals(List.of("host-a", "host-b"), hosts.stream().map(PoolHost::name).toList());
        PoolHost ha = hosts.get(0);
        assertEquals("host-a.test", ha.address());
        assertEquals(4, ha.pcpus());
        assertEquals(FakeHypervisor.TOTAL_KIB, ha.freeMemoryKiB());
        assertEquals("xenj-0.1", ha.version());
        assertTrue(a.pool.status().member());
    }

    @Test
    void aHostDisappearsWhenItsSessionExpiresAndComesBackWhenItReconnects() throws Exception {
        a.pool.join();
        b.pool.join();
        assertEquals(List.of("host-a", "host-b"), names(b));
        a.link.cut();
        PoolHostFixture.await("host-a gone from host-b's view", Duration.ofSeconds(30), () -> names(b).equals(List.of("host-b")));
        PoolHostFixture.await("host-a sees its link lost", Duration.ofSeconds(30),
                () -> a.pool.status().state().equals("lost") || a.pool.status().state().equals("suspended"));
        a.link.heal();
        PoolHostFixture.await("host-a back in host-b's view", Duration.ofSeconds(30), () -> names(b).equals(List.of("host-a", "host-b")));
        assertEquals("connected", a.pool.status().state());
    }

    @Test
    void leaveAndJoinAgain() {
        a.pool.join();
        b.pool.join();
        b.pool.leave();
        assertEquals(List.of("host-a"), names(a));
        b.pool.join();
        assertEquals(List.of("host-a", "host-b"), names(a));
    }

    @Test
    void aHostThatRunsPoolDomainsCannotLeave() {
        a.pool.join();
        a.pool.add(DomainConfig.builder("web").type(DomainType.WORKLOAD).workload("idle").build());
        a.pool.start("web");
        PoolException e = assertThrows(PoolException.class, a.pool::leave);
        assertTrue(e.getMessage().contains("runs pool domains [web]"), e.getMessage());
        a.pool.stop("web");
        a.pool.leave();
        assertEquals(List.of(), names(b));
    }

    @Test
    void aSecondHostOfTheSameNameIsRefused() throws Exception {
        a.pool.join();
        try (PoolHostFixture twin = new PoolHostFixture("host-a", server.getPort(), history)) {
            PoolException e = assertThrows(PoolException.class, twin.pool::join);
            assertTrue(e.getMessage().contains("already a member"), e.getMessage());
        }
    }

    @Test
    void aHostWithoutThePoolSecretCanNeitherReadNorJoin() throws Exception {
        a.pool.join();
        try (PoolHostFixture stranger = new PoolHostFixture("host-x", server.getPort(), history, "wrong-secret")) {
            PoolException join = assertThrows(PoolException.class, stranger.pool::join);
            assertTrue(join.getMessage().contains("pool secret"), join.getMessage());
            PoolException read = assertThrows(PoolException.class, stranger.pool::hosts);
            assertTrue(read.getMessage().contains("pool secret"), read.getMessage());
            PoolException domains = assertThrows(PoolException.class, stranger.pool::domains);
            assertTrue(domains.getMessage().contains("pool secret"), domains.getMessage());
        }
        assertEquals(List.of("host-a"), names(a));
    }
}
