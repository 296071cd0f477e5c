package org.xenj.hypervisor.internal.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.api.MigrationInfo;
import org.xenj.hypervisor.internal.builder.HvmGuestBuilder;
import org.xenj.hypervisor.internal.save.RecordStream;
import org.xenj.hypervisor.internal.save.RecordType;
import org.xenj.hypervisor.internal.testsupport.TestCores;

/**
 * Issue 15 §4's fault tests on the counter guest ({@link CounterDeviceModel}): a save and a
 * snapshot onto a disk that is really full (a 64 KiB tmpfs, filled), a restore and a migration
 * receive on a host without the memory for the guest, and the channel cut at each record type
 * the stream carries. Each time: a clear error naming the cause, nothing left behind (no partial
 * file, no domain, memory accounting as before), and the source domain exactly as it was —
 * running and counting, or paused if it was.
 */
class SaveMigrateFaultTest {

    private static final String SECRET = "fault-test-secret";

    @TempDir
    Path dir;
    private TestCores.Fixture src, dst;
    private final CounterDeviceModel counter = new CounterDeviceModel();
    private Path mounted;

    @BeforeEach
    void start() {
        src = TestCores.start(1);
        dst = TestCores.start(1);
        for (TestCores.Fixture f : List.of(src, dst)) {
            f.plugins().addBuilder(new HvmGuestBuilder());
            f.plugins().addDeviceModel(counter);
        }
    }

    @AfterEach
    void stop() throws Exception {
        src.close();
        dst.close();
        if (mounted != null) {
            run("umount", "-l", mounted.toString());
        }
    }

    private Domain counting(String name) throws Exception {
        Path elf = CounterDeviceModel.counterElf(dir, name);
        Domain d = src.core().create(DomainConfig.builder(name).type(DomainType.HVM).memoryMiB(16)
                .raw(Map.of("firmware_override", elf.toString(), "xen_platform_pci", "0")).build());
        assertTrue(TestCores.await(() -> counter.last(d.id()) > 1000, 10_000), "the guest counts");
        return d;
    }

    private void assertCountsOn(Domain d) {
        int before = counter.last(d.id());
        assertEquals(DomainState.RUNNING, d.state());
        assertTrue(TestCores.await(() -> counter.last(d.id()) > before + 1000, 10_000), "it counts on");
        assertEquals(null, counter.error.get(), "every value exactly once, in order");
    }

