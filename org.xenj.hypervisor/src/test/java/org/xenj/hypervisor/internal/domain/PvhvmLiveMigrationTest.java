package org.xenj.hypervisor.internal.domain;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

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
import org.xenj.hypervisor.internal.mem.MachineMemory;
import org.xenj.hypervisor.internal.testsupport.FlatElf;
import org.xenj.hypervisor.internal.testsupport.TestCores;
import org.xenj.hypervisor.spi.backend.Backend;
import org.xenj.hypervisor.spi.backend.BackendContext;
import org.xenj.hypervisor.spi.backend.BackendInstance;

/**
 * Live migration of a PVHVM guest between two cores in one JVM: {@link PvhvmSuspendTest}'s guest
 * (IA-32 CPU playing a PVHVM kernel: hypercall page, a counter, SCHEDOP_shutdown(SHUTDOWN_suspend)
 * when the test — playing manage.c — takes the {@code control/shutdown} request) is pre-copied
 * while it counts, suspends itself at the stop, and its suspend hypercall returns 0 at the
 * destination, where it counts on. A Dom0 backend of a kind the domain asks for records when it is
 * attached, saved and detached: the source's is released (state taken, detached) before the
 * destination holds the domain, as one image may have one writer. A destination that refuses at
 * the end cancels the suspend: the hypercall returns 1 in the same domain, the backend attaches
 * again from its record, and the guest counts on.
 */
class PvhvmLiveMigrationTest {

    private static final String SECRET = "pvhvm-migration-secret";
    private static final int COUNTER = 0x2000, RESULT = 0x2108, RETURNS = 0x210c;

