package org.xenj.hypervisor.internal.migrate;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.concurrent.Semaphore;
import java.util.function.Consumer;

import org.xenj.hypervisor.internal.save.MigrationStream;
import org.xenj.hypervisor.internal.save.RecordStream;

/**
 * The receiving end of {@code xen:migrate} ({@code xl migrate-receive}): a TCP listener, off
 * unless configured, bound to 127.0.0.1 by default, that speaks TLS ({@link MigrationTls}, one key
 * for the listener's life) unless turned off, and authenticates each connection with the shared
 * secret ({@link MigrationAuth}) before handing it to the domain core. Two incoming
 * migrations at a time at most; each on its own thread, never on a vCPU's. A peer that has not
 * authenticated holds no migration slot: handshakes have their own limit ({@link #HANDSHAKES}) and
 * must finish within {@link #HANDSHAKE_MILLIS} (5 s), so silent or garbage connections cannot keep a
 * real migration out for longer than that.
 */
public final class MigrationListener implements AutoCloseable {

    /** What the core does with an authenticated connection. */
    public interface Handler {
        void handle(RecordStream.Reader in, MigrationStream.Out out, long handshakeRttNanos) throws Exception;
    }

    private final ServerSocket server;
    private final byte[] secret;
    /** Null: the stream in the clear ({@code xenj.migrate.tls=false}). */
    private final MigrationTls tls;
    private final Handler handler;
    private final Consumer<String> log;
    /** Authenticated incoming migrations at a time. */
    private final Semaphore slots = new Semaphore(2);
    /** Connections still in the handshake at a time. */
    static final int HANDSHAKES = 8;
    /** How long a peer has to prove it knows the secret, by default. */
    static final int HANDSHAKE_MILLIS = 5_000;
    private final int handshakeMillis;
    private final Semaphore handshakes = new Semaphore(HANDSHAKES);
    private final Thread acceptor;
    private volatile boolean closed;

    public MigrationListener(String bind, int port, byte[] secret, MigrationTls tls, Handler handler, Consumer<String> log) throws IOException {
        this(bind, port, secret, tls, handler, log, HANDSHAKE_MILLIS);
    }

    /** As above, with the time a peer has for the handshake (tests: short). */
    MigrationListener(String bind, int port, byte[] secret, MigrationTls tls, Handler handler, Consumer<String> log, int handshakeMillis)
            throws IOException {
        this.handshakeMillis = handshakeMillis;
        this.tls = tls;
        if (secret == null || secret.length < 8) {
            throw new IllegalArgumentException("the migration listener needs xenj.migrate.secret (8 bytes or more)");
        }
        this.secret = secret.clone();
        this.handler = handler;
        this.log = log;
        this.server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(InetAddress.getByName(bind), port));
        this.acceptor = new Thread(this::acceptLoop, "xenj-migrate-listener");
        acceptor.setDaemon(true);
        acceptor.start();
        log.accept("migration receiver listening on " + server.getLocalSocketAddress() + (tls != null ? " (TLS 1.3)" : " (no TLS: the stream is in the clear)"));
    }

    public int port() {
        return server.getLocalPort();
    }

    private void acceptLoop() {
        int n = 0;
        while (!closed) {
            Socket s;
            try {
                s = server.accept();
            } catch (IOException e) {
                if (!closed) {
                    log.accept("migration receiver: accept failed: " + e.getMessage());
                }
                return;
            }
            if (!handshakes.tryAcquire()) {
                log.accept("migration receiver: refusing " + s.getRemoteSocketAddress() + ", " + HANDSHAKES + " handshakes already under way");
                close(s);
                continue;
            }
            Thread t = new Thread(() -> serve(s), "xenj-migrate-in-" + (++n));
            t.setDaemon(true);
            t.start();
        }
    }

    private void serve(Socket plain) {
        boolean handshaking = true, slot = false;
        Socket s = plain;
        try {
            plain.setTcpNoDelay(true);
            plain.setSoTimeout(handshakeMillis);
            byte[] binding = new byte[0];
            if (tls != null) {
                javax.net.ssl.SSLSocket ssl;
                try {
                    ssl = tls.wrap(plain, false);
                } catch (IOException e) {
                    log.accept("migration receiver: " + plain.getRemoteSocketAddress() + ": no TLS session (" + e.getMessage()
                            + "); both ends need xenj.migrate.tls alike");
                    return;
                }
                s = ssl;
                binding = MigrationAuth.binding(MigrationTls.peerFingerprint(ssl), tls.fingerprint());
            }
            RecordStream.Reader in = new RecordStream.Reader(new BufferedInputStream(s.getInputStream(), 1 << 20));
            MigrationStream.Out out = new MigrationStream.Out(new BufferedOutputStream(s.getOutputStream(), 1 << 16));
            long t0 = System.nanoTime();
            try {
                MigrationAuth.asReceiver(in, out, secret, binding);
            } catch (MigrationAuth.AuthException e) {
                log.accept("migration receiver: " + s.getRemoteSocketAddress() + " refused: " + e.getMessage());
                refuse(out, "authentication failed");
                return;
            }
            handshakes.release();
            handshaking = false;
            if (!(slot = slots.tryAcquire())) {
                log.accept("migration receiver: refusing " + s.getRemoteSocketAddress() + ", two migrations already arriving");
                refuse(out, "two migrations are already arriving here; try again later");
                return;
            }
            s.setSoTimeout(30_000);
            handler.handle(in, out, System.nanoTime() - t0);
        } catch (java.net.SocketTimeoutException e) {
            log.accept("migration receiver: " + s.getRemoteSocketAddress() + " went silent" + (handshaking ? " in the handshake ("
                    + handshakeMillis + " ms)" : " (30 s)") + "; connection closed");
        } catch (SocketException e) {
            log.accept("migration receiver: connection from " + s.getRemoteSocketAddress() + " lost: " + e.getMessage());
        } catch (Exception e) {
            log.accept("migration receiver: " + (e.getMessage() != null ? e.getMessage() : e.toString()));
        } finally {
            close(s);
            close(plain);
            if (handshaking) {
                handshakes.release();
            }
            if (slot) {
                slots.release();
            }
        }
    }

    private static void refuse(MigrationStream.Out out, String why) {
        try {
            out.raw(MigrationStream.STATUS, MigrationStream.status(new MigrationStream.Status(false, -1, why)));
            out.flush();
        } catch (IOException ignored) {
            // the peer may be gone
        }
    }

    private static void close(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // closing
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException e) {
            // closing
        }
    }
}