    private static int run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor(20, TimeUnit.SECONDS) ? p.exitValue() : -1;
    }

    /**
     * A real full file system: a 64 KiB tmpfs mounted here (needs root or CAP_SYS_ADMIN; skipped
     * with the reason otherwise), then filled by a file until the kernel answers ENOSPC.
     */
    private Path fullDisk() throws Exception {
        Path m = Files.createDirectory(dir.resolve("full"));
        int rc;
        try {
            rc = run("mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "xenj-full-test", m.toString());
        } catch (IOException e) {
            rc = -1;
        }
        assumeTrue(rc == 0, "a full disk needs a small tmpfs mounted by the test (root or CAP_SYS_ADMIN); mount answered " + rc
                + " (/dev/full cannot stand in: a save writes a temporary file beside its target and renames it)");
        mounted = m;
        try (OutputStream out = Files.newOutputStream(m.resolve("filler"))) {
            byte[] block = new byte[4096];
            for (int i = 0; i < 1024; i++) {
                out.write(block);
                out.flush();
            }
            throw new AssertionError("a 64 KiB tmpfs took 4 MiB");
        } catch (IOException e) {
            assertTrue(String.valueOf(e.getMessage()).contains("No space left"), "the filler filled it: " + e);
        }
        return m;
    }

    private static List<Path> files(Path d) throws IOException {
        try (Stream<Path> s = Files.walk(d)) {
            return s.filter(Files::isRegularFile).toList();
        }
    }

    @Test
    void aSaveOntoAFullDiskFailsNamingTheCauseAndTheDomainRunsOnAsBefore() throws Exception {
        Path full = fullDisk();
        Domain d = counting("full");
        long free = src.core().info().freeMemoryKiB();
        HypervisorException e = assertThrows(HypervisorException.class, () -> src.core().save(d.id(), full.resolve("full.save"), false));
        System.out.println("save onto a full disk: " + e.getMessage());
        assertTrue(e.getMessage().contains("No space left on device"), e.getMessage());
        assertTrue(e.getMessage().contains("it runs on"), e.getMessage());
        assertEquals(List.of(full.resolve("filler")), files(full), "no partial image left behind");
        assertEquals(free, src.core().info().freeMemoryKiB(), "the domain keeps its memory, nothing else taken");
        assertEquals("full", d.name());
        assertCountsOn(d);

        // a paused domain stays paused: the pause state is restored, not guessed
        src.core().pause(d.id());
        assertThrows(HypervisorException.class, () -> src.core().save(d.id(), full.resolve("full.save"), true));
        assertEquals(DomainState.PAUSED, d.state());
        assertEquals(List.of(full.resolve("filler")), files(full));
        src.core().unpause(d.id());
        assertCountsOn(d);

        // with room again the same save works: nothing was lost on the way
        Files.delete(full.resolve("filler"));
        Path elsewhere = dir.resolve("ok.save");
        src.core().save(d.id(), elsewhere, false);
        Domain r = src.core().restore(elsewhere, Map.of(), false);
        assertCountsOn(r);
    }

    @Test
    void aSnapshotOntoAFullDiskFailsAndTheTreeAndDomainStayAsTheyWere() throws Exception {
        Path full = fullDisk();
        Domain d = counting("snapfull");
        src.core().configureSnapshots(full.resolve("snaps").toString());
        HypervisorException e = assertThrows(HypervisorException.class, () -> src.core().snapshotCreate(d.id(), "s1"));
        System.out.println("snapshot onto a full disk: " + e.getMessage());
        assertTrue(e.getMessage().contains("No space left on device"), e.getMessage());
        assertEquals(List.of(), src.core().snapshots(d.id()), "no snapshot in the tree");
        assertEquals(List.of(full.resolve("filler")), files(full), "no partial image or index left behind");
        assertCountsOn(d);
    }

    /** Leaves less than 16 MiB free on {@code core}: a workload domain takes the rest. */
    private static Domain filler(HypervisorCore core) {
        long freeMiB = core.info().freeMemoryKiB() / 1024;
        return core.create(TestCores.workload("filler", "idle").memoryMiB((int) (freeMiB - 8)).build());
    }

    @Test
    void aRestoreWithoutTheMemoryIsRefusedBeforeAnythingIsCreated() throws Exception {
        Domain d = counting("big");
        Path image = dir.resolve("big.save");
        src.core().save(d.id(), image, false);
        assertTrue(TestCores.await(() -> src.core().lookup("big").isEmpty(), 5_000));
        Domain fill = filler(src.core());
        long free = src.core().info().freeMemoryKiB();
        int domains = src.core().list().size();
        HypervisorException e = assertThrows(HypervisorException.class, () -> src.core().restore(image, Map.of(), false));
        System.out.println("restore without the memory: " + e.getMessage());
        assertTrue(e.getMessage().contains("not enough free memory"), e.getMessage());
        assertTrue(e.getMessage().contains("nothing was created") && e.getMessage().contains("asked for 16384 KiB"), e.getMessage());
        assertEquals(domains, src.core().list().size(), "no domain left");
        assertTrue(src.core().lookup("big").isEmpty());
        assertEquals(free, src.core().info().freeMemoryKiB(), "memory accounting unchanged");
        // the image is intact: with the memory back it restores and counts on from where it stood
        src.core().destroy(fill.id());
        int atSave = counter.last.get();
        Domain r = src.core().restore(image, Map.of(), false);
        assertTrue(TestCores.await(() -> counter.last(r.id()) > atSave + 1000, 10_000), "counts on after the restore");
        assertEquals(null, counter.error.get());
    }

    @Test
    void aMigrationToAHostWithoutTheMemoryIsRefusedAndTheSourceRunsOn() throws Exception {
        int port = dst.core().configureMigration(SECRET, true, "127.0.0.1", 0);
        src.core().configureMigration(SECRET, false, null, 0);
        Domain d = counting("mover");
        Domain fill = filler(dst.core());
        long dstFree = dst.core().info().freeMemoryKiB();
        int dstDomains = dst.core().list().size();
        HypervisorException e = assertThrows(HypervisorException.class,
                () -> src.core().migrate(d.id(), "127.0.0.1", port, true, 20, 30));
        System.out.println("migration to a host without the memory: " + e.getMessage());
        assertTrue(e.getMessage().contains("not enough free memory"), e.getMessage());
        assertTrue(e.getMessage().contains("it runs on here"), e.getMessage());
        assertEquals("mover", d.name());
        assertFalse(src.core().domainOrNull(d.id()).memory.logsDirty(), "log-dirty is off again");
        assertCountsOn(d);
        assertEquals(dstDomains, dst.core().list().size(), "no domain left at the destination");
        assertEquals(dstFree, dst.core().info().freeMemoryKiB(), "its memory accounting unchanged");
        // the receiver keeps serving: with the memory free the same guest moves
        dst.core().destroy(fill.id());
        MigrationInfo info = src.core().migrate(d.id(), "127.0.0.1", port, true, 20, 30);
        assertTrue(info.remoteDomid() > 0);
        Domain moved = dst.core().lookup("mover").orElseThrow();
        assertTrue(TestCores.await(() -> counter.last(moved.id()) > 1000, 10_000), "it counts at the destination");
        assertEquals(null, counter.error.get());
    }

    @Test
    void cuttingTheChannelAtEachRecordTypeLeavesTheSourceRunning() throws Exception {
        src.core().configureMigration(SECRET, false, null, 0);
        Domain d = counting("cut");
        // one whole stream, recorded by a receiver that drops the connection after END
        List<RecordStream.Record> seen = new ArrayList<>();
        int rec = LiveMigrationTest.dyingReceiver(SECRET, r -> r.type() == RecordType.END.number(), seen);
        assertThrows(HypervisorException.class, () -> src.core().migrate(d.id(), "127.0.0.1", rec, true, 20, 30));
        assertCountsOn(d);
        Set<Integer> types = new LinkedHashSet<>();
        seen.forEach(r -> types.add(r.type()));
        assertTrue(types.size() >= 10, "the stream carries the record types: " + types);
        for (int type : types) {
            int port = LiveMigrationTest.dyingReceiver(SECRET, r -> r.type() == type, null);
            HypervisorException e = assertThrows(HypervisorException.class,
                    () -> src.core().migrate(d.id(), "127.0.0.1", port, true, 20, 30));
            assertTrue(e.getMessage().contains("it runs on here"), "cut at type " + type + ": " + e.getMessage());
            assertEquals("cut", d.name());
            assertFalse(src.core().domainOrNull(d.id()).memory.logsDirty(), "log-dirty off after a cut at type " + type);
            assertCountsOn(d);
        }
        System.out.println("channel cut at each of " + types.size() + " record types " + types + ": the source ran on each time");
    }

    @Test
    void aGuestMigratedThereAndBackArrivesUnderItsOwnNameAndSavesUnderIt() throws Exception {
        int dstPort = dst.core().configureMigration(SECRET, true, "127.0.0.1", 0);
        int srcPort = src.core().configureMigration(SECRET, true, "127.0.0.1", 0);
        Domain d = counting("trip");
        src.core().migrate(d.id(), "127.0.0.1", dstPort, true, 20, 30);
        Domain there = dst.core().lookup("trip").orElseThrow();
        assertTrue(TestCores.await(() -> counter.last(there.id()) > 1000, 10_000), "it counts there");
        // back: before, the stream carried the configuration of its arrival ("trip--incoming"), so it came back under that
        dst.core().migrate(there.id(), "127.0.0.1", srcPort, true, 20, 30);
        assertTrue(TestCores.await(() -> dst.core().lookup(there.id()).isEmpty(), 5_000));
        assertEquals(List.of("Domain-0", "trip"), src.core().list().stream().map(Domain::name).sorted().toList());
        Domain back = src.core().lookup("trip").orElseThrow();
        assertTrue(TestCores.await(() -> counter.last(back.id()) > 1000, 10_000), "it counts back here");
        Path image = dir.resolve("trip.save");
        src.core().save(back.id(), image, false);
        Domain r = src.core().restore(image, Map.of(), false);
        assertEquals("trip", r.name(), "a restore of its image");
        assertCountsOn(r);
    }
}
