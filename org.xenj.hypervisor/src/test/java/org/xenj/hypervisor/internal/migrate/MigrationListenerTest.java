package org.xenj.hypervisor.internal.migrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.save.MigrationStream;
import org.xenj.hypervisor.internal.save.RecordStream;

/**
 * The migration receiver's handshake against hostile peers (issue 15: damaged, truncated,
 * replayed or missing handshake records): each is refused or timed out with a log line, the core
 * never sees the connection (no domain could be created: the handler is only reached after the
 * proof), and the receiver goes on serving — also while peers that never authenticate hold
 * connections open, which before kept both migration slots for 30 s.
 */
class MigrationListenerTest {

    private static final byte[] SECRET = "listener-test-secret".getBytes(StandardCharsets.UTF_8);
    private static final int HANDSHAKE_MILLIS = 400;

    private final AtomicInteger handled = new AtomicInteger();
    private final List<String> log = new CopyOnWriteArrayList<>();
    private MigrationListener listener;

    @BeforeEach
    void start() throws IOException {
        listener = new MigrationListener("127.0.0.1", 0, SECRET, null, this::handle, log::add, HANDSHAKE_MILLIS);
    }

    /** The core's stand-in: counts, then reads to the end, so that closing sends no reset over unread bytes. */
    private void handle(RecordStream.Reader in, MigrationStream.Out out, long rtt) throws Exception {
        handled.incrementAndGet();
        while (in.next() != null) {
            // a peer's records after the handshake: not looked at here
        }
    }

    @AfterEach
    void stop() {
        listener.close();
    }

