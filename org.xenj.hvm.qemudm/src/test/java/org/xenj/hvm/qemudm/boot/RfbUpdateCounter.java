package org.xenj.hvm.qemudm.boot;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A VNC client that asks for framebuffer updates as fast as the server gives them and counts what
 * arrives, for {@link VncBenchMain}: RFB 3.8, no password, 32 bpp true colour, the encodings it is
 * given (ZRLE, CopyRect, Raw) and DesktopSize. Like a viewer it sends the next incremental request as soon as an
 * update has been read; unlike one it does not decode the rectangles (it skips their bytes), so the
 * figures are the server's and the wire's, not a viewer's drawing speed.
 */
final class RfbUpdateCounter implements AutoCloseable {

    static final int RAW = 0, COPY_RECT = 1, ZRLE = 16, DESKTOP_SIZE = -223;

    private final Socket socket;
    private final DataInputStream in;
    private final DataOutputStream out;
    int width, height;
    /**
     * Complete updates (with at least one rectangle) and what they held, since the last {@link #reset}:
     * {@code bytes} is every byte of the FramebufferUpdate messages (headers included).
     */
    volatile long updates, bytes, rawRects, copyRects, zrleRects, otherRects, rawBytes, zrleBytes;
    private volatile boolean stop;
    private Thread reader;
    private volatile Exception failure;

    /** {@code encodings}: what the client offers, in its order of preference (DesktopSize is added). */
    RfbUpdateCounter(int port, int[] offered) throws IOException {
        socket = new Socket("127.0.0.1", port);
        socket.setSoTimeout(60_000);
        socket.setTcpNoDelay(true);
        in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 1 << 16));
        out = new DataOutputStream(socket.getOutputStream());
        in.readFully(new byte[12]);
        out.write("RFB 003.008\n".getBytes(StandardCharsets.US_ASCII));
        byte[] types = new byte[in.readUnsignedByte()];
        in.readFully(types);
        if (types.length == 0 || types[0] != 1) {
            throw new IOException("the server wants security types " + java.util.Arrays.toString(types) + ", not None");
        }
        out.write(1);
        if (in.readInt() != 0) {
            throw new IOException("security handshake failed");
        }
        out.write(1); // shared
        width = in.readUnsignedShort();
        height = in.readUnsignedShort();
        in.readFully(new byte[16]);
        in.readFully(new byte[in.readInt()]);
        // SetPixelFormat: 32 bpp, depth 24, little endian, true colour, 8-bit channels at 16/8/0
        out.write(new byte[] {0, 0, 0, 0, 32, 24, 0, 1, 0, (byte) 255, 0, (byte) 255, 0, (byte) 255, 16, 8, 0, 0, 0, 0});
        int[] encodings = java.util.Arrays.copyOf(offered, offered.length + 1);
        encodings[offered.length] = DESKTOP_SIZE;
        out.write(2);
        out.write(0);
        out.writeShort(encodings.length);
        for (int e : encodings) {
            out.writeInt(e);
        }
        out.flush();
    }

    /** Reads the whole picture once (not counted), then keeps asking for incremental updates on a thread of its own. */
    void start() throws IOException {
        request(false);
        readUpdate();
        reset();
        reader = new Thread(() -> {
            try {
                while (!stop) {
                    request(true);
                    readUpdate();
                }
            } catch (Exception e) {
                if (!stop) {
                    failure = e;
                }
            }
        }, "rfb-bench-client");
        reader.setDaemon(true);
        reader.start();
    }

    void reset() {
        updates = bytes = rawRects = copyRects = zrleRects = otherRects = rawBytes = zrleBytes = 0;
    }

    /** The reader's error, if it stopped on one. */
    Exception failure() {
        return failure;
    }

    private void request(boolean incremental) throws IOException {
        out.write(3);
        out.write(incremental ? 1 : 0);
        out.writeShort(0);
        out.writeShort(0);
        out.writeShort(width);
        out.writeShort(height);
        out.flush();
    }

    /** Reads server messages until a FramebufferUpdate has been read whole. */
    private void readUpdate() throws IOException {
        while (true) {
            int type = in.readUnsignedByte();
            if (type == 2) {
                continue; // Bell
            }
            if (type == 3) { // ServerCutText
                in.readFully(new byte[3]);
                in.readFully(new byte[in.readInt()]);
                continue;
            }
            if (type != 0) {
                throw new IOException("unexpected server message " + type);
            }
            in.readUnsignedByte();
            int rects = in.readUnsignedShort();
            long raw = 0, copy = 0, zrle = 0, other = 0, rawB = 0, zrleB = 0;
            for (int i = 0; i < rects; i++) {
                in.readUnsignedShort();
                in.readUnsignedShort();
                int w = in.readUnsignedShort(), h = in.readUnsignedShort();
                int encoding = in.readInt();
                switch (encoding) {
                    case RAW -> {
                        in.skipNBytes(4L * w * h);
                        raw++;
                        rawB += 4L * w * h;
                    }
                    case COPY_RECT -> {
                        in.skipNBytes(4);
                        copy++;
                    }
                    case ZRLE -> {
                        int n = in.readInt();
                        in.skipNBytes(n);
                        zrle++;
                        zrleB += n;
                    }
                    case DESKTOP_SIZE -> {
                        width = w;
                        height = h;
                        other++;
                    }
                    default -> throw new IOException("unexpected encoding " + encoding);
                }
            }
            // the counters move together once the update is whole (the sampling thread reads them)
            rawRects += raw;
            copyRects += copy;
            zrleRects += zrle;
            otherRects += other;
            rawBytes += rawB;
            zrleBytes += zrleB;
            bytes += 4 + 12L * rects + rawB + zrleB + 4 * copy + 4 * zrle;
            if (rects > 0) {
                updates++;
            }
            return;
        }
    }

    @Override
    public void close() throws IOException {
        stop = true;
        socket.close();
    }
}
