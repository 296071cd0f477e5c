package org.xenj.pool.internal.command;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.pool.api.Placement;
import org.xenj.pool.api.PlacementRequest;
import org.xenj.pool.api.Pool;
import org.xenj.pool.api.PoolDomain;
import org.xenj.pool.api.PoolException;
import org.xenj.pool.api.PoolHost;
import org.xenj.pool.api.PoolStatus;

/** The commands are thin: what they print from the service's answers, and what they pass on. */
class PoolCommandsTest {

    final List<String> calls = new ArrayList<>();

    final Pool pool = new Pool() {
        @Override public PoolStatus status() { return new PoolStatus("h1", "127.0.0.1:2181", true, "connected", true); }
        @Override public List<PoolHost> hosts() {
            return List.of(new PoolHost("h1", "10.0.0.1", 4, 2048 * 1024, "xenj-0.1", 0), new PoolHost("h2", "10.0.0.2", 8, 1024 * 1024, "xenj-0.1", 0));
        }
        @Override public void join() { calls.add("join"); }
        @Override public void leave() { throw new PoolException("cannot leave the pool: this host runs pool domains [web]; stop them first"); }
        @Override public List<PoolDomain> domains() {
            return List.of(new PoolDomain("web", Map.of(), List.of(), "h2", "running", 3), new PoolDomain("db", Map.of(), List.of(), "h3", "fenced", 1),
                    new PoolDomain("idle", Map.of(), List.of(), "", "stopped", 0));
        }
        @Override public List<String> recordErrors() { return List.of("/domains/x: empty record (expected xenj-pool-domain/1)"); }
        @Override public PoolDomain add(DomainConfig config) { throw new UnsupportedOperationException(); }
        @Override public PoolDomain start(String name) { calls.add("start " + name); return new PoolDomain(name, Map.of(), List.of(), "h1", "running", 4); }
        @Override public PoolDomain stop(String name) { calls.add("stop " + name); return null; }
        @Override public void remove(String name) { calls.add("remove " + name); }
        @Override public PoolDomain create(DomainConfig config) { throw new UnsupportedOperationException(); }
        @Override public PoolDomain startOn(String name, String host) { calls.add("start " + name + " on " + host); return new PoolDomain(name, Map.of(), List.of(), host, "running", 5); }
        @Override public String placementPolicy() { return chosen; }
        @Override public List<String> placementPolicies() { return List.of("balanced", "pack-first"); }
        @Override public void choosePlacementPolicy(String name) { calls.add("choose " + name); chosen = name; }
        @Override public PoolDomain migrate(String name, String host) { calls.add("migrate " + name + " " + host); return null; }
        @Override public List<String> evacuate(String host) { calls.add("evacuate " + host); return List.of("web: migrated to h2 (generation 4)"); }
        @Override public Placement place(PlacementRequest request) {
            return request.memoryKiB() > 4096 * 1024 ? Placement.refuse("no host fits") : Placement.on("h2", "balanced: 100 MiB free after");
        }
    };
    String chosen = "balanced";

    private String run(PoolCommand c) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        c.pool = pool;
        c.out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        c.execute();
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void poolListShowsHostsTheirDomainsAndOwnersThatAreGone() throws Exception {
        PoolListCommand c = new PoolListCommand();
        c.noFormat = true; // Karaf's table still pads columns; the test compares the cells
        assertEquals("h1\t10.0.0.1\tup (this host, connected)\t4\t2048\t0\txenj-0.1\n"
                + "h2\t10.0.0.2\tup\t8\t1024\t1\txenj-0.1\n"
                + "h3\t\tdown\t\t\t1\t\n"
                + "bad record /domains/x: empty record (expected xenj-pool-domain/1)\n", run(c).replaceAll(" *\t *", "\t"));
    }

    @Test
    void startStopRemoveJoinPassTheirArgumentOn() throws Exception {
        PoolStartCommand start = new PoolStartCommand();
        start.domain = "web";
        assertEquals("web runs on h1 (generation 4)\n", run(start));
        PoolStopCommand stop = new PoolStopCommand();
        stop.domain = "web";
        run(stop);
        PoolRemoveCommand remove = new PoolRemoveCommand();
        remove.domain = "web";
        run(remove);
        assertEquals("joined the pool as h1\n", run(new PoolJoinCommand()));
        assertEquals(List.of("start web", "stop web", "remove web", "join"), calls);
        PoolException e = assertThrows(PoolException.class, () -> run(new PoolLeaveCommand()));
        assertEquals("cannot leave the pool: this host runs pool domains [web]; stop them first", e.getMessage());
    }

    @Test
    void poolStartOnAndPlacementPassTheirArgumentsOn() throws Exception {
        PoolStartCommand start = new PoolStartCommand();
        start.domain = "web";
        start.on = "h2";
        assertEquals("web runs on h2 (generation 5)\n", run(start));
        PoolPlacementCommand show = new PoolPlacementCommand();
        assertEquals("placement policy: balanced\n * balanced\n   pack-first\n", run(show));
        PoolPlacementCommand choose = new PoolPlacementCommand();
        choose.policy = "pack-first";
        choose.memoryMiB = 512;
        assertEquals("placement policy: pack-first\n   balanced\n * pack-first\nwould go to h2 (balanced: 100 MiB free after)\n", run(choose));
        PoolPlacementCommand tooBig = new PoolPlacementCommand();
        tooBig.memoryMiB = 8192;
        assertTrue(run(tooBig).endsWith("refused: no host fits\n"));
        PoolEvacuateCommand evacuate = new PoolEvacuateCommand();
        evacuate.host = "h1";
        assertEquals("web: migrated to h2 (generation 4)\n", run(evacuate));
        assertEquals(List.of("start web on h2", "choose pack-first", "evacuate h1"), calls);
    }
}
