package org.xenj.pool.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.apache.curator.test.TestingServer;
import org.apache.zookeeper.data.Stat;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.ShutdownAction;
import org.xenj.hypervisor.api.ShutdownReason;
import org.xenj.pool.api.PoolDomain;
import org.xenj.pool.internal.record.DomainRecord;

/**
 * A held pool domain that ends by itself — its guest powers off, crashes, reboots, or someone
 * destroys it by hand — over a real ZooKeeper server and three hosts whose fake hypervisors tell
 * their listeners as the real one does (later, on their own thread). The record must say what
 * happened and the lease go (HA must not restart a guest that stopped on purpose), a reboot keeps
 * the lease, and the ends the pool causes itself (a migration's source destroy, a fencing pause)
 * change nothing. The domains are HA domains ({@code on_host_failure="restart"}), the case where a
 * wrong record costs most: a released lease left "running" would be restarted elsewhere.
 */
class GuestEndTest {

    /** How long the record may take to tell the truth (events, the executor, one transaction) on a loaded machine. */
    static final Duration RECORDED = Duration.ofSeconds(15);

    @TempDir
    Path dir;
    TestingServer server;
    final History history = new History();
    final List<PoolHostFixture> hosts = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        server = ZkServers.start(dir);
        hosts.addAll(PoolHostFixture.members(3, server.getPort(), history, HaTest.SWEEP_MS));
    }

    @AfterEach
    void stop() throws Exception {
        PoolHostFixture.closeAndCheck(hosts, server, history);
    }

    private PoolDomain find(String name) {
        return hosts.get(2).pool.domains().stream().filter(d -> d.name().equals(name)).findFirst().orElseThrow();
    }

    private Stat lease(String name) throws Exception {
        return hosts.get(2).client.checkExists().forPath(DomainRegistry.LEASES + "/" + name);
    }

    private void awaitRecord(String name, String owner, String state) throws InterruptedException {
        PoolHostFixture.await(name + " recorded " + state + (owner.isEmpty() ? "" : " on " + owner), RECORDED, () -> {
            PoolDomain d = find(name);
            return d.state().equals(state) && d.owner().equals(owner);
        });
    }

    /** No host created {@code name} after history event {@code after}. */
    private void assertNotRestarted(String name, long after) {
        for (PoolHostFixture h : hosts) {
            assertEquals(-1, history.firstSeq(h.name, name, History.Kind.CREATE, after),
                    name + " was started again on " + h.name + "; history " + history.events());
        }
    }

    @Test
    void aGuestThatPowersOffIsRecordedStoppedReleasedNotRestartedByHaAndStartsAgainAnywhere() throws Exception {
        PoolHostFixture a = hosts.get(0);
        PoolHostFixture b = hosts.get(1);
        a.pool.add(HaTest.config("quiet", "restart"));
        a.pool.start("quiet");
        assertEquals(1, find("quiet").generation());

        long t0 = System.nanoTime();
        a.hypervisor.guestShutdown("quiet", ShutdownReason.POWEROFF);
        long shutAt = history.firstSeq("host-a", "quiet", History.Kind.SHUTDOWN, -1);
        assertNull(a.hypervisor.state("quiet"), "on_poweroff=destroy");
        awaitRecord("quiet", "", DomainRecord.STOPPED);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertNull(lease("quiet"), "the lease is released");
        assertEquals(1, find("quiet").generation(), "the generation of the last owner stays");
        // its memory is free for the next placement at once, not at the next periodic rewrite (every 5 s)
        PoolHostFixture.await("host-a's membership record shows the memory free", Duration.ofSeconds(2), () -> b.pool.hosts().stream()
                .anyMatch(h -> h.name().equals("host-a") && h.freeMemoryKiB() == FakeHypervisor.TOTAL_KIB));

        // Past every HA delay (the leader looks every 100 ms; a member owner's grace is one session): nobody restarts it.
        Thread.sleep(PoolHostFixture.SESSION_MS + 2000);
        assertNotRestarted("quiet", shutAt);
        assertEquals(DomainRecord.STOPPED, find("quiet").state());

        PoolDomain again = b.pool.startOn("quiet", "host-b");
        assertEquals("host-b", again.owner());
        assertEquals(DomainRecord.RUNNING, again.state());
        assertEquals(2, again.generation());
        assertEquals(DomainState.RUNNING, b.hypervisor.state("quiet"));
        System.out.println("GuestEndTest: power-off recorded in " + ms + " ms");
    }

    @Test
    void aCrashIsRecordedCrashedAndAPlainDestroyStopped() throws Exception {
        PoolHostFixture a = hosts.get(0);
        PoolHostFixture b = hosts.get(1);
        a.pool.add(HaTest.config("fragile", "restart")); // on_crash=destroy, xl's default
        a.pool.start("fragile");

        a.hypervisor.guestShutdown("fragile", ShutdownReason.CRASH);
        long crashedAt = history.firstSeq("host-a", "fragile", History.Kind.SHUTDOWN, -1);
        awaitRecord("fragile", "", DomainRecord.CRASHED);
        assertNull(lease("fragile"));
        Thread.sleep(PoolHostFixture.SESSION_MS + 2000);
        assertNotRestarted("fragile", crashedAt);

        PoolDomain again = b.pool.startOn("fragile", "host-b"); // a crashed domain starts again like a stopped one
        assertEquals(2, again.generation());
        assertEquals(DomainRecord.RUNNING, again.state());

        b.hypervisor.destroyByHand("fragile"); // xen:destroy, not xen:pool-stop
        awaitRecord("fragile", "", DomainRecord.STOPPED);
        assertNull(lease("fragile"));
        b.pool.remove("fragile"); // stopped and unowned: removable
    }

    @Test
    void aRebootKeepsTheLeaseAndTheNewCopyIsTheOneTheRegistryFollows() throws Exception {
        PoolHostFixture a = hosts.get(0);
        a.pool.add(HaTest.config("phoenix", "restart")); // on_reboot=restart, xl's default
        a.pool.start("phoenix");
        int before = a.hypervisor.lookup("phoenix").orElseThrow().id();
        long session = a.client.getZookeeperClient().getZooKeeper().getSessionId();

        a.hypervisor.guestShutdown("phoenix", ShutdownReason.REBOOT);
        long rebootAt = history.firstSeq("host-a", "phoenix", History.Kind.SHUTDOWN, -1);
        PoolHostFixture.await("host-a follows the new copy of phoenix", RECORDED,
                () -> a.log.stream().anyMatch(l -> l.contains("phoenix rebooted here")));
        int after = a.hypervisor.lookup("phoenix").orElseThrow().id();
        assertNotEquals(before, after);
        Thread.sleep(1000);
        PoolDomain d = find("phoenix");
        assertEquals("host-a", d.owner());
        assertEquals(DomainRecord.RUNNING, d.state());
        assertEquals(1, d.generation(), "a reboot is no new lease");
        assertEquals(session, lease("phoenix").getEphemeralOwner());
        for (PoolHostFixture h : hosts.subList(1, 3)) {
            assertEquals(-1, history.firstSeq(h.name, "phoenix", History.Kind.CREATE, rebootAt));
        }

        // the lease covers the new copy: its power-off is recorded like any other
        a.hypervisor.guestShutdown("phoenix", ShutdownReason.POWEROFF);
        awaitRecord("phoenix", "", DomainRecord.STOPPED);
        assertNull(lease("phoenix"));
    }

    @Test
    void aRenameRestartRebootFollowsTheNewCopyAndTheOldOnesDestroyChangesNothing() throws Exception {
        PoolHostFixture a = hosts.get(0);
        a.pool.add(HaTest.config("twin", "restart").toBuilder().onReboot(ShutdownAction.RENAME_RESTART).build());
        a.pool.start("twin");
        int before = a.hypervisor.lookup("twin").orElseThrow().id();

        a.hypervisor.guestShutdown("twin", ShutdownReason.REBOOT);
        PoolHostFixture.await("host-a follows the new copy of twin", RECORDED,
                () -> a.log.stream().anyMatch(l -> l.contains("twin rebooted here")));
        assertTrue(a.hypervisor.lookup("twin-" + before).isPresent(), "the old copy stays, renamed");
        a.hypervisor.destroyByHand("twin-" + before); // its leftover, cleaned up by hand
        Thread.sleep(1000);
        PoolDomain d = find("twin");
        assertEquals("host-a", d.owner());
        assertEquals(DomainRecord.RUNNING, d.state());
        assertEquals(1, d.generation());

        a.hypervisor.guestShutdown("twin", ShutdownReason.POWEROFF);
        awaitRecord("twin", "", DomainRecord.STOPPED);
    }

    @Test
    void aMigrationsSourceDestroyChangesNothingAndTheDestinationRecordsTheLaterPowerOff() throws Exception {
        PoolHostFixture a = hosts.get(0);
        PoolHostFixture b = hosts.get(1);
        a.pool.add(HaTest.config("nomad", "restart"));
        a.pool.start("nomad");
        a.pool.migrate("nomad", "host-b");
        assertNull(a.hypervisor.state("nomad"), "the source's copy is destroyed");
        long session = b.client.getZookeeperClient().getZooKeeper().getSessionId();
        // the source's destroyed event has been handled long before: the record is the destination's
        Thread.sleep(2000);
        PoolDomain d = find("nomad");
        assertEquals("host-b", d.owner());
        assertEquals(DomainRecord.RUNNING, d.state());
        assertEquals(2, d.generation());
        assertEquals(session, lease("nomad").getEphemeralOwner());
        assertTrue(a.log.stream().noneMatch(l -> l.contains("nomad") && (l.contains("lease released") || l.contains("stale"))), a.log.toString());

        b.hypervisor.guestShutdown("nomad", ShutdownReason.POWEROFF);
        awaitRecord("nomad", "", DomainRecord.STOPPED);
        assertEquals(2, find("nomad").generation());
    }

    @Test
    void theFencingPauseChangesNothingAndAPowerOffAfterItIsRecorded() throws Exception {
        PoolHostFixture a = hosts.get(0);
        a.pool.add(HaTest.config("steady", "none"));
        a.pool.start("steady");
        long mark = history.events().size();
        a.link.cut();
        PoolHostFixture.await("host-a fences steady", Duration.ofSeconds(20),
                () -> history.firstSeq("host-a", "steady", History.Kind.PAUSE, mark - 1) >= 0);
        a.link.heal();
        // back: the same session resumes it, or (if it expired meanwhile) nobody took it and host-a takes it again
        PoolHostFixture.await("host-a runs steady again", Duration.ofSeconds(30),
                () -> a.hypervisor.state("steady") == DomainState.RUNNING);
        PoolHostFixture.await("the record says host-a runs steady", RECORDED,
                () -> find("steady").owner().equals("host-a") && find("steady").state().equals(DomainRecord.RUNNING));
        assertTrue(a.log.stream().noneMatch(l -> l.contains("lease released")), a.log.toString());

        a.hypervisor.guestShutdown("steady", ShutdownReason.POWEROFF);
        awaitRecord("steady", "", DomainRecord.STOPPED);
    }

    @Test
    void aStaleOwnersRecordOfItsCopysEndIsRefused() throws Exception {
        // host-a is cut off and host-c takes the domain; host-a's paused copy then ends: its write must not stop c's domain
        PoolHostFixture a = hosts.get(0);
        PoolHostFixture c = hosts.get(2);
        a.pool.add(HaTest.config("contested", "none"));
        a.pool.start("contested");
        a.link.cut();
        PoolHostFixture.await("host-c takes contested", Duration.ofSeconds(40), () -> {
            try {
                c.pool.start("contested");
                return true;
            } catch (org.xenj.pool.api.PoolException e) {
                return false;
            }
        });
        assertEquals(DomainState.PAUSED, a.hypervisor.state("contested"));
        a.hypervisor.guestShutdown("contested", ShutdownReason.POWEROFF);
        a.link.heal();
        PoolHostFixture.await("host-a back", Duration.ofSeconds(30), () -> a.pool.status().state().equals("connected"));
        Thread.sleep(3000); // its retries and its revalidation have run
        PoolDomain d = find("contested");
        assertEquals("host-c", d.owner());
        assertEquals(DomainRecord.RUNNING, d.state());
        assertEquals(2, d.generation());
        assertEquals(c.client.getZookeeperClient().getZooKeeper().getSessionId(), lease("contested").getEphemeralOwner());
        assertEquals(DomainState.RUNNING, c.hypervisor.state("contested"));
        assertTrue(a.log.stream().anyMatch(l -> l.contains("contested") && (l.contains("stale") || l.contains("lease on contested lost"))),
                a.log.toString());

        // the real owner's end, by contrast, is recorded
        c.hypervisor.guestShutdown("contested", ShutdownReason.POWEROFF);
        awaitRecord("contested", "", DomainRecord.STOPPED);
    }
}
