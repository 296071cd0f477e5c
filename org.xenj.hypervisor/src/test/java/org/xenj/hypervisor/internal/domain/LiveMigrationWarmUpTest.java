package org.xenj.hypervisor.internal.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.MigrationInfo;
import org.xenj.hypervisor.internal.builder.HvmGuestBuilder;
import org.xenj.hypervisor.internal.testsupport.FlatElf;
import org.xenj.hypervisor.internal.testsupport.TestCores;
import org.xenj.hypervisor.spi.DeviceModel;
import org.xenj.hypervisor.spi.DeviceModelInstance;
import org.xenj.hypervisor.spi.HvmPlatform;
import org.xenj.hypervisor.spi.MigrationWarmUp;

/**
 * The migration's warm-ups: on the destination each vacant place's warmable device model is attached
 * once fresh and once from its record to the arriving domain's own platform (without disks or display)
 * and detached again before the real attach at the end; on the source the xenstore walk and the
 * record classes. Neither may fail a migration when it breaks: it is logged and the pause takes the
 * paths cold.
 */
class LiveMigrationWarmUpTest {

    private static final String SECRET = "migration-test-secret";

    @TempDir
    Path dir;
    private TestCores.Fixture src, dst;
    private int port;
    /** Both hosts' models report into it: the guest's count goes on across the migration. */
    private final CounterDeviceModel counter = new CounterDeviceModel();
    /** Attaches the destination's model saw on the warm-up's view of the platform, and real ones. */
    private final AtomicInteger warmAttaches = new AtomicInteger(), realAttaches = new AtomicInteger();
    private volatile boolean failWarm;

    @BeforeEach
    void start() {
        src = TestCores.start(1);
        dst = TestCores.start(1);
        for (TestCores.Fixture f : List.of(src, dst)) {
            f.plugins().addBuilder(new HvmGuestBuilder());
            f.plugins().addDeviceModel(new Counter(f == dst));
        }
        port = dst.core().configureMigration(SECRET, true, "127.0.0.1", 0);
        assertTrue(port > 0, "the receiver listens");
        src.core().configureMigration(SECRET, false, null, 0);
    }

    @AfterEach
    void stop() {
        src.close();
        dst.close();
    }

    /**
     * {@link CounterDeviceModel} made warmable, so the destination warms it on its platform; counts the
     * destination's attaches on the warm-up's view of the platform and on the real one.
     */
    private final class Counter implements DeviceModel, MigrationWarmUp {
        private final boolean destination;

        Counter(boolean destination) {
            this.destination = destination;
        }

        @Override
        public String name() {
            return "counter";
        }

        @Override
        public boolean supports(DomainConfig config) {
            return counter.supports(config);
        }

        @Override
        public void warmUp() {
        }

        @Override
        public DeviceModelInstance attach(HvmPlatform platform) {
            return attach(platform, new byte[4]);
        }

        @Override
        public DeviceModelInstance attach(HvmPlatform platform, byte[] state) {
            // the warm-up's view: the arriving domain's configuration without disks and display
            boolean warm = "none".equals(platform.config().raw().get("vga"));
            if (destination) {
                (warm ? warmAttaches : realAttaches).incrementAndGet();
            }
            if (warm && failWarm) {
                throw new IllegalStateException("test: the warm-up attach breaks");
            }
            // maps the real platform's ports: an attach left behind by the warm-up makes the real one fail there
            return counter.attach(platform, state);
        }
    }

    /** {@link LiveMigrationTest#COUNTING_CODE} in a 16 MiB domain, running. */
    private Domain counting(String name) throws Exception {
        Path elf = FlatElf.write(dir.resolve(name + ".elf"), LiveMigrationTest.COUNTING_CODE);
        Domain d = src.core().create(DomainConfig.builder(name).type(DomainType.HVM).memoryMiB(16)
                .raw(Map.of("firmware_override", elf.toString(), "xen_platform_pci", "0")).build());
        assertTrue(TestCores.await(() -> counter.last.get() > 20_000, 20_000), "the guest runs: " + counter.last.get());
        return d;
    }

    private void migrateAndCountOn(String name) throws Exception {
        Domain d = counting(name);
        // the warm-up runs while round 1 arrives and never after the restore began: hold the stop until it is done.
        // Round 1 (16 MiB, mostly zero pages) may still sit in the source's buffer when its pages are "sent"; it has
        // reached the destination by round 2, which comes because round 1 lasts until the guest dirtied its ring twice
        src.core().migration.roundSentHook = round -> {
            if (round == 1) {
                int from = counter.last.get();
                assertTrue(TestCores.await(() -> counter.last.get() > from + 512, 20_000), "the guest runs during round 1");
            } else if (round == 2) {
                assertTrue(TestCores.await(() -> dst.core().dmesg().stream().anyMatch(l -> l.contains("restore paths")), 20_000),
                        () -> "the destination's warm-up ended:\n" + String.join("\n", dst.core().dmesg()) + "\n" + warmThread());
            }
        };
        MigrationInfo info = src.core().migrate(d.id(), "localhost", port, true, 1, 30);
        int atMigration = counter.last.get();
        System.out.printf("migrate: downtime %.1f ms%n", info.downtimeNanos() / 1e6);
        Domain moved = dst.core().lookup(name).orElseThrow();
        assertTrue(TestCores.await(() -> counter.last.get() > atMigration + 20_000, 20_000), "counting goes on at the destination");
        assertEquals(DomainState.RUNNING, moved.state());
        assertEquals(null, counter.error.get(), "every value exactly once, in order, across the migration");
        assertEquals(1, realAttaches.get(), "the arrived domain's model attached once, from the migrated record");
    }

