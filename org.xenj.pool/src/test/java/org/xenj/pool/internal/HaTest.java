package org.xenj.pool.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.curator.framework.api.CuratorWatcher;
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
import org.xenj.pool.internal.record.Records;

/**
 * Restart elsewhere ({@code on_host_failure="restart"}) over a real ZooKeeper server and three
 * hosts: the owner of an HA domain is cut off for good (its link drops every byte: to the others
 * it is a dead host) or its session is killed; another host runs the domain within a bounded time;
 * the hypervisors' shared history never has it running on two hosts, and the owners the record went
 * through (watched all along) never give one generation two owners or go back in generation.
 */
class HaTest {

    /** Sessions are {@link PoolHostFixture#SESSION_MS}; the leader looks every 100 ms. */
    static final long SWEEP_MS = 100;
    /** The bound asserted for a failover: the session timeout plus generous room for a loaded machine. */
    static final Duration FAILOVER_BOUND = Duration.ofMillis(PoolHostFixture.SESSION_MS + 15_000);

    @TempDir
    Path dir;
    TestingServer server;
    final History history = new History();
    final List<PoolHostFixture> hosts = new ArrayList<>();
    /** Every version of watched records as (owner, generation, state), in the order ZooKeeper's watches saw them. */
    final List<String[]> owners = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws Exception {
        server = ZkServers.start(dir);
        hosts.addAll(PoolHostFixture.members(3, server.getPort(), history, SWEEP_MS));
    }

    @AfterEach
    void stop() throws Exception {
        PoolHostFixture.closeAndCheck(hosts, server, history);
        checkOwnerHistory();
    }

    static DomainConfig config(String name, String onHostFailure) {
        Map<String, String> raw = new HashMap<>();
        if (onHostFailure != null) {
            raw.put(Records.ON_HOST_FAILURE, onHostFailure); // as the toolstack keeps it (string values unquoted)
        }
        return DomainConfig.builder(name).type(DomainType.WORKLOAD).workload("idle").memoryMiB(128)
                .disks(List.of("file:/srv/shared/" + name + ".img,xvda,w")).raw(raw).build();
    }

    /** Watches a record from an observer's own session, re-arming the watch on every change. */
    private void watch(PoolHostFixture observer, String domain) throws Exception {
        String path = DomainRegistry.DOMAINS + "/" + domain;
        CuratorWatcher w = new CuratorWatcher() {
            @Override
            public void process(org.apache.zookeeper.WatchedEvent event) throws Exception {
                try {
                    record(observer.client.getData().usingWatcher(this).forPath(path));
                } catch (Exception e) {
                    // closed at the end of the test
                }
            }
        };
        record(observer.client.getData().usingWatcher(w).forPath(path));
    }

    private void record(byte[] data) throws Exception {
        DomainRecord r = Records.decodeDomain(data);
        owners.add(new String[] {r.name(), r.owner(), Long.toString(r.generation()), r.state()});
    }

    /** The recorded owner history: per domain, generations never go back and one generation has one owner. */
    private void checkOwnerHistory() {
        Map<String, Long> lastGen = new HashMap<>();
        Map<String, String> ownerOf = new HashMap<>();
        for (String[] o : owners) {
            long g = Long.parseLong(o[2]);
            long before = lastGen.getOrDefault(o[0], 0L);
            assertTrue(g >= before, o[0] + ": generation went back from " + before + " to " + g);
            lastGen.put(o[0], g);
            if (!o[1].isEmpty()) {
                String prev = ownerOf.putIfAbsent(o[0] + "@" + g, o[1]);
                assertTrue(prev == null || prev.equals(o[1]), o[0] + " generation " + g + " had two owners: " + prev + " and " + o[1]);
            }
        }
    }

