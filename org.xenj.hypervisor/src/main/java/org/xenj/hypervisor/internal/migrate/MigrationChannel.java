package org.xenj.hypervisor.internal.migrate;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;

import org.xenj.hypervisor.internal.save.MigrationStream;
import org.xenj.hypervisor.internal.save.RecordStream;
import org.xenj.hypervisor.internal.save.SaveFormatException;

/** One authenticated migration connection: framed records both ways. */
public final class MigrationChannel implements AutoCloseable {

    public final Socket socket;
    public final RecordStream.Reader in;
    public final MigrationStream.Out out;
    private long handshakeNanos;

    MigrationChannel(Socket socket) throws IOException {
        this.socket = socket;
        this.in = new RecordStream.Reader(new BufferedInputStream(socket.getInputStream(), 1 << 16));
        this.out = new MigrationStream.Out(new BufferedOutputStream(socket.getOutputStream(), 1 << 20));
    }

    /** How long the handshake took (two round trips). */
    public long handshakeNanos() {
        return handshakeNanos;
    }

    /** Connects to a receiver and authenticates both ways; the caller closes it. */
    public static MigrationChannel connect(String host, int port, byte[] secret, int timeoutMillis)
            throws IOException, SaveFormatException, MigrationAuth.AuthException {
        Socket s = new Socket();
        try {
            s.setTcpNoDelay(true);
            s.connect(new InetSocketAddress(host, port), timeoutMillis);
            s.setSoTimeout(timeoutMillis);
            MigrationChannel c = new MigrationChannel(s);
            long t0 = System.nanoTime();
            MigrationAuth.asSender(c.in, c.out, secret);
            c.handshakeNanos = System.nanoTime() - t0;
            return c;
        } catch (IOException | SaveFormatException | MigrationAuth.AuthException | RuntimeException e) {
            s.close();
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
