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
    /** Where the receiver's answers go (one for all: it holds a 2 MiB page buffer). */
    private final MigrationStream.Out answers = new MigrationStream.Out(java.io.OutputStream.nullOutputStream());
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
        source = src.core().create(DomainConfig.builder("pvhvm").type(DomainType.HVM).memoryMiB(4)
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
            dst.core().migration.receive(in, answers, 0);
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
     * What in a refusal's causes the receiver did not mean to throw: an Error, or a RuntimeException other than a
     * HypervisorException or an IllegalArgumentException that xenj raised itself or caught and wrapped with its reason
     * (a SaveFormatException or HypervisorException around it) — never a NullPointerException, an index out of bounds …
     */
    static String unexpected(Throwable e) {
        Throwable wrapper = null;
        for (Throwable c = e; c != null; wrapper = c, c = c.getCause()) {
            boolean ownCheck = c instanceof IllegalArgumentException && (c.getStackTrace().length > 0
                    && c.getStackTrace()[0].getClassName().startsWith("org.xenj.")
                    || wrapper instanceof org.xenj.hypervisor.internal.save.SaveFormatException || wrapper instanceof HypervisorException);
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

    private static RecordStream.Record withPayload(RecordStream.Record r, byte[] payload) {
        return rec(r.type(), payload);
    }

    /** The good records with record {@code i} replaced. */
    private List<RecordStream.Record> replaced(int i, RecordStream.Record r) {
        List<RecordStream.Record> l = new ArrayList<>(good);
        l.set(i, r);
        return l;
    }

    /** How a record type is named in the refusals: by its name, the first two as the parsers say it. */
    private static boolean names(String message, String type) {
        return switch (type) {
            case "HEADER" -> message.contains("HEADER") || message.contains("header record");
            case "DOMAIN_CONFIG" -> message.contains("DOMAIN_CONFIG") || message.contains("domain configuration record");
            default -> message.contains(type);
        };
    }

    /**
     * For each record type of the stream, its first record damaged four ways — a bit flipped behind the checksum, one
     * byte short, one trailing byte, its first word all ones (a count of 2^32-1, a string or blob length of -1, a
     * magic or index gone) — the last three with the checksum made right again, so the record's own parser sees them:
     * each refused with a message naming that record type, nothing left on the destination.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"HEADER", "DOMAIN_CONFIG", "PAGE_BATCH", "ZERO_PAGES", "ROUND_END", "STOP", "VCPU", "PLATFORM", "PCI_HEADERS",
        "DEVICE_MODEL", "EVENT_CHANNELS", "GRANT_TABLE", "XENSTORE", "PVHVM_SUSPEND", "END"})
    void eachDamagedRecordIsRefusedByName(String type) throws Exception {
        int t = TYPES.entrySet().stream().filter(e -> e.getValue().equals(type)).findFirst().orElseThrow().getKey();
        int i = first(t);
        byte[] p = good.get(i).payload();
        assertTrue(p.length >= 4, type + " has a payload");
        Map<String, byte[]> damaged = new LinkedHashMap<>();
        byte[] flipped = withGo(good);
        flipped[(int) offsets()[i] + 8 + p.length / 2] ^= 0x10; // behind the checksum
        damaged.put("a bit flipped behind the checksum", flipped);
        damaged.put("one byte short", withGo(replaced(i, withPayload(good.get(i), Arrays.copyOf(p, p.length - 1)))));
        damaged.put("a trailing byte", withGo(replaced(i, withPayload(good.get(i), Arrays.copyOf(p, p.length + 1)))));
        byte[] ones = p.clone();
        ByteBuffer.wrap(ones).putInt(0, -1);
        damaged.put("first word all ones", withGo(replaced(i, withPayload(good.get(i), ones))));
        for (Map.Entry<String, byte[]> e : damaged.entrySet()) {
            Outcome o = feed(e.getValue());
            String what = type + " record, " + e.getKey();
            assertTrue(!o.accepted(), what + ": accepted");
            assertEquals(null, o.internal(), what + ": " + o.message());
            assertTrue(names(o.message(), type), what + ": the refusal does not name the record: " + o.message());
            assertNothingLeft(what);
        }
    }

    /**
     * The source's GO, the last record it sends (after the receiver said "held paused"): a bit flipped behind its
     * checksum, or a payload where it has none, is refused naming GO, and the arrived copy is destroyed, never run.
     */
    @Test
    void aDamagedGoIsRefusedByNameAndTheArrivedCopyIsDestroyed() throws Exception {
        byte[] flipped = withGo(good);
        flipped[flipped.length - 1] ^= 1; // in the GO's checksum (it has no payload)
        byte[] trailing = LiveMigrationTest.frame(java.util.stream.Stream.concat(good.stream(),
                java.util.stream.Stream.of(rec(MigrationStream.GO, new byte[] {1}))).toList());
        for (byte[] b : List.of(flipped, trailing)) {
            Outcome o = feed(b);
            assertTrue(!o.accepted(), "accepted");
            assertEquals(null, o.internal(), o.message());
            assertTrue(o.message().contains("GO"), "the refusal does not name the GO: " + o.message());
            assertNothingLeft("a damaged GO");
        }
    }

    /** A domain type or shutdown action whose name is damaged: refused saying which field, not "No enum constant …". */
    @Test
    void aDomainConfigRecordWithADamagedNameOfATypeOrActionIsRefusedSayingWhich() throws Exception {
        int i = first(RecordType.DOMAIN_CONFIG.number());
        for (String[] c : new String[][] {{"HVM", "HWM", "type 'HWM'"}, {"RESTART", "RESTAR\u0014", "on_reboot 'RESTAR?'"}}) {
            byte[] p = good.get(i).payload().clone();
            byte[] from = c[0].getBytes(StandardCharsets.UTF_8), to = c[1].getBytes(StandardCharsets.UTF_8);
            int at = indexOf(p, from);
            assertTrue(at > 0, c[0]);
            System.arraycopy(to, 0, p, at, to.length);
            Outcome o = feed(withGo(replaced(i, withPayload(good.get(i), p))));
            assertTrue(!o.accepted(), c[1] + " accepted");
            assertEquals("incoming migration refused: the domain configuration record is damaged (" + c[2] + ")", o.message());
            assertNothingLeft(c[1]);
        }
    }

    private static int indexOf(byte[] b, byte[] what) {
        for (int i = 0; i + what.length <= b.length; i++) {
            if (Arrays.equals(b, i, i + what.length, what, 0, what.length)) {
                return i;
            }
        }
        return -1;
    }

    /**
     * A well-formed PVHVM_SUSPEND record whose console port the new domain does not have (the guest re-binds by number):
     * refused after the pages, before the state is applied, naming the record; the half-built domain gone.
     */
    @Test
    void aPvhvmSuspendRecordWhoseRingsTheNewDomainLacksIsRefusedByName() throws Exception {
        int i = first(RecordType.PVHVM_SUSPEND.number());
        byte[] p = good.get(i).payload().clone();
        p[24 + 3] ^= (byte) 0x80; // console port 1 -> 129 (or 2 -> 130): still a valid port
        Outcome o = feed(withGo(replaced(i, withPayload(good.get(i), p))));
        assertTrue(!o.accepted(), "accepted");
        assertEquals(null, o.internal(), o.message());
        assertTrue(o.message().contains("PVHVM_SUSPEND") && o.message().contains("could not reconnect"), o.message());
        assertNothingLeft("moved console port");
    }

    /** One damaged stream: how it was made, its bytes, whether it must be refused, whether it changes the guest's own state. */
    private record Mutant(String kind, byte[] bytes, boolean mustRefuse, boolean guestState) {
    }

    /** Record types whose payload is the guest's own state (memory, CPU, platform, devices): damage there is the guest's. */
    private static boolean guestState(int type) {
        return type == RecordType.PAGE_BATCH.number() || type == RecordType.ZERO_PAGES.number() || type == RecordType.VCPU.number()
                || type == RecordType.PLATFORM.number() || type == RecordType.PCI_HEADERS.number()
                || type == RecordType.DEVICE_MODEL.number() || type == RecordType.PVHVM_SUSPEND.number();
    }

    private static final int[] HUGE = {-1, 0x7fffffff, 0x80000000, 0x10000000, 0x00ffffff, 513, 2049, 4097, 129, 4096};

    /** The damaged copies of the good stream, every kind the receiver may meet. */
    private List<Mutant> mutants(Random rnd) throws IOException {
        List<Mutant> out = new ArrayList<>();
        byte[] body = withGo(good);
        long[] at = offsets();
        int n = good.size();
        for (int k = 0; k < 450; k++) { // bits flipped behind the checksums of a record: its framing, payload or checksum
            byte[] b = body.clone();
            int i = rnd.nextInt(n);
            for (int j = 0; j <= rnd.nextInt(3); j++) {
                b[(int) (at[i] + rnd.nextInt((int) (at[i + 1] - at[i])))] ^= (byte) (1 << rnd.nextInt(8));
            }
            out.add(new Mutant("bit flip behind the checksum", b, true, false));
        }
        for (int k = 0; k < 80; k++) { // a record's length field wrong, checksum not made right
            byte[] b = body.clone();
            int i = rnd.nextInt(n);
            int len = good.get(i).payload().length;
            int bad = switch (rnd.nextInt(4)) {
                case 0 -> len + 1 + rnd.nextInt(16);
                case 1 -> Math.max(0, len - 1 - rnd.nextInt(16));
                case 2 -> HUGE[rnd.nextInt(HUGE.length)];
                default -> rnd.nextInt();
            };
            if (bad == len) {
                bad++;
            }
            ByteBuffer.wrap(b).putInt((int) at[i] + 4, bad);
            out.add(new Mutant("wrong length, checksum not fixed", b, true, false));
        }
        for (int i = 0; i <= n; i++) { // cut at every record boundary (n: after END, before GO), and inside each record's framing
            out.add(new Mutant("cut at a record boundary", Arrays.copyOf(body, (int) at[i]), true, false));
            if (i < n) {
                for (int j = 1; j < 12; j++) {
                    int cut = j < 8 ? (int) at[i] + j : (int) at[i + 1] - (12 - j); // in the type/length, in the checksum
                    out.add(new Mutant("cut inside a record's framing", Arrays.copyOf(body, cut), true, false));
                }
            }
        }
        for (int k = 0; k < 80; k++) {
            out.add(new Mutant("cut at a random byte", Arrays.copyOf(body, rnd.nextInt(body.length - 12)), true, false));
        }
        // re-checksummed from here: each record's own parser and the receiver's checks see the damage
        for (int k = 0; k < 400; k++) {
            int i = rnd.nextInt(n);
            RecordStream.Record r = good.get(i);
            byte[] p = r.payload().clone();
            // page contents are any bytes: in a PAGE_BATCH only its count and frame numbers
            int span = r.type() == RecordType.PAGE_BATCH.number() ? 4 + 4 * ByteBuffer.wrap(p).getInt(0) : p.length;
            for (int j = 0; j <= rnd.nextInt(3); j++) {
                p[rnd.nextInt(span)] ^= (byte) (1 << rnd.nextInt(8));
            }
            out.add(new Mutant("bit flip in front of the checksum", withGo(replaced(i, withPayload(r, p))), false, guestState(r.type())));
        }
        for (int k = 0; k < 250; k++) { // a word (count, length, index, port, frame number) made huge or absurd
            int i = rnd.nextInt(n);
            RecordStream.Record r = good.get(i);
            byte[] p = r.payload().clone();
            int span = r.type() == RecordType.PAGE_BATCH.number() ? 4 + 4 * ByteBuffer.wrap(p).getInt(0) : p.length;
            int off = rnd.nextBoolean() ? 0 : rnd.nextInt(Math.max(1, span - 3));
            ByteBuffer.wrap(p).putInt(Math.min(off, p.length - 4), HUGE[rnd.nextInt(HUGE.length)]);
            out.add(new Mutant("huge count or length", withGo(replaced(i, withPayload(r, p))), false, guestState(r.type())));
        }
        for (int k = 0; k < 180; k++) { // payload shorter or longer than its fields
            int i = rnd.nextInt(n);
            RecordStream.Record r = good.get(i);
            byte[] p = r.payload();
            int d = 1 + rnd.nextInt(8);
            byte[] q = rnd.nextBoolean() ? Arrays.copyOf(p, Math.max(0, p.length - d)) : Arrays.copyOf(p, p.length + d);
            if (q.length > p.length && rnd.nextBoolean()) {
                for (int j = p.length; j < q.length; j++) {
                    q[j] = (byte) rnd.nextInt();
                }
            }
            out.add(new Mutant("wrong payload length", withGo(replaced(i, withPayload(r, q))), false, guestState(r.type())));
        }
        List<Integer> types = new ArrayList<>(TYPES.keySet());
        types.addAll(List.of(RecordType.BACKEND.number(), 0, 13, 14, 16, 31, 35, 63, 64, 95, 96, MigrationStream.HELLO,
                MigrationStream.AUTH, MigrationStream.AUTH_OK, MigrationStream.STATUS, MigrationStream.GO, -1, 0x7fffffff));
        for (int k = 0; k < 130; k++) { // a record's type changed
            int i = rnd.nextInt(n);
            int type = types.get(rnd.nextInt(types.size()));
            if (type == good.get(i).type()) {
                type = 13;
            }
            out.add(new Mutant("type changed", withGo(replaced(i, rec(type, good.get(i).payload()))), false,
                    guestState(good.get(i).type()) || guestState(type)));
        }
        for (int k = 0; k < 80; k++) { // two neighbours swapped: pages of one round stay newer than the round before's
            int i = rnd.nextInt(n - 1);
            List<RecordStream.Record> l = new ArrayList<>(good);
            l.set(i, good.get(i + 1));
            l.set(i + 1, good.get(i));
            out.add(new Mutant("neighbours swapped", withGo(l), false, false));
        }
        for (int k = 0; k < 60; k++) { // two records anywhere swapped
            int i = rnd.nextInt(n), j = rnd.nextInt(n);
            List<RecordStream.Record> l = new ArrayList<>(good);
            l.set(i, good.get(j));
            l.set(j, good.get(i));
            boolean pages = guestState(good.get(i).type()) || guestState(good.get(j).type());
            out.add(new Mutant("records swapped", withGo(l), false, pages));
        }
        for (int k = 0; k < 60; k++) { // a record duplicated (the END counts the records)
            int i = rnd.nextInt(n);
            List<RecordStream.Record> l = new ArrayList<>(good);
            l.add(rnd.nextInt(n + 1), good.get(i));
            out.add(new Mutant("record duplicated", withGo(l), true, false));
        }
        for (int i = 0; i < n; i++) { // each record dropped
            List<RecordStream.Record> l = new ArrayList<>(good);
            l.remove(i);
            out.add(new Mutant("record dropped", withGo(l), true, false));
        }
        // as a sender with a bug would send them: the END counts what is there, so the receiver's own checks must see it
        for (int i = 0; i < n - 1; i++) {
            List<RecordStream.Record> l = new ArrayList<>(good);
            l.remove(i);
            out.add(new Mutant("record dropped, END re-counted", withGo(recounted(l)), false, guestState(good.get(i).type())));
        }
        for (int k = 0; k < 60; k++) {
            int i = rnd.nextInt(n - 1);
            List<RecordStream.Record> l = new ArrayList<>(good);
            l.add(1 + rnd.nextInt(n - 1), good.get(i));
            out.add(new Mutant("record duplicated, END re-counted", withGo(recounted(l)), false, guestState(good.get(i).type())));
        }
        return out;
    }

    /** The records with the END record (last) made to count them and their pages, as a sender does. */
    private static List<RecordStream.Record> recounted(List<RecordStream.Record> l) {
        long pages = 0;
        for (RecordStream.Record r : l) {
            if (r.type() == RecordType.PAGE_BATCH.number() || r.type() == RecordType.ZERO_PAGES.number()) {
                pages += ByteBuffer.wrap(r.payload()).getInt(0);
            }
        }
        List<RecordStream.Record> out = new ArrayList<>(l);
        // the END counts the records before it from the connection's first, the handshake's AUTH (see feed)
        out.set(l.size() - 1, rec(RecordType.END.number(), ByteBuffer.allocate(12).putInt(l.size()).putLong(pages).array()));
        return out;
    }

    /**
     * Thousands of damaged copies of the recorded stream fed to the destination's receiver: every one refused with a
     * clear message, or accepted as a domain that works (unless the damage was in the guest's own memory or CPU state,
     * which the receiver cannot judge); every unchecksummed, cut, duplicated or dropped one refused; no exception the
     * receiver did not mean, no thread dying, no domain and no memory left behind; the source runs on.
     */
    @Test
    void thousandsOfDamagedPvhvmStreamsAreRefusedOrArriveWorkingAndLeaveNothing() throws Exception {
        long seed = Long.getLong("xenj.migfuzz.seed", 15); // another seed: -Dxenj.migfuzz.seed=n
        List<Mutant> inputs = mutants(new Random(seed));
        Map<String, long[]> byKind = new LinkedHashMap<>(); // refused, accepted, nanoseconds
        List<String> failures = new ArrayList<>();
        int refused = 0, accepted = 0, working = 0, guestDamaged = 0, internal = 0;
        long t0 = System.nanoTime();
        for (int k = 0; k < inputs.size(); k++) {
            Mutant m = inputs.get(k);
            long t1 = System.nanoTime();
            Outcome o = feed(m.bytes());
            long[] counts = byKind.computeIfAbsent(m.kind(), x -> new long[3]);
            counts[2] += System.nanoTime() - t1;
            if (o.internal() != null) {
                internal++;
                failures.add("#" + k + " (" + m.kind() + "): " + o.internal());
            }
            if (!o.accepted()) {
                refused++;
                counts[0]++;
            } else {
                accepted++;
                counts[1]++;
                Domain d = arrived();
                if (m.mustRefuse()) {
                    failures.add("#" + k + " (" + m.kind() + ") accepted");
                }
                if (d == null) {
                    failures.add("#" + k + " (" + m.kind() + ") accepted, but no domain arrived");
                } else if (m.guestState()) {
                    guestDamaged++; // the guest's own state, which the receiver cannot judge: it runs with what it was given
                } else if ((d.state() == DomainState.RUNNING || d.state() == DomainState.BLOCKED) && works(d)) {
                    working++;
                } else {
                    failures.add("#" + k + " (" + m.kind() + ") accepted, but the guest does not resume and count: returns "
                            + read(dst, d.id(), RETURNS) + " result " + Integer.toHexString(read(dst, d.id(), RESULT)));
                }
                if (d != null) {
                    dst.core().destroy(d.id());
                }
            }
            if (dst.core().list().size() != 1 && !TestCores.await(() -> dst.core().list().size() == 1, 5_000)) {
                failures.add("#" + k + " (" + m.kind() + ") left " + dst.core().list());
            }
            if (dst.core().info().freeMemoryKiB() != dstFree) {
                failures.add("#" + k + " (" + m.kind() + ") left " + (dstFree - dst.core().info().freeMemoryKiB()) + " KiB taken");
            }
            if (failures.size() > 20) {
                break;
            }
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        System.out.printf("PVHVM receiver fuzz (seed %d): %d damaged streams in %.1f s, %d refused, %d accepted (%d working, %d with the"
                + " guest's own memory/CPU/device state changed), %d internal errors%n", seed, inputs.size(), secs, refused, accepted, working,
                guestDamaged, internal);
        byKind.forEach((kind, c) -> System.out.printf("  %-34s %5d refused %4d accepted  %6.0f ms%n", kind, c[0], c[1], c[2] / 1e6));
        List<String> crashes = dst.core().dmesg().stream().filter(l -> l.contains("internal error") || l.contains("crash")).toList();
        assertEquals(List.of(), failures, String.join("\n", failures));
        assertEquals(0, internal);
        assertEquals(inputs.size(), refused + accepted);
        assertEquals(accepted, working + guestDamaged, "every harmless one works");
        assertTrue(inputs.size() >= 2_000 && refused >= 1_500, "thousands refused: " + refused);
        assertEquals(List.of(), crashes, "the destination logged no crash or internal error");
        assertEquals(List.of(), uncaught, "no thread died");
        // the receiver still takes the good stream, and the source runs on
        Outcome o = feed(withGo(good));
        assertTrue(o.accepted(), "the good stream after the fuzz: " + o.message());
        Domain d = arrived();
        assertTrue(works(d), "it works");
        dst.core().destroy(d.id());
        assertNothingLeft("the good stream after the fuzz");
        int c = read(src, source.id(), COUNTER);
        assertTrue(TestCores.await(() -> read(src, source.id(), COUNTER) > c + 100, 5_000), "the source counts on");
        assertEquals("pvhvm", src.core().domainOrNull(source.id()).name);
    }
}
