package org.xenj.hypervisor.internal.migrate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import javax.net.ssl.SSLSocket;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.save.MigrationStream;
import org.xenj.hypervisor.internal.save.RecordStream;
import org.xenj.hypervisor.internal.save.RecordType;
import org.xenj.hypervisor.internal.save.SaveFormatException;

/**
 * The migration channel over TLS ({@link MigrationTls}): what crosses the wire carries none of the
 * guest's bytes in the clear (a TCP relay records it; the same relay sees them without TLS, so the
 * recording works), a relay that terminates TLS towards each end is refused by both although it
 * passes the secret's proofs through untouched (the same relay gets through when the proofs leave
 * the certificates out, so it is the binding that stops it), and ends configured differently fail
 * with a message naming the setting.
 */
class MigrationTlsTest {

    private static final byte[] SECRET = "tls-test-secret".getBytes(StandardCharsets.UTF_8);
    /** What a guest page might hold; must not be seen on the wire over TLS. */
    private static final byte[] PAGE = "GUEST-PAGE-CONTENT-0123456789abcdef".repeat(117).getBytes(StandardCharsets.US_ASCII);

    private final List<String> log = new CopyOnWriteArrayList<>();
    private final AtomicInteger handled = new AtomicInteger();
    private final AtomicReference<byte[]> received = new AtomicReference<>();
    private final List<AutoCloseable> closeLater = new CopyOnWriteArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : closeLater) {
            c.close();
        }
    }

    private MigrationListener listener(MigrationTls tls) throws IOException {
        MigrationListener l = new MigrationListener("127.0.0.1", 0, SECRET, tls, (in, out, rtt) -> {
            handled.incrementAndGet();
            RecordStream.Record r = in.next();
            if (r != null) {
                received.set(r.payload());
            }
            while (in.next() != null) {
                // to the end, so that closing sends no reset over unread bytes
            }
        }, log::add, 1_000);
        closeLater.add(l);
        return l;
    }

    private static boolean contains(byte[] hay, byte[] needle, int len) {
        outer:
        for (int i = 0; i + len <= hay.length; i++) {
            for (int j = 0; j < len; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    /**
     * Sends one page record through a recording TCP relay to a listener, and waits until the
     * receiver has read it (so the relay has passed all of it); returns what the relay saw from the
     * sender ([0]) and from the receiver ([1]).
     */
    private byte[][] sendThroughRecorder(MigrationTls senderTls, MigrationTls listenerTls) throws Exception {
        received.set(null);
        MigrationListener l = listener(listenerTls);
        Relay relay = new Relay(l.port(), null, null);
        try (MigrationChannel ch = MigrationChannel.connect("127.0.0.1", relay.port(), SECRET, 5_000, senderTls)) {
            ch.out.raw(RecordType.PAGE_BATCH.number(), PAGE);
            ch.out.flush();
            long end = System.nanoTime() + 5_000_000_000L;
            while (received.get() == null && System.nanoTime() < end) {
                Thread.sleep(2);
            }
        }
        assertArrayEquals(PAGE, received.get(), "the receiver got the page as sent; log:\n" + String.join("\n", log));
        return new byte[][] {relay.recorded(0), relay.recorded(1)};
    }

    @Test
    void theWireCarriesNoGuestBytesOverTlsAndAllOfThemWithout() throws Exception {
        byte[] magic = "XJMIGRAT".getBytes(StandardCharsets.US_ASCII); // the receiver's HELLO
        byte[][] wire = sendThroughRecorder(MigrationTls.create(), MigrationTls.create());
        assertTrue(wire[0].length > PAGE.length, "the relay saw the stream (" + wire[0].length + " bytes)");
        assertFalse(contains(wire[0], PAGE, 16), "16 bytes of the page in the clear on the wire over TLS");
        assertFalse(contains(wire[1], magic, magic.length), "the receiver's HELLO in the clear over TLS");

        byte[][] clear = sendThroughRecorder(null, null);
        assertTrue(contains(clear[0], PAGE, PAGE.length), "without TLS the recorder sees the page: it records what crosses");
        assertTrue(contains(clear[1], magic, magic.length), "without TLS the recorder sees the HELLO");
    }

    @Test
    void aRelayTerminatingTlsTowardsEachEndIsRefusedByBoth() throws Exception {
        MigrationListener l = listener(MigrationTls.create());
        Relay mitm = new Relay(l.port(), MigrationTls.create(), MigrationTls.create());
        MigrationAuth.AuthException e = assertThrows(MigrationAuth.AuthException.class,
                () -> MigrationChannel.connect("127.0.0.1", mitm.port(), SECRET, 5_000, MigrationTls.create()).close());
        assertTrue(e.getMessage().contains("authentication failed"), e.getMessage());
        assertEquals(0, handled.get(), "the core never saw the connection");
        assertTrue(log.stream().anyMatch(s -> s.contains("does not know the migration secret")), "receiver's log:\n" + String.join("\n", log));
        assertTrue(mitm.pumped() > 0, "the relay did pass the proofs through");
    }

    /** The control: the same relay between two ends whose proofs leave the certificates out gets through. */
    @Test
    void withoutTheBindingTheSameRelayWouldGetThrough() throws Exception {
        MigrationTls receiverTls = MigrationTls.create();
        ServerSocket server = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
        closeLater.add(server);
        AtomicReference<Throwable> receiverFailure = new AtomicReference<>();
        Thread receiver = new Thread(() -> {
            try (Socket plain = server.accept(); SSLSocket s = receiverTls.wrap(plain, false)) {
                RecordStream.Reader in = new RecordStream.Reader(s.getInputStream());
                MigrationStream.Out out = new MigrationStream.Out(s.getOutputStream());
                MigrationAuth.asReceiver(in, out, SECRET, new byte[0]);
                handled.incrementAndGet();
            } catch (Exception | Error e) {
                receiverFailure.set(e);
            }
        });
        receiver.start();
        Relay mitm = new Relay(server.getLocalPort(), MigrationTls.create(), MigrationTls.create());
        MigrationTls senderTls = MigrationTls.create();
        try (Socket plain = new Socket()) {
            plain.connect(new InetSocketAddress("127.0.0.1", mitm.port()), 5_000);
            plain.setSoTimeout(5_000);
            SSLSocket s = senderTls.wrap(plain, true);
            MigrationAuth.asSender(new RecordStream.Reader(s.getInputStream()), new MigrationStream.Out(s.getOutputStream()), SECRET,
                    new byte[0]);
        }
        receiver.join(5_000);
        assertEquals(null, receiverFailure.get());
        assertEquals(1, handled.get(), "the relay got both ends to agree");
    }

    @Test
    void endsConfiguredDifferentlyFailNamingTheSetting() throws Exception {
        MigrationListener plainListener = listener(null);
        IOException e = assertThrows(IOException.class,
                () -> MigrationChannel.connect("127.0.0.1", plainListener.port(), SECRET, 5_000, MigrationTls.create()).close());
        assertTrue(e.getMessage().contains("xenj.migrate.tls"), e.getMessage());

        MigrationListener tlsListener = listener(MigrationTls.create());
        Exception e2 = assertThrows(Exception.class,
                () -> MigrationChannel.connect("127.0.0.1", tlsListener.port(), SECRET, 5_000, null).close());
        assertTrue(e2 instanceof SaveFormatException || e2 instanceof IOException, e2.toString());
        long end = System.nanoTime() + 5_000_000_000L;
        while (log.stream().noneMatch(s -> s.contains("no TLS session")) && System.nanoTime() < end) {
            Thread.sleep(5);
        }
        assertTrue(log.stream().anyMatch(s -> s.contains("no TLS session") && s.contains("xenj.migrate.tls")), String.join("\n", log));
        assertEquals(0, handled.get());
    }

    /**
     * One connection's relay to {@code targetPort}: bytes as they are (recording them) when both
     * keys are null; otherwise TLS terminated towards the client with {@code towardsClient} and
     * opened towards the target with {@code towardsTarget}, the plaintext passed along untouched.
     */
    private final class Relay {
        private final ServerSocket server;
        /** What came from the client ([0]) and from the target ([1]). */
        private final ByteArrayOutputStream[] recorded = {new ByteArrayOutputStream(), new ByteArrayOutputStream()};
        private final AtomicInteger pumped = new AtomicInteger();

        Relay(int targetPort, MigrationTls towardsClient, MigrationTls towardsTarget) throws IOException {
            server = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
            closeLater.add(server);
            Thread t = new Thread(() -> {
                try {
                    Socket client = server.accept();
                    Socket target = new Socket("127.0.0.1", targetPort);
                    closeLater.add(client);
                    closeLater.add(target);
                    Socket c = client, g = target;
                    if (towardsClient != null) {
                        c = towardsClient.wrap(client, false);
                        g = towardsTarget.wrap(target, true);
                        closeLater.add(c);
                        closeLater.add(g);
                    }
                    Thread back = pump(g.getInputStream(), c.getOutputStream(), recorded[1]);
                    pump(c.getInputStream(), g.getOutputStream(), recorded[0]).join();
                    back.join();
                } catch (IOException | InterruptedException e) {
                    // the test asserts on the ends
                }
            }, "relay");
            t.setDaemon(true);
            t.start();
        }

        private Thread pump(InputStream in, OutputStream out, ByteArrayOutputStream record) {
            Thread t = new Thread(() -> {
                byte[] buf = new byte[8192];
                try (in; out) {
                    for (int n; (n = in.read(buf)) > 0;) {
                        synchronized (record) {
                            record.write(buf, 0, n);
                        }
                        pumped.addAndGet(n);
                        out.write(buf, 0, n);
                        out.flush();
                    }
                } catch (IOException e) {
                    // one side closed
                }
            }, "relay-pump");
            t.setDaemon(true);
            t.start();
            return t;
        }

        int port() {
            return server.getLocalPort();
        }

        int pumped() {
            return pumped.get();
        }

        byte[] recorded(int from) {
            synchronized (recorded[from]) {
                return recorded[from].toByteArray();
            }
        }
    }
}
