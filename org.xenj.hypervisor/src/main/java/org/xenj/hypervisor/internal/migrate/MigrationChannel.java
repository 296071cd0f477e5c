package org.xenj.hypervisor.internal.migrate;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;

import org.xenj.hypervisor.internal.save.MigrationStream;
import org.xenj.hypervisor.internal.save.RecordStream;
import org.xenj.hypervisor.internal.save.SaveFormatException;

/** One authenticated migration connection (over TLS unless turned off): framed records both ways. */
public final class MigrationChannel implements AutoCloseable {

    public final Socket socket;
    public final RecordStream.Reader in;
    public final MigrationStream.Out out;
    private long handshakeNanos, tlsNanos;

    MigrationChannel(Socket socket) throws IOException {
        this.socket = socket;
        this.in = new RecordStream.Reader(new BufferedInputStream(socket.getInputStream(), 1 << 16));
        this.out = new MigrationStream.Out(new BufferedOutputStream(socket.getOutputStream(), 1 << 20));
    }

    /** How long the TLS handshake took (0 without TLS). */
    public long tlsNanos() {
        return tlsNanos;
    }

    /** How long the secret's handshake took (two round trips, after TLS's). */
    public long handshakeNanos() {
        return handshakeNanos;
    }

    /**
     * Connects to a receiver, over TLS with a fresh key unless {@code tls} is null, and
     * authenticates both ways; the caller closes it.
     */
    public static MigrationChannel connect(String host, int port, byte[] secret, int timeoutMillis, MigrationTls tls)
            throws IOException, SaveFormatException, MigrationAuth.AuthException {
        Socket plain = new Socket();
        Socket s = plain;
        try {
            plain.setTcpNoDelay(true);
            plain.connect(new InetSocketAddress(host, port), timeoutMillis);
            plain.setSoTimeout(timeoutMillis);
            long t0 = System.nanoTime();
            byte[] binding = new byte[0];
            long tTls = t0;
            if (tls != null) {
                javax.net.ssl.SSLSocket ssl;
                try {
                    ssl = tls.wrap(plain, true);
                } catch (IOException e) {
                    throw new IOException("no TLS session with " + host + ":" + port + " (" + e.getMessage()
                            + "); both ends need xenj.migrate.tls alike", e);
                }
                s = ssl;
                binding = MigrationAuth.binding(tls.fingerprint(), MigrationTls.peerFingerprint(ssl));
                tTls = System.nanoTime();
            }
            MigrationChannel c = new MigrationChannel(s);
            MigrationAuth.asSender(c.in, c.out, secret, binding);
            c.handshakeNanos = System.nanoTime() - tTls;
            c.tlsNanos = tTls - t0;
            return c;
        } catch (IOException | SaveFormatException | MigrationAuth.AuthException | RuntimeException e) {
            s.close();
            plain.close();
            throw e;
        }
    }

    /** The next record, which must be of {@code type}; a STATUS in its place is the receiver's refusal. */
    public byte[] expect(int type, String what) throws IOException, SaveFormatException {
        RecordStream.Record r = in.next();
        if (r == null) {
            throw new IOException("the connection closed while waiting for " + what);
        }
        if (r.type() != type) {
            if (r.type() == MigrationStream.STATUS) {
                MigrationStream.Status st = MigrationStream.parseStatus(r.payload());
                throw new IOException("the destination failed: " + st.message());
            }
            throw new SaveFormatException("expected " + what + ", got record type " + r.type());
        }
        return r.payload();
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException e) {
            // closing: nothing more to do
        }
    }
}