    private PoolDomain find(PoolHostFixture from, String name) {
        return from.pool.domains().stream().filter(d -> d.name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void aDeadHostsHaDomainRunsAgainElsewhereAndItsOtherDomainWaitsForIt() throws Exception {
        PoolHostFixture a = hosts.get(0);
        PoolHostFixture b = hosts.get(1);
        PoolHostFixture c = hosts.get(2);
        PoolHostFixture.await("an HA leader", Duration.ofSeconds(20), () -> hosts.stream().anyMatch(h -> h.pool.haLeader()));
        String leader = hosts.stream().filter(h -> h.pool.haLeader()).findFirst().orElseThrow().name;
        a.pool.add(config("web", "restart"));
        a.pool.add(config("batch", "none"));
        a.pool.start("web");
        a.pool.start("batch");
        watch(c, "web");
        watch(c, "batch");

        long cutSeq = history.events().size();
        long t0 = System.nanoTime();
        a.link.cut(); // host-a is dead to the pool from now on
        PoolHostFixture.await("web runs on host-b or host-c", FAILOVER_BOUND,
                () -> b.hypervisor.state("web") == DomainState.RUNNING || c.hypervisor.state("web") == DomainState.RUNNING);
        long failoverMs = (System.nanoTime() - t0) / 1_000_000;
        String newOwner = b.hypervisor.state("web") != null ? "host-b" : "host-c";
        PoolHostFixture taker = newOwner.equals("host-b") ? b : c;
        long pausedAt = history.firstSeq("host-a", "web", History.Kind.PAUSE, cutSeq - 1);
        long createdAt = history.firstSeq(newOwner, "web", History.Kind.CREATE, cutSeq - 1);
        assertTrue(pausedAt >= 0 && pausedAt < createdAt, "host-a paused web at #" + pausedAt + ", " + newOwner + " created it at #" + createdAt);
        PoolHostFixture.await("the record says " + newOwner, Duration.ofSeconds(10), () -> find(taker, "web").state().equals("running"));
        PoolDomain web = find(taker, "web");
        assertEquals(newOwner, web.owner());
        assertEquals(2, web.generation());

        // batch has no on_host_failure: nobody restarts it; it waits for its owner
        PoolDomain batch = find(taker, "batch");
        assertEquals("host-a", batch.owner());
        assertNull(b.hypervisor.state("batch"));
        assertNull(c.hypervisor.state("batch"));

        // host-a comes back: web is someone else's (its copy goes), batch is still its own (it resumes)
        a.link.heal();
        PoolHostFixture.await("host-a's copy of web destroyed", Duration.ofSeconds(30), () -> a.hypervisor.state("web") == null);
        PoolHostFixture.await("host-a runs batch again", Duration.ofSeconds(30), () -> a.hypervisor.state("batch") == DomainState.RUNNING);
        assertEquals(newOwner, find(a, "web").owner());
        assertEquals(DomainState.RUNNING, taker.hypervisor.state("web"));
        System.out.println("HaTest: host-a cut; web (on_host_failure=restart) running on " + newOwner + " after " + failoverMs
                + " ms (session " + PoolHostFixture.SESSION_MS + " ms, HA leader was " + leader + ", sweep " + SWEEP_MS
                + " ms); host-a paused it at #" + pausedAt + ", " + newOwner + " created it at #" + createdAt + "; owner history "
                + owners.size() + " record versions");
    }

    @Test
    void aKilledSessionOfALiveHostRunsTheHaDomainAgainOnExactlyOneHost() throws Exception {
        PoolHostFixture a = hosts.get(0);
        PoolHostFixture b = hosts.get(1);
        PoolHostFixture.await("an HA leader", Duration.ofSeconds(20), () -> hosts.stream().anyMatch(h -> h.pool.haLeader()));
        b.pool.add(config("db", "restart"));
        b.pool.start("db");
        watch(a, "db");
        long cutSeq = history.events().size();
        long t0 = System.nanoTime();
        // host-b's session ends under it (as after a stall past the timeout); host-b itself stays up and reconnects
        // with a new session: either it takes db back (nobody took it yet) or the HA leader has placed it elsewhere
        b.client.getZookeeperClient().getZooKeeper().getTestable().injectSessionExpiration();
        PoolHostFixture.await("db running again under a new lease", FAILOVER_BOUND, () -> {
            try {
                PoolDomain d = find(a, "db");
                return d.generation() >= 2 && d.state().equals("running") && runningCopies("db") == 1;
            } catch (PoolException e) {
                return false;
            }
        });
        long failoverMs = (System.nanoTime() - t0) / 1_000_000;
        PoolDomain db = find(a, "db");
        assertEquals(1, runningCopies("db"));
        PoolHostFixture owner = hosts.stream().filter(h -> h.name.equals(db.owner())).findFirst().orElseThrow();
        assertEquals(DomainState.RUNNING, owner.hypervisor.state("db"));
        assertTrue(history.firstSeq("host-b", "db", History.Kind.PAUSE, cutSeq - 1) >= 0, "host-b paused db when its session ended");
        System.out.println("HaTest: host-b's session killed; db running on " + db.owner() + " (generation " + db.generation() + ") after "
                + failoverMs + " ms");
    }

    @Test
    void aRestartedHostMarksTheDomainsItRanLostAndItsHaDomainRunsElsewhere() throws Exception {
        PoolHostFixture a = hosts.get(0);
        PoolHostFixture b = hosts.get(1);
        PoolHostFixture c = hosts.get(2);
        PoolHostFixture.await("an HA leader", Duration.ofSeconds(20), () -> hosts.stream().anyMatch(h -> h.pool.haLeader()));
        a.pool.add(config("web", "restart"));
        a.pool.add(config("batch", "none"));
        a.pool.start("web");
        a.pool.start("batch");
        watch(c, "batch");
        // kill -9: the link goes with the process (no goodbye to the server), then a new run of host-a with an
        // empty hypervisor joins under the same name, before or after the old session expired
        a.link.cut();
        a.close();
        PoolHostFixture a2 = new PoolHostFixture("host-a", server.getPort(), history, PoolHostFixture.SECRET, FakeHypervisor.TOTAL_KIB,
                new Placements(), SWEEP_MS);
        hosts.set(0, a2);
        a2.pool.join();
        PoolHostFixture.await("batch marked lost", FAILOVER_BOUND, () -> find(b, "batch").state().equals(DomainRecord.LOST));
        PoolDomain batch = find(b, "batch");
        assertEquals("host-a", batch.owner(), "the record names where it was lost");
        assertEquals(1, batch.generation());
        assertNull(a2.hypervisor.state("batch"));
        assertNull(b.hypervisor.state("batch"));
        assertNull(c.hypervisor.state("batch"));
        PoolHostFixture.await("web runs on host-b or host-c", FAILOVER_BOUND,
                () -> b.hypervisor.state("web") == DomainState.RUNNING || c.hypervisor.state("web") == DomainState.RUNNING);
        PoolHostFixture.await("web's record running elsewhere", Duration.ofSeconds(10),
                () -> find(b, "web").state().equals(DomainRecord.RUNNING) && !find(b, "web").owner().equals("host-a"));
        assertEquals(1, runningCopies("web"));
        // a lost domain is started again like a stopped one (a new generation), or removed
        PoolDomain again = b.pool.start("batch");
        assertEquals("host-b", again.owner());
        assertEquals(2, again.generation());
        assertEquals(DomainRecord.RUNNING, again.state());
        System.out.println("HaTest: host-a restarted; batch marked lost, web restarted on " + find(b, "web").owner());
    }

    private int runningCopies(String name) {
        return (int) hosts.stream().filter(h -> h.hypervisor.state(name) == DomainState.RUNNING).count();
    }

    @Test
    void aBadOnHostFailureValueIsRefused() {
        PoolException e = assertThrows(PoolException.class, () -> hosts.get(0).pool.add(config("x", "reboot")));
        assertTrue(e.getMessage().contains("on_host_failure") && e.getMessage().contains("'reboot' is not one of"), e.getMessage());
    }
}