    @TempDir
    Path dir;
    private TestCores.Fixture src, dst;
    private int port;
    /** What the backends did: "core:event:domid". */
    private final List<String> events = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() {
        src = TestCores.start(1);
        dst = TestCores.start(1);
        for (TestCores.Fixture f : List.of(src, dst)) {
            f.plugins().addBuilder(new HvmGuestBuilder());
            f.plugins().addDeviceModel(new PvhvmSuspendTest.NullModel());
            f.plugins().addBackend(new Recording(f == src ? "src" : "dst"), "fakedisk");
            f.core().suspend.suspendMillis = 10_000;
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

    /** A Dom0 backend that records what the core does with it. */
    private final class Recording implements Backend {
        private final String where;

        Recording(String where) {
            this.where = where;
        }

        @Override
        public BackendInstance attach(BackendContext context) {
            return instance(context.frontendDomid(), "attach");
        }

        @Override
        public BackendInstance attach(BackendContext context, byte[] state) {
            return instance(context.frontendDomid(), "attach-with-" + new String(state, StandardCharsets.US_ASCII));
        }

        private BackendInstance instance(int domid, String how) {
            events.add(where + ":" + how + ":" + domid);
            return new BackendInstance() {
                @Override
                public void detach() {
                    events.add(where + ":detach:" + domid);
                }

                @Override
                public byte[] saveState() {
                    events.add(where + ":save:" + domid);
                    return "ring".getBytes(StandardCharsets.US_ASCII);
                }
            };
        }
    }

    private Domain guest(String name) throws Exception {
        Path elf = FlatElf.write(dir.resolve(name + ".elf"), PvhvmSuspendTest.guestCode());
        Domain d = src.core().create(DomainConfig.builder(name).type(DomainType.HVM).memoryMiB(16)
                .raw(Map.of("firmware_override", elf.toString(), "xen_platform_pci", "1", "backends", "[ 'fakedisk' ]",
                        "jit", "0")).build()); // interpreted: the test writes the guest's request word (see PvhvmSuspendTest)
        assertTrue(TestCores.await(() -> read(src, d.id(), COUNTER) > 1000, 10_000), "the guest counts");
        assertTrue(TestCores.await(() -> read(src, d.id(), RESULT) == 0xdead, 10_000), "the guest set its result word");
        assertTrue(TestCores.await(() -> events.contains("src:attach:" + d.id()), 10_000), "its backend attached: " + events);
        return d;
    }

    private static int read(TestCores.Fixture f, int domid, int gpa) {
        DomainImpl d = f.core().domainOrNull(domid);
        return d == null ? -1 : d.memory.read32(gpa);
    }

    /** Plays manage.c on the source (see PvhvmSuspendTest). */
    private Thread acker(int domid, AtomicBoolean stop) {
        return PvhvmSuspendTest.acker(src.core(), domid, stop);
    }

    private static byte[] page(DomainImpl d, long gfn) {
        int mfn = d.memory.mfn(gfn);
        byte[] out = new byte[MachineMemory.PAGE_SIZE];
        System.arraycopy(d.memory.machine().chunk(mfn), MachineMemory.offset(mfn), out, 0, out.length);
        return out;
    }

    @Test
    void aPvhvmGuestIsPreCopiedSuspendsAtTheStopAndItsHypercallReturnsZeroAtTheDestination() throws Exception {
        Domain d = guest("pvhvm");
        DomainImpl source = src.core().domainOrNull(d.id());
        BitSet xen = source.guest.xenFrameGfns();
        assertFalse(xen.isEmpty(), "the guest has Xen frames in its physmap (the rings at least)");
        AtomicBoolean stop = new AtomicBoolean();
        acker(d.id(), stop);
        List<MigrationInfo.Progress> progress = new CopyOnWriteArrayList<>();
        AtomicReference<String> atArrival = new AtomicReference<>();
        List<Long> differing = new ArrayList<>();
        dst.core().migration.arrivedHook = arrived -> {
            atArrival.set(String.join(",", events));
            // every page but Xen's is the source's, byte for byte (the source is paused and suspended)
            for (long g = 0; g < source.memory.gfnLimit(); g++) {
                if (!xen.get((int) g) && source.memory.mfn(g) >= 0 && arrived.memory.mfn(g) >= 0
                        && !java.util.Arrays.equals(page(source, g), page(arrived, g))) {
                    differing.add(g);
                }
            }
        };
        MigrationInfo info;
        try {
            info = src.core().migrate(d.id(), "127.0.0.1", port, true, 20, 30, progress::add);
        } catch (HypervisorException e) {
            throw new AssertionError(e.getMessage() + "\nsource log:\n" + String.join("\n", src.core().dmesg()) + "\ndestination log:\n"
                    + String.join("\n", dst.core().dmesg()), e);
        } finally {
            stop.set(true);
        }
        assertTrue(differing.isEmpty(), "pages differing at arrival: " + differing);
        String srcLog = String.join("\n", src.core().dmesg());
        assertTrue(srcLog.contains("suspended itself through Xen's protocol"), srcLog);
        assertTrue(srcLog.contains("PVHVM suspend"), srcLog);
        // the source's backend gave its state and let go before the destination held the domain
        String arrival = atArrival.get();
        assertTrue(arrival != null && arrival.contains("src:save:" + d.id()) && arrival.contains("src:detach:" + d.id()), arrival);
        assertTrue(arrival.indexOf("src:save:" + d.id()) < arrival.indexOf("src:detach:" + d.id()), arrival);
        List<String> phases = progress.stream().map(MigrationInfo.Progress::phase).distinct().toList();
        assertEquals(List.of("round", "suspending", "suspended", "stopped", "done"), phases, "progress: " + progress);
        MigrationInfo.Progress round1 = progress.get(0);
        assertTrue(round1.round() == 1 && round1.pagesSent() >= 4096 - xen.cardinality() - 64 && round1.mbPerSecond() > 0, "round 1: " + round1);
        assertTrue(info.rounds().size() >= 1 && info.downtimeNanos() > 0, "info: " + info);
        assertTrue(TestCores.await(() -> src.core().lookup(d.id()).isEmpty(), 15_000), "the source is destroyed");
        Domain moved = dst.core().lookup("pvhvm").orElseThrow(() -> new AssertionError("no pvhvm at the destination"));
        assertTrue(TestCores.await(() -> read(dst, moved.id(), RETURNS) == 1, 15_000), "the suspend hypercall returned once there");
        assertEquals(0, read(dst, moved.id(), RESULT), "SCHEDOP_shutdown(SHUTDOWN_suspend) returns 0 in the new domain");
        int c = read(dst, moved.id(), COUNTER);
        assertTrue(TestCores.await(() -> read(dst, moved.id(), COUNTER) > c + 1000, 15_000), "it counts on at the destination");
        assertTrue(events.contains("dst:attach:" + moved.id()), "the destination's backend serves it: " + events);
        assertFalse(events.stream().anyMatch(e -> e.startsWith("dst:attach-with")), "the destination's backend starts afresh: " + events);
        assertTrue(dst.core().domainOrNull(moved.id()).guest.usesXenAbi());
    }

    @Test
    void aDestinationThatRefusesCancelsTheSuspendTheBackendComesBackAndTheGuestGoesOnHere() throws Exception {
        Domain d = guest("pvhvm");
        AtomicBoolean stop = new AtomicBoolean();
        acker(d.id(), stop);
        dst.core().migration.arrivedHook = arrived -> {
            throw new IllegalStateException("refused by the test");
        };
        try {
            HypervisorException e = assertThrows(HypervisorException.class, () -> src.core().migrate(d.id(), "127.0.0.1", port, true, 20, 30));
            assertTrue(e.getMessage().contains("refused by the test") && e.getMessage().contains("runs on here"), e.getMessage());
        } finally {
            stop.set(true);
        }
        assertTrue(TestCores.await(() -> read(src, d.id(), RETURNS) == 1, 15_000), "the suspend hypercall returned once");
        assertEquals(1, read(src, d.id(), RESULT), "SCHEDOP_shutdown(SHUTDOWN_suspend) returns 1: cancelled, same domain");
        int c = read(src, d.id(), COUNTER);
        assertTrue(TestCores.await(() -> read(src, d.id(), COUNTER) > c + 1000, 15_000), "it counts on here");
        assertTrue(d.state() == DomainState.RUNNING || d.state() == DomainState.BLOCKED, "state " + d.state());
        assertEquals("pvhvm", src.core().domainOrNull(d.id()).name, "its name back");
        assertTrue(TestCores.await(() -> events.contains("src:attach-with-ring:" + d.id()), 10_000),
                "the backend attached again from its record: " + events);
        assertFalse(src.core().domainOrNull(d.id()).memory.logsDirty());
        assertTrue(TestCores.await(() -> dst.core().list().size() == 1, 10_000), "nothing left at the destination");
    }

    @Test
    void aPausedPvhvmGuestIsRefusedBeforeAnythingIsSent() throws Exception {
        Domain d = guest("pvhvm");
        src.core().pause(d.id());
        HypervisorException e = assertThrows(HypervisorException.class, () -> src.core().migrate(d.id(), "127.0.0.1", port, true, 20, 30));
        assertTrue(e.getMessage().contains("it is paused: a PVHVM guest suspends itself"), e.getMessage());
        assertEquals(DomainState.PAUSED, d.state());
        assertEquals(1, dst.core().list().size(), "nothing created at the destination");
        assertArrayEquals(new String[] {"src:attach:" + d.id()}, events.toArray(new String[0]), "the backend untouched");
    }
}