    private Socket connect() throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", listener.port()), 2_000);
        s.setSoTimeout(5_000);
        return s;
    }

    /** A real sender's handshake: it must pass and reach the core. */
    private void goodSenderGetsThrough() throws Exception {
        int before = handled.get();
        try (Socket s = connect()) {
            MigrationAuth.asSender(new RecordStream.Reader(s.getInputStream()), new MigrationStream.Out(s.getOutputStream()), SECRET, new byte[0]);
        }
        long end = System.nanoTime() + 5_000_000_000L;
        while (handled.get() == before && System.nanoTime() < end) {
            Thread.sleep(2);
        }
        assertEquals(before + 1, handled.get(), "the receiver serves a real sender; log:\n" + String.join("\n", log));
    }

    /** The receiver's HELLO (read whole), so that what the peer sends next is read as its AUTH. */
    private static RecordStream.Record hello(Socket s) throws Exception {
        RecordStream.Record r = new RecordStream.Reader(s.getInputStream()).next();
        assertEquals(MigrationStream.HELLO, r.type());
        return r;
    }

    private static byte[] frame(int type, byte[] payload) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        MigrationStream.Out out = new MigrationStream.Out(b);
        out.raw(type, payload);
        out.flush();
        return b.toByteArray();
    }

    /** Sends {@code bytes}, ends its side, and returns what the receiver answered until it closed (the read fails on a timeout). */
    private static byte[] sendAndDrain(Socket s, byte[] bytes) throws IOException {
        s.getOutputStream().write(bytes);
        s.getOutputStream().flush();
        s.shutdownOutput();
        InputStream in = s.getInputStream();
        try {
            return in.readAllBytes();
        } catch (SocketException e) {
            return new byte[0]; // reset by the receiver: closed as well
        }
    }

    /** The STATUS message in a receiver's answer, or null. */
    private static String status(byte[] answer) throws Exception {
        if (answer.length == 0) {
            return null;
        }
        RecordStream.Record r = new RecordStream.Reader(new java.io.ByteArrayInputStream(answer)).next();
        return r != null && r.type() == MigrationStream.STATUS ? MigrationStream.parseStatus(r.payload()).message() : null;
    }

    @Test
    void badHandshakesAreRefusedNothingReachesTheCoreAndTheReceiverServesOn() throws Exception {
        // connect and leave
        connect().close();
        // garbage instead of records
        try (Socket s = connect()) {
            hello(s);
            byte[] junk = new byte[100];
            new Random(1).nextBytes(junk);
            sendAndDrain(s, junk);
        }
        // a wrong proof: refused with STATUS
        byte[] recorded;
        try (Socket s = connect()) {
            hello(s);
            recorded = frame(MigrationStream.AUTH, MigrationStream.twoBlobs(new byte[32], new byte[32]));
            assertEquals("authentication failed", status(sendAndDrain(s, recorded)));
        }
        // a good AUTH recorded from one session and replayed in another: the receiver's challenge differs
        byte[] good;
        try (Socket s = connect()) {
            byte[] theirs = MigrationStream.parseHello(hello(s).payload());
            byte[] mine = new byte[32];
            new Random(2).nextBytes(mine);
            good = frame(MigrationStream.AUTH, MigrationStream.twoBlobs(mine, MigrationAuth.proof(SECRET, "sender", theirs, mine, new byte[0])));
            byte[] answer = sendAndDrain(s, good);
            assertEquals(MigrationStream.AUTH_OK, new RecordStream.Reader(new java.io.ByteArrayInputStream(answer)).next().type());
        }
        try (Socket s = connect()) {
            hello(s);
            assertEquals("authentication failed", status(sendAndDrain(s, good)), "a replayed AUTH");
        }
        // the AUTH with a flipped bit behind its checksum, cut short, or as another record type
        for (byte[] bad : List.of(flip(good, good.length - 9), Arrays.copyOf(good, good.length - 1), Arrays.copyOf(good, 6),
                frame(MigrationStream.STATUS, MigrationStream.twoBlobs(new byte[32], new byte[32])), frame(MigrationStream.HELLO, new byte[0]))) {
            try (Socket s = connect()) {
                hello(s);
                sendAndDrain(s, bad);
            }
        }
        // a peer that says nothing: closed after the handshake time
        try (Socket s = connect()) {
            hello(s);
            long t0 = System.nanoTime();
            assertEquals(-1, s.getInputStream().read(), "the receiver closes a silent peer");
            assertTrue(System.nanoTime() - t0 < 4_000_000_000L, "within the handshake time");
        }
        assertEquals(1, handled.get(), "only the one good handshake reached the core; log:\n" + String.join("\n", log));
        assertTrue(log.stream().anyMatch(l -> l.contains("does not know the migration secret")), String.join("\n", log));
        assertTrue(log.stream().anyMatch(l -> l.contains("went silent in the handshake")), String.join("\n", log));
        goodSenderGetsThrough();
    }

    private static byte[] flip(byte[] b, int at) {
        byte[] c = b.clone();
        c[at] ^= 0x10;
        return c;
    }

    @Test
    void peersThatNeverAuthenticateDoNotKeepAMigrationOut() throws Exception {
        listener.close(); // silent peers must stay open through the test: the default handshake time
        listener = new MigrationListener("127.0.0.1", 0, SECRET, null, this::handle, log::add);
        List<Socket> silent = new ArrayList<>();
        try {
            // two silent peers used to take both migration slots for 30 s: a real sender was refused meanwhile
            for (int i = 0; i < 2; i++) {
                Socket s = connect();
                hello(s);
                silent.add(s);
            }
            goodSenderGetsThrough();
            // the handshakes' own limit: the ninth unauthenticated peer is turned away at once, the receiver stays up
            for (int i = 2; i < MigrationListener.HANDSHAKES; i++) {
                Socket s = connect();
                hello(s);
                silent.add(s);
            }
            try (Socket s = connect()) {
                assertEquals(-1, s.getInputStream().read(), "turned away while " + MigrationListener.HANDSHAKES + " handshakes are open");
            }
            assertTrue(log.stream().anyMatch(l -> l.contains("handshakes already under way")), String.join("\n", log));
        } finally {
            for (Socket s : silent) {
                s.close();
            }
        }
        // once they are closed (or timed out), the receiver takes senders again
        long end = System.nanoTime() + 5_000_000_000L;
        while (log.stream().filter(l -> l.contains("lost") || l.contains("no authentication") || l.contains("cut short")).count() < 8
                && System.nanoTime() < end) {
            Thread.sleep(5);
        }
        goodSenderGetsThrough();
    }

    @Test
    void fuzzedAuthRecordsAreAllRefused() throws Exception {
        Random rnd = new Random(Long.getLong("xenj.migfuzz.seed", 15));
        int refused = 0;
        for (int i = 0; i < 200; i++) {
            try (Socket s = connect()) {
                byte[] theirs = MigrationStream.parseHello(hello(s).payload());
                byte[] mine = new byte[32];
                rnd.nextBytes(mine);
                byte[] good = frame(MigrationStream.AUTH, MigrationStream.twoBlobs(mine, MigrationAuth.proof(SECRET, "sender", theirs, mine, new byte[0])));
                byte[] bad = switch (i % 5) {
                    case 0 -> flip(good, rnd.nextInt(good.length)); // anywhere: type, length, payload, checksum
                    case 1 -> Arrays.copyOf(good, rnd.nextInt(good.length)); // cut
                    case 2 -> concat(good, new byte[] {(byte) rnd.nextInt()}); // a byte after it: a second record's start
                    case 3 -> { // re-checksummed: the payload changed behind a valid frame
                        byte[] p = MigrationStream.twoBlobs(mine, MigrationAuth.proof(SECRET, "sender", theirs, mine, new byte[0]));
                        p[rnd.nextInt(p.length)] ^= (byte) (1 << rnd.nextInt(8));
                        yield frame(MigrationStream.AUTH, p);
                    }
                    default -> { // re-checksummed, its payload cut short: the blobs' lengths run past it
                        byte[] p = MigrationStream.twoBlobs(mine, MigrationAuth.proof(SECRET, "sender", theirs, mine, new byte[0]));
                        yield frame(MigrationStream.AUTH, Arrays.copyOf(p, rnd.nextInt(p.length)));
                    }
                };
                byte[] answer = sendAndDrain(s, bad);
                boolean accepted = answer.length > 0 && new RecordStream.Reader(new java.io.ByteArrayInputStream(answer)).next().type()
                        == MigrationStream.AUTH_OK;
                if (!accepted) {
                    refused++;
                }
            }
        }
        // case 2 carries a whole good AUTH: the receiver answers AUTH_OK and the core takes it; every other case is refused
        assertEquals(160, refused, "log:\n" + String.join("\n", log));
        assertEquals(40, handled.get());
        // refusals name what was wrong, never just an exception class
        assertTrue(log.stream().noneMatch(l -> l.contains("Exception") || l.contains("java.")), String.join("\n", log));
        goodSenderGetsThrough();
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    @Test
    void aShortSecretIsRefusedAtConfiguration() {
        assertThrows(IllegalArgumentException.class, () -> new MigrationListener("127.0.0.1", 0, new byte[7], null, (in, out, rtt) -> { }, log::add));
    }
}
