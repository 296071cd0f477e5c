package org.xenj.pool.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.apache.curator.test.TestingServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.pool.api.Placement;
import org.xenj.pool.api.PlacementCandidate;
import org.xenj.pool.api.PlacementPolicy;
import org.xenj.pool.api.PlacementRequest;
import org.xenj.pool.api.PoolHost;
import org.xenj.pool.pack.internal.PackFirstPlacement;

/**
 * The pack-first bundle's policy, alone and swapped into a running pool (three hosts, a real
 * ZooKeeper server, the pool's own test fixtures): the pool spreads with the default policy, packs
 * once pack-first is chosen, and spreads again when pack-first's service goes away on the deciding host.
 */
class PackFirstSwapTest {

    static final long GIB = 1L << 20;

    @TempDir
    Path dir;
    TestingServer server;
    final History history = new History();
    final List<PoolHostFixture> hosts = new ArrayList<>();
    final PackFirstPlacement pack = new PackFirstPlacement();

    @BeforeEach
    void start() throws Exception {
        server = ZkServers.start(dir);
        for (int i = 0; i < 3; i++) {
            PoolHostFixture h = new PoolHostFixture("host-" + (char) ('a' + i), server.getPort(), history, PoolHostFixture.SECRET,
                    4 * GIB, new Placements(), 10_000);
            h.placements.add(PackFirstPlacement.NAME, pack); // what the DS component's registration does in Karaf
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
        assertEquals(List.of(), history.violations());
    }

    @Test
    void packFirstChoosesTheFullestHostThatFits() {
        List<PlacementCandidate> c = List.of(
                new PlacementCandidate(new PoolHost("h1", "", 4, 3000 * 1024L, "v", 0), 0, 0),
                new PlacementCandidate(new PoolHost("h2", "", 4, 1000 * 1024L, "v", 0), 2, 2),
                new PlacementCandidate(new PoolHost("h3", "", 4, 1000 * 1024L, "v", 0), 3, 3),
                new PlacementCandidate(new PoolHost("h4", "", 4, 2000 * 1024L, "v", 0), 1, 1));
        Placement p = pack.place(new PlacementRequest("d", 512 * 1024, 1, Set.of()), c);
        assertEquals("h3", p.host(), "least free memory; of the two, more domains");
        assertTrue(p.reason().contains("488 MiB free after"), p.reason());
    }

    @Test
    void thePoolSpreadsThenPacksAfterTheSwapThenSpreadsWhenThePolicyGoes() throws Exception {
        PoolHostFixture a = hosts.get(0);
        List<String> spread = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            spread.add(a.pool.create(PlacementTest.config("s" + i, 512, 1)).owner());
        }
        assertEquals(List.of("host-a", "host-b", "host-c"), spread, "balanced spreads");

        a.pool.choosePlacementPolicy(PackFirstPlacement.NAME);
        long t0 = System.nanoTime();
        List<String> packed = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            packed.add(a.pool.create(PlacementTest.config("p" + i, 512, 1)).owner());
        }
        long packMs = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(1, Set.copyOf(packed).size(), "pack-first keeps filling one host: " + packed);

        a.placements.remove(PackFirstPlacement.NAME, pack); // the pack bundle stopped on host-a
        assertEquals(PackFirstPlacement.NAME, a.pool.placementPolicy(), "the pool's choice stays");
        String host = a.pool.create(PlacementTest.config("after", 512, 1)).owner();
        assertTrue(!host.equals(packed.get(0)), "host-a decides with the default again and avoids the packed host " + packed.get(0));
        assertEquals(1 + 4, hosts.stream().filter(h -> h.name.equals(packed.get(0))).findFirst()
                .orElseThrow().hypervisor.list().size(), "the packed host runs its spread domain and the four packed ones");
        System.out.println("PackFirstSwapTest: balanced " + spread + ", after the swap pack-first " + packed + " (" + packMs
                + " ms for 4 creates), pack bundle gone on host-a: " + host);
    }
}
