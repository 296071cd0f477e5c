package org.xenj.hypervisor.internal.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.internal.builder.HvmGuestBuilder;
import org.xenj.hypervisor.internal.save.MigrationStream;
import org.xenj.hypervisor.internal.save.RecordStream;
import org.xenj.hypervisor.internal.save.RecordType;
import org.xenj.hypervisor.internal.testsupport.FlatElf;
import org.xenj.hypervisor.internal.testsupport.TestCores;
import org.xenj.hypervisor.spi.backend.Backend;
import org.xenj.hypervisor.spi.backend.BackendContext;
import org.xenj.hypervisor.spi.backend.BackendInstance;

/**
 * The migration receiver against hostile PVHVM streams. A real PVHVM migration stream
 * ({@link PvhvmSuspendTest}'s guest with a Dom0 backend, pre-copied while it counts, suspended
 * through Xen's protocol at the stop: pages, ROUND_END, STOP, VCPU, PLATFORM, PCI_HEADERS,
 * DEVICE_MODEL, EVENT_CHANNELS, GRANT_TABLE, XENSTORE, PVHVM_SUSPEND, END; no BACKEND record, as the
 * destination's backends start afresh) is recorded
 * once by a receiver that drops the connection after END, so the source cancels the suspend and
 * runs on. The destination's receiver is then fed damaged copies: each must be refused with a
 * message that says what is wrong, or — when the damage is harmless — arrive as a domain whose
 * suspend hypercall returns 0 and that counts on; never anything thrown that the receiver did not
 * mean, never a domain or a frame left behind.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PvhvmMigrationFuzzTest {

    private static final String SECRET = "pvhvm-fuzz-secret";
    private static final int COUNTER = 0x2000, RESULT = 0x2108, RETURNS = 0x210c;
    /** The record types a PVHVM migration stream carries, in stream order. */
    private static final Map<Integer, String> TYPES = new LinkedHashMap<>();

    static {
        for (RecordType t : List.of(RecordType.HEADER, RecordType.DOMAIN_CONFIG, RecordType.PAGE_BATCH, RecordType.ZERO_PAGES)) {
            TYPES.put(t.number(), t.name());
        }
        TYPES.put(MigrationStream.ROUND_END, "ROUND_END");
        TYPES.put(MigrationStream.STOP, "STOP");
        for (RecordType t : List.of(RecordType.VCPU, RecordType.PLATFORM, RecordType.PCI_HEADERS, RecordType.DEVICE_MODEL,
                RecordType.EVENT_CHANNELS, RecordType.GRANT_TABLE, RecordType.XENSTORE, RecordType.PVHVM_SUSPEND,
                RecordType.END)) {
            TYPES.put(t.number(), t.name());
        }
    }

    @TempDir
    static Path dir;
    private TestCores.Fixture src, dst;
    private Domain source;
    private final AtomicBoolean stopAcker = new AtomicBoolean();
    /** The good stream as recorded, HEADER to END. */
    private final List<RecordStream.Record> good = new ArrayList<>();
    private long dstFree;
    /** Uncaught exceptions in any thread while the tests run. */
    private final List<String> uncaught = new CopyOnWriteArrayList<>();
    private Thread.UncaughtExceptionHandler previousHandler;

    /** A Dom0 backend of a kind the guest asks for: the source's is released at the stop, the destination's attaches afresh. */
    static final class RingBackend implements Backend {
        @Override
        public BackendInstance attach(BackendContext context) {
            return instance();
        }

        @Override
        public BackendInstance attach(BackendContext context, byte[] state) {
            return instance();
        }

        private static BackendInstance instance() {
            return new BackendInstance() {
                @Override
                public void detach() {
                }

                @Override
                public byte[] saveState() {
                    return "ring".getBytes(StandardCharsets.US_ASCII);
                }
            };
        }
    }

    @BeforeAll
    void recordAGoodStream() throws Exception {
        previousHandler = Thread.getDefaultUncaughtExceptionHandler();
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> uncaught.add(t.getName() + ": " + e));
        src = TestCores.start(1);
        dst = TestCores.start(1);
        for (TestCores.Fixture f : List.of(src, dst)) {
            f.plugins().addBuilder(new HvmGuestBuilder());
            f.plugins().addDeviceModel(new PvhvmSuspendTest.NullModel());
            f.plugins().addBackend(new RingBackend(), "fakedisk");
            f.core().suspend.suspendMillis = 10_000;
        }
        src.core().configureMigration(SECRET, false, null, 0);
        Path elf = FlatElf.write(dir.resolve("pvhvm.elf"), PvhvmSuspendTest.guestCode());
        source = src.core().create(DomainConfig.builder("pvhvm").type(DomainType.HVM).memoryMiB(16)
                .raw(Map.of("firmware_override", elf.toString(), "xen_platform_pci", "1", "backends", "[ 'fakedisk' ]", "jit", "0"))
                .build());
        assertTrue(TestCores.await(() -> read(src, source.id(), COUNTER) > 1000 && read(src, source.id(), RESULT) == 0xdead, 10_000),
                "the guest counts");
        PvhvmSuspendTest.acker(src.core(), source.id(), stopAcker);
        List<RecordStream.Record> kept = new CopyOnWriteArrayList<>();
        int port = LiveMigrationTest.dyingReceiver(SECRET, r -> r.type() == RecordType.END.number(), kept);
        HypervisorException e = assertThrows(HypervisorException.class, () -> src.core().migrate(source.id(), "127.0.0.1", port, true, 20, 30));
        assertTrue(e.getMessage().contains("runs on here"), e.getMessage());
        good.addAll(kept);
        List<Integer> types = good.stream().map(RecordStream.Record::type).distinct().toList();
        assertTrue(types.containsAll(TYPES.keySet()), "the recorded stream carries every PVHVM record type: " + types);
        assertEquals(RecordType.END.number(), good.get(good.size() - 1).type());
        dstFree = dst.core().info().freeMemoryKiB();
    }

    @AfterAll
    void stop() {
        stopAcker.set(true);
        src.close();
        dst.close();
        Thread.setDefaultUncaughtExceptionHandler(previousHandler);
    }

    private static int read(TestCores.Fixture f, int domid, int gpa) {
        DomainImpl d = f.core().domainOrNull(domid);
        return d == null ? -1 : d.memory.read32(gpa);
    }

    /** The outcome of one stream fed to the destination. */
    private record Outcome(boolean accepted, String message, String internal) {
    }

    /**
     * Feeds {@code bytes} to the destination's receiver as one incoming connection after the handshake (whose AUTH record
     * the END record counts: read here as the listener's handshake reads it); classifies what came back.
     */
    private Outcome feed(byte[] bytes) {
        try {
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            all.write(LiveMigrationTest.frame(List.of(rec(MigrationStream.AUTH, new byte[64]))));
            all.write(bytes);
            RecordStream.Reader in = new RecordStream.Reader(new ByteArrayInputStream(all.toByteArray()));
            in.next();
            dst.core().migration.receive(in, new MigrationStream.Out(new ByteArrayOutputStream()), 0);
            return new Outcome(true, null, null);
        } catch (IOException e) {
            String internal = unexpected(e);
            String m = e.getMessage();
            if (internal == null && (m == null || m.isBlank() || m.contains("java.") || m.contains("Exception"))) {
                internal = "unclear message: " + e;
            }
            return new Outcome(false, m, internal);
        } catch (Throwable t) {
            return new Outcome(false, String.valueOf(t.getMessage()), "threw " + t);
        }
    }

    /**
     * What in a refusal's causes the receiver did not mean to throw: an Error, or a RuntimeException
     * other than a HypervisorException or an IllegalArgumentException raised by xenj's own checks.
     */
    private static String unexpected(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            boolean ownCheck = c instanceof IllegalArgumentException && c.getStackTrace().length > 0
                    && c.getStackTrace()[0].getClassName().startsWith("org.xenj.");
            if (c instanceof Error || c instanceof RuntimeException && !(c instanceof HypervisorException) && !ownCheck) {
                StringBuilder b = new StringBuilder(c.toString());
                Arrays.stream(c.getStackTrace()).limit(6).forEach(f -> b.append("\n    at ").append(f));
                return b.toString();
            }
        }
        return null;
    }

    /** After a refusal: no domain and no frame left on the destination. */
    private void assertNothingLeft(String what) {
        assertTrue(TestCores.await(() -> dst.core().list().size() == 1, 5_000), what + ": a domain was left: " + dst.core().list());
        assertEquals(dstFree, dst.core().info().freeMemoryKiB(), what + ": memory left taken");
    }

    /** The domain an accepted stream brought: its suspend hypercall returned 0 once there and it counts on. */
    private boolean works(Domain d) {
        return TestCores.await(() -> read(dst, d.id(), RETURNS) == 1 && read(dst, d.id(), RESULT) == 0, 3_000)
                && TestCores.await(() -> read(dst, d.id(), COUNTER) > 0, 100) && counts(d);
    }

    private boolean counts(Domain d) {
        int c = read(dst, d.id(), COUNTER);
        return TestCores.await(() -> read(dst, d.id(), COUNTER) > c + 100, 3_000);
    }

    /** The one domain besides Domain 0 on the destination, destroyed after the check. */
    private Domain arrived() {
        return dst.core().list().stream().filter(x -> x.id() != 0).findFirst().orElse(null);
    }

    private static RecordStream.Record rec(int type, byte[] payload) {
        return new RecordStream.Record(type, payload, 0);
    }

    private static final RecordStream.Record GO = rec(MigrationStream.GO, new byte[0]);

    /** The records framed, with the source's GO after them (what a source that got "held paused" sends). */
    private static byte[] withGo(List<RecordStream.Record> records) throws IOException {
        List<RecordStream.Record> l = new ArrayList<>(records);
        l.add(GO);
        return LiveMigrationTest.frame(l);
    }

    private int first(int type) {
        for (int i = 0; i < good.size(); i++) {
            if (good.get(i).type() == type) {
                return i;
            }
        }
        throw new AssertionError("no record of type " + type);
    }

    /** Byte offset of each record in the framed good stream, and the stream's length last. */
    private long[] offsets() {
        long[] at = new long[good.size() + 1];
        for (int i = 0; i < good.size(); i++) {
            at[i + 1] = at[i] + 12 + good.get(i).payload().length;
        }
        return at;
    }

    @Test
    void theRecordedStreamArrivesAsAWorkingDomainAndTheSourceRunsOn() throws Exception {
        Outcome o = feed(withGo(good));
        assertTrue(o.accepted(), "the good stream is refused: " + o.message() + "\n" + String.join("\n", dst.core().dmesg()));
        Domain d = arrived();
        assertNotNull(d, "a domain arrived");
        assertEquals("pvhvm", d.name());
        assertTrue(works(d), "its suspend hypercall returns 0 and it counts on: returns " + read(dst, d.id(), RETURNS) + " result "
                + read(dst, d.id(), RESULT));
        dst.core().destroy(d.id());
        assertNothingLeft("after the good stream");
        // the source cancelled its suspend (the recorder never answered) and runs on
        assertEquals(1, read(src, source.id(), RETURNS));
        assertEquals(1, read(src, source.id(), RESULT), "SCHEDOP_shutdown returned 1 at the source: cancelled");
        int c = read(src, source.id(), COUNTER);
        assertTrue(TestCores.await(() -> read(src, source.id(), COUNTER) > c + 100, 5_000), "the source counts on");
    }
}
