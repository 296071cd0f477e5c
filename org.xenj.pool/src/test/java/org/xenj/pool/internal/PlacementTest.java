package org.xenj.pool.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.curator.test.TestingServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.pool.api.Placement;
import org.xenj.pool.api.PlacementPolicy;
import org.xenj.pool.api.PlacementRequest;
import org.xenj.pool.api.PoolDomain;
import org.xenj.pool.api.PoolException;

/**
 * Placement through a real ZooKeeper server and three hosts of different sizes: the default policy's
 * choices, a refusal that adds nothing, the pool-wide swap of the policy at runtime (and the fall
 * back when the chosen policy's service goes away), and the latency of a placed start on another host.
 */
class PlacementTest {

    static final long GIB = 1L << 20; // in KiB

    @TempDir
    Path dir;
    TestingServer server;
    final History history = new History();
    final List<PoolHostFixture> hosts = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        server = ZkServers.start(dir);
    }

    private void hosts(long... memoryKiB) throws Exception {
        for (int i = 0; i < memoryKiB.length; i++) {
            PoolHostFixture h = new PoolHostFixture("host-" + (char) ('a' + i), server.getPort(), history, PoolHostFixture.SECRET,
                    memoryKiB[i], new Placements(), 10_000);
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
        assertEquals(List.of(), history.violations(), "moments a domain ran on two hosts");
    }

    static DomainConfig config(String name, long memoryMiB, int vcpus) {
        return DomainConfig.builder(name).type(DomainType.WORKLOAD).workload("idle").memoryMiB(memoryMiB).vcpus(vcpus)
                .disks(List.of("file:/srv/pool/" + name + ".img,xvda,w")).build();
    }

    @Test
    void theDefaultPolicyGoesToTheMostFreeMemoryAndThenToTheLeastLoad() throws Exception {
        hosts(2 * GIB, 4 * GIB, 3 * GIB);
        PoolHostFixture a = hosts.get(0);
        assertEquals(PlacementPolicy.DEFAULT, a.pool.placementPolicy());
        PoolDomain web = a.pool.create(config("web", 256, 1));
        assertEquals("host-b", web.owner(), "most free memory");
        assertEquals(DomainState.RUNNING, hosts.get(1).hypervisor.state("web"));
        assertEquals("running", web.state());
        assertEquals(1, web.generation());
        System.out.println("PlacementTest: web (256 MiB) on " + web.owner() + " of free 2048/4096/3072 MiB");
    }

    @Test
    void withEqualMemoryTheLeastLoadedHostWinsSoDomainsSpreadOut() throws Exception {
        hosts(4 * GIB, 4 * GIB, 4 * GIB);
        PoolHostFixture a = hosts.get(0);
        a.pool.add(config("busy", 64, 4));
        a.pool.start("busy"); // host-a: 4 vCPUs on 4 pCPUs
        List<String> owners = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            owners.add(a.pool.create(config("small-" + i, 64, 1)).owner());
        }
        // b and c are idle: b (first name), then c (b has a vCPU now), then b or c again, never the busy a
        assertEquals(List.of("host-b", "host-c"), owners.subList(0, 2));
        assertTrue(!owners.get(2).equals("host-a"), "third went to " + owners.get(2));
        System.out.println("PlacementTest: with host-a at 4 vCPUs on 4 pCPUs, three 1-vCPU domains went to " + owners);
    }

    @Test
    void aRefusalIsAClearErrorAndAddsNothing() throws Exception {
        hosts(2 * GIB, 1 * GIB);
        PoolHostFixture a = hosts.get(0);
        PoolException e = assertThrows(PoolException.class, () -> a.pool.create(config("huge", 8192, 1)));
        assertTrue(e.getMessage().contains("cannot place pool domain 'huge'") && e.getMessage().contains("no host fits (needs 8192 MiB")
                && e.getMessage().contains("host-a: 2048 MiB free") && e.getMessage().contains("host-b: 1024 MiB free"), e.getMessage());
        assertEquals(List.of(), a.pool.domains(), "a refused domain is not added");
        Placement p = a.pool.place(new PlacementRequest("x", 512 * 1024, 1, Set.of("host-a", "host-b")));
        assertTrue(p.refused() && p.reason().contains("host-a: excluded"), p.reason());
        System.out.println("PlacementTest: " + e.getMessage());
    }

    @Test
    void thePoolsPolicyIsSwappedAtRuntimeForEveryHostAndFallsBackWhenItsServiceGoes() throws Exception {
        hosts(4 * GIB, 4 * GIB, 2 * GIB);
        PlacementPolicy fullest = (request, candidates) -> {
            var c = candidates.stream().min((x, y) -> Long.compare(x.host().freeMemoryKiB(), y.host().freeMemoryKiB())).orElseThrow();
            return Placement.on(c.host().name(), "fullest");
        };
        for (PoolHostFixture h : hosts) {
            h.placements.add("fullest", fullest);
        }
        PoolHostFixture a = hosts.get(0);
        PoolHostFixture b = hosts.get(1);
        assertEquals("host-a", a.pool.create(config("d1", 128, 1)).owner(), "balanced: most free memory, first name");
        PoolException unknown = assertThrows(PoolException.class, () -> a.pool.choosePlacementPolicy("nope"));
        assertTrue(unknown.getMessage().contains("no placement policy 'nope'"), unknown.getMessage());

        b.pool.choosePlacementPolicy("fullest"); // chosen on b, in force on a too (the choice is in the engine)
        assertEquals("fullest", a.pool.placementPolicy());
        assertEquals("host-c", a.pool.create(config("d2", 128, 1)).owner(), "fullest: the smallest host");

        a.placements.remove("fullest", fullest); // its bundle stopped on host-a
        assertEquals(List.of(PlacementPolicy.DEFAULT), a.pool.placementPolicies());
        assertEquals("host-b", a.pool.create(config("d3", 128, 1)).owner(), "host-a falls back to balanced");
        assertTrue(a.log.stream().anyMatch(l -> l.contains("'fullest' is not installed on host-a: the default decides")), a.log.toString());
        assertEquals("host-c", b.pool.create(config("d4", 128, 1)).owner(), "host-b still has it");

        a.pool.choosePlacementPolicy(PlacementPolicy.DEFAULT);
        assertEquals(PlacementPolicy.DEFAULT, b.pool.placementPolicy());
    }

    @Test
    void placementLatencyOfAStartOnAnotherHost() throws Exception {
        hosts(4 * GIB, 4 * GIB, 4 * GIB);
        PoolHostFixture a = hosts.get(0);
        int n = 30;
        long[] nanos = new long[n];
        Map<String, Integer> where = new java.util.TreeMap<>();
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            PoolDomain d = a.pool.create(config("lat-" + i, 64, 1));
            nanos[i] = System.nanoTime() - t0;
            where.merge(d.owner(), 1, Integer::sum);
        }
        java.util.Arrays.sort(nanos);
        assertEquals(n, a.pool.domains().size());
        assertTrue(where.size() == 3, "spread over all hosts: " + where);
        System.out.printf("PlacementTest: %d placed creates (place + add + start, %d on other hosts): median %.1f ms, max %.1f ms; %s%n",
                n, n - where.getOrDefault("host-a", 0), nanos[n / 2] / 1e6, nanos[n - 1] / 1e6, where);
    }
}
