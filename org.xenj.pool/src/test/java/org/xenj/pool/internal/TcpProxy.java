package org.xenj.pool.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * One host's network link to the ZooKeeper server: a TCP relay the test can cut. A cut link is a
 * partition, not a closed port: connections stay open and bytes vanish both ways, so the client
 * learns of it only by its own timeouts, as it would when a cable is pulled.
 */
final class TcpProxy implements AutoCloseable {

    private final ServerSocket listener;
    private final int targetPort;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private volatile boolean cut;
    private volatile boolean closed;

    TcpProxy(int targetPort) throws IOException {
        this.targetPort = targetPort;
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t = new Thread(this::accept, "proxy-" + listener.getLocalPort());
        t.setDaemon(true);
        t.start();
    }

    String connectString() {
        return "127.0.0.1:" + listener.getLocalPort();
    }

    /** Whether a client connection goes through this link now (an open relayed socket). */
    boolean carrying() {
        return sockets.stream().anyMatch(s -> !s.isClosed());
    }

    /** Partitions the link: every byte in flight and to come is dropped. */
    void cut() {
        cut = true;
    }

    /**
     * Resets every connection at once, as a server that lost its quorum does (a leader election):
     * the client learns of it at once. New connections are accepted (relayed, unless cut).
     */
    void drop() {
        for (Socket s : sockets) {
            closeQuietly(s);
        }
        sockets.clear();
    }

    /** Ends the partition; connections that lost bytes are reset so the client starts a clean one. */
    void heal() {
        for (Socket s : sockets) {
            closeQuietly(s);
        }
        sockets.clear();
        cut = false;
    }

    private void accept() {
        while (!closed) {
            try {
                Socket client = listener.accept();
                Socket server = new Socket();
                server.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort), 2000);
                sockets.add(client);
                sockets.add(server);
                pump(client, server);
                pump(server, client);
            } catch (IOException e) {
                // the server may be down (restart tests): the client retries
            }
        }
    }

    private void pump(Socket from, Socket to) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[8192];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buf)) >= 0) {
                    if (!cut) {
                        out.write(buf, 0, n);
                        out.flush();
                    }
                }
            } catch (IOException e) {
                // one side closed
            } finally {
                closeQuietly(from);
                closeQuietly(to);
            }
        }, "proxy-pump");
        t.setDaemon(true);
        t.start();
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    @Override
    public void close() {
        closed = true;
        closeQuietly(new Socket());
        try {
            listener.close();
        } catch (IOException ignored) {
            // closing
        }
        heal();
    }
}
