package org.xenj.dom0.vnc.internal;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.zip.Inflater;

/** A minimal RFB client for the tests: handshake, requests, and decoding Raw, CopyRect, ZRLE, DesktopSize. */
final class RfbTestClient implements AutoCloseable {

    final Socket socket;
    final DataInputStream in;
    final DataOutputStream out;
    int width, height;
    int[] screen;
    String name;
    private final Inflater inflater = new Inflater();
    int rawRects, zrleRects, copyRects, resizes;
    long bytes;

    RfbTestClient(int port) throws IOException {
        socket = new Socket("127.0.0.1", port);
        socket.setSoTimeout(20_000);
        in = new DataInputStream(new java.io.BufferedInputStream(socket.getInputStream(), 65536));
        out = new DataOutputStream(socket.getOutputStream());
    }

    /** Handshake at {@code version} (3 or 8) with {@code password} (null for none). Returns the refusal reason, or null. */
    String handshake(int version, String password, boolean shared) throws IOException {
        byte[] v = new byte[12];
        in.readFully(v);
        if (!new String(v, StandardCharsets.US_ASCII).equals("RFB 003.008\n")) {
            throw new IOException("server version " + new String(v, StandardCharsets.US_ASCII));
        }
        out.write(String.format("RFB 003.%03d\n", version).getBytes(StandardCharsets.US_ASCII));
        int type;
        if (version == 3) {
            type = in.readInt();
            if (type == 0) {
                return reason();
            }
        } else {
            int n = in.readUnsignedByte();
            if (n == 0) {
                return reason();
            }
            type = in.readUnsignedByte();
            out.write(type);
        }
        if (type == 2) {
            byte[] challenge = new byte[16];
            in.readFully(challenge);
            out.write(VncAuth.response(password == null ? "" : password, challenge));
            int result = in.readInt();
            if (result != 0) {
                return version == 8 ? reason() : "failed";
            }
        } else if (version == 8) {
            if (in.readInt() != 0) {
                return reason();
            }
        }
        out.write(shared ? 1 : 0);
        width = in.readUnsignedShort();
        height = in.readUnsignedShort();
        in.readFully(new byte[16]);
        byte[] n = new byte[in.readInt()];
        in.readFully(n);
        name = new String(n, StandardCharsets.UTF_8);
        screen = new int[width * height];
        return null;
    }

    private String reason() throws IOException {
        byte[] r = new byte[in.readInt()];
        in.readFully(r);
        return new String(r, StandardCharsets.UTF_8);
    }

    void setEncodings(int... e) throws IOException {
        out.write(2);
        out.write(0);
        out.writeShort(e.length);
        for (int x : e) {
            out.writeInt(x);
        }
    }

    void request(boolean incremental, int x, int y, int w, int h) throws IOException {
        out.write(3);
        out.write(incremental ? 1 : 0);
        out.writeShort(x);
        out.writeShort(y);
        out.writeShort(w);
        out.writeShort(h);
    }

    void key(int keysym, boolean down) throws IOException {
        out.write(4);
        out.write(down ? 1 : 0);
        out.writeShort(0);
        out.writeInt(keysym);
    }

    void pointer(int buttons, int x, int y) throws IOException {
        out.write(5);
        out.write(buttons);
        out.writeShort(x);
        out.writeShort(y);
    }

    /** Reads one FramebufferUpdate into {@link #screen} (32 bpp default format). */
    void readUpdate() throws IOException {
        int type = in.readUnsignedByte();
        if (type != 0) {
            throw new IOException("message type " + type);
        }
        in.readUnsignedByte();
        int n = in.readUnsignedShort();
        for (int i = 0; i < n; i++) {
            int x = in.readUnsignedShort(), y = in.readUnsignedShort(), w = in.readUnsignedShort(), h = in.readUnsignedShort();
            int enc = in.readInt();
            switch (enc) {
                case 0 -> {
                    for (int yy = 0; yy < h; yy++) {
                        for (int xx = 0; xx < w; xx++) {
                            screen[(y + yy) * width + x + xx] = Integer.reverseBytes(in.readInt()) & 0xffffff;
                        }
                    }
                    rawRects++;
                    bytes += 4L * w * h;
                }
                case 1 -> {
                    int sx = in.readUnsignedShort(), sy = in.readUnsignedShort();
                    int[] copy = screen.clone();
                    for (int yy = 0; yy < h; yy++) {
                        System.arraycopy(copy, (sy + yy) * width + sx, screen, (y + yy) * width + x, w);
                    }
                    copyRects++;
                }
                case 16 -> zrle(x, y, w, h);
                case -223 -> {
                    width = w;
                    height = h;
                    screen = new int[w * h];
                    resizes++;
                }
                default -> throw new IOException("encoding " + enc);
            }
        }
    }

    private void zrle(int x, int y, int w, int h) throws IOException {
        byte[] z = new byte[in.readInt()];
        in.readFully(z);
        bytes += z.length;
        inflater.setInput(z);
        java.io.ByteArrayOutputStream o = new java.io.ByteArrayOutputStream();
        byte[] buf = new byte[65536];
        try {
            int k;
            while ((k = inflater.inflate(buf)) > 0) {
                o.write(buf, 0, k);
            }
        } catch (java.util.zip.DataFormatException e) {
            throw new IOException(e);
        }
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(o.toByteArray());
        for (int ty = y; ty < y + h; ty += 64) {
            int th = Math.min(64, y + h - ty);
            for (int tx = x; tx < x + w; tx += 64) {
                int tw = Math.min(64, x + w - tx);
                int sub = b.get() & 0xff;
                if (sub == 0) {
                    for (int i = 0; i < tw * th; i++) {
                        screen[(ty + i / tw) * width + tx + i % tw] = cpixel(b);
                    }
                } else if (sub == 1) {
                    int c = cpixel(b);
                    for (int i = 0; i < tw * th; i++) {
                        screen[(ty + i / tw) * width + tx + i % tw] = c;
                    }
                } else if (sub <= 16) {
                    int[] pal = new int[sub];
                    for (int i = 0; i < sub; i++) {
                        pal[i] = cpixel(b);
                    }
                    int bits = sub == 2 ? 1 : sub <= 4 ? 2 : 4;
                    for (int yy = 0; yy < th; yy++) {
                        int acc = 0, left = 0;
                        for (int xx = 0; xx < tw; xx++) {
                            if (left == 0) {
                                acc = b.get() & 0xff;
                                left = 8;
                            }
                            left -= bits;
                            screen[(ty + yy) * width + tx + xx] = pal[(acc >> left) & ((1 << bits) - 1)];
                        }
                    }
                } else {
                    throw new IOException("ZRLE subencoding " + sub + " not expected from this server");
                }
            }
        }
        zrleRects++;
    }

    private static int cpixel(java.nio.ByteBuffer b) {
        return (b.get() & 0xff) | (b.get() & 0xff) << 8 | (b.get() & 0xff) << 16;
    }

    @Override
    public void close() throws IOException {
        socket.close();
        inflater.end();
    }
}