    private static String warmThread() {
        StringBuilder b = new StringBuilder();
        Thread.getAllStackTraces().forEach((t, st) -> {
            if (t.getName().contains("warm") || t.getName().contains("migrat")) {
                b.append(t.getName()).append('\n');
                for (StackTraceElement e : st) {
                    b.append("  ").append(e).append('\n');
                }
            }
        });
        return b.toString();
    }

    @Test
    void theDestinationWarmsItsModelOnTheArrivingPlatformAndTheSourceItsStop() throws Exception {
        migrateAndCountOn("warm");
        assertEquals(2, warmAttaches.get(), "warm-up attaches: fresh, then from its own record");
        assertTrue(dst.core().dmesg().stream().anyMatch(l -> l.contains("restore paths warmed") && l.contains("the receiver's dry run")),
                String.join("\n", dst.core().dmesg()));
        assertTrue(TestCores.await(() -> src.core().dmesg().stream().anyMatch(l -> l.contains("the source's stop paths warmed")), 5_000),
                "every record class loaded and the xenstore walked:\n" + String.join("\n", src.core().dmesg()));
    }

    @Test
    void warmUpsThatBreakAreLoggedAndTheMigrationGoesThrough() throws Exception {
        failWarm = true;
        src.core().migration.sourceWarmHook = () -> {
            throw new IllegalStateException("test: the source warm-up breaks");
        };
        migrateAndCountOn("broken");
        assertEquals(1, warmAttaches.get(), "the fresh warm attach was tried; no record, so no second one");
        assertTrue(dst.core().dmesg().stream().anyMatch(l -> l.contains("failed its warm-up attach")), String.join("\n", dst.core().dmesg()));
        assertTrue(TestCores.await(() -> src.core().dmesg().stream().anyMatch(l -> l.contains("warming the source's stop paths failed")), 5_000),
                String.join("\n", src.core().dmesg()));
    }

    /**
     * The source's dry run of its stop (the last pages from a bit set, STOP, END) reads the guest's
     * frames into a throwaway stream: it must change no byte of the guest and mark no page in the
     * dirty log (a mark would be sent again; a write would be the guest's memory changed by a
     * migration that has not stopped it).
     */
    @Test
    void theStopsDryRunChangesNeitherTheGuestNorTheDirtyLog() throws Exception {
        Domain d = counting("dry");
        src.core().pause(d.id());
        org.xenj.hypervisor.internal.mem.DomainMemory mem = src.core().domainOrNull(d.id()).memory;
        mem.startLogDirty();
        try {
            mem.takeDirty();
            byte[] before = LiveMigrationTest.md5(mem);
            LiveMigration.dryRunStop(mem);
            assertEquals(0, mem.takeDirty().cardinality(), "the dry run marked no page");
            org.junit.jupiter.api.Assertions.assertArrayEquals(before, LiveMigrationTest.md5(mem), "the guest's memory as before");
        } finally {
            mem.stopLogDirty();
        }
        int paused = counter.last.get();
        src.core().unpause(d.id());
        assertTrue(TestCores.await(() -> counter.last.get() > paused + 20_000, 20_000), "it counts on");
        assertEquals(null, counter.error.get(), "every value exactly once, in order");
    }

    @Test
    void aReceiverDryRunThatBreaksIsLoggedAndTheMigrationGoesThrough() throws Exception {
        dst.core().migration.receiveDryRunHook = () -> {
            throw new IllegalStateException("test: the receiver's dry run breaks");
        };
        migrateAndCountOn("dryfail");
        assertTrue(dst.core().dmesg().stream().anyMatch(l -> l.contains("warming the restore paths failed") && l.contains("dry run breaks")),
                String.join("\n", dst.core().dmesg()));
    }

    /**
     * The receiver's dry run reads a stream of a domain's own records into nothing: it must read
     * back (a stream it refused would leave the paths cold, and only a log line would say so), and
     * neither that domain's memory nor the domains change.
     */
    @Test
    void theReceiversDryRunReadsItsStreamAndTouchesNothing() throws Exception {
        Domain d = counting("dryrx");
        src.core().pause(d.id());
        DomainImpl di = src.core().domainOrNull(d.id());
        byte[] before = LiveMigrationTest.md5(di.memory);
        int domains = src.core().list().size();
        org.xenj.hypervisor.internal.save.MachineImage m = di.guest.saveMachine();
        org.xenj.hypervisor.internal.save.SaveHeader h = new org.xenj.hypervisor.internal.save.SaveHeader("test", "host", 4096, "HVM",
                1, 16, "dryrx", di.uuid, 0, di.clock.guestNanos(), di.clock.tscHz(), di.clock.wallclockAtEpochNanos(),
                di.memory.populatedFrames());
        LiveMigration.dryRunReceive(h, di.config, m, () -> false);
        int[] asked = {0};
        LiveMigration.dryRunReceive(h, di.config, m, () -> ++asked[0] > 1); // the source stopped: it ends after one
        assertEquals(2, asked[0], "it asks before each read and stops at once");
        org.junit.jupiter.api.Assertions.assertArrayEquals(before, LiveMigrationTest.md5(di.memory), "the domain's memory as before");
        assertEquals(domains, src.core().list().size(), "no domain made");
        int paused = counter.last.get();
        src.core().unpause(d.id());
        assertTrue(TestCores.await(() -> counter.last.get() > paused + 20_000, 20_000), "it counts on");
        assertEquals(null, counter.error.get(), "every value exactly once, in order");
    }

    @Test
    void theSourceRecordClassesAllExist() throws Exception {
        for (String c : LiveMigration.SOURCE_RECORD_CLASSES) {
            Class.forName(c, false, LiveMigration.class.getClassLoader());
        }
    }
}
