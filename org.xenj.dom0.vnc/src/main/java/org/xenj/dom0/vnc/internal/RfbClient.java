package org.xenj.dom0.vnc.internal;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;

/**
 * One VNC client: the RFB 3.3/3.7/3.8 handshake (None or VNC authentication), then its messages
 * on its own reader thread, with updates written by its own writer thread so a client that stops
 * reading blocks only itself ({@link DisplayHost} drops it when a write stalls). Anything malformed —
 * an unknown message type, a bad pixel format, an absurd length — ends the connection with a log
 * line; nothing a client sends reaches the guest but key and pointer events.
 */
final class RfbClient {

    static final int MAX_ENCODINGS = 1024;
    static final int MAX_CUT_TEXT = 1 << 20;

    private final DisplayHost host;
    private final Socket socket;
    final String peer;
    private final Object writeLock = new Object();
    private volatile boolean closed;
    /** Set while a write is in progress: when it started (System.nanoTime), or 0. */
    volatile long writeStarted;
    /** Guarded by the host's display thread once running. */
    final RfbEncoder encoder;
    /** An update request waiting for an answer: {x, y, w, h, incremental}; null when none. */
    volatile int[] request;
    /** Damage this client has not been sent yet, as tiles (display thread only). */
    DamageMap damage;
    /** Whether an update is being written (the display thread does not encode another meanwhile). */
    volatile boolean busy;
    /**
     * Set by the reader, applied by the display thread before it next encodes for this client: a
     * request read after them is therefore always answered in the new format and encodings.
     */
    volatile PixelFormat pendingFormat;
    volatile int[] pendingEncodings;
    private boolean shiftDown;
    private boolean syntheticShift;
    long updatesSent, bytesSent;

    RfbClient(DisplayHost host, Socket socket, int width, int height) {
        this.host = host;
        this.socket = socket;
        this.peer = String.valueOf(socket.getRemoteSocketAddress());
        this.encoder = new RfbEncoder(width, height);
    }

    /** Handshake and message loop; returns when the client is gone. */
    void run() {
        try {
            socket.setTcpNoDelay(true);
            DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 8192));
            OutputStream out = socket.getOutputStream();
            if (!handshake(in, out)) {
                return;
            }
            host.clientReady(this);
            loop(in);
        } catch (EOFException e) {
            // the client went away
        } catch (IOException e) {
            if (!closed) {
                host.log("VNC client " + peer + ": " + e.getMessage());
            }
        } catch (ProtocolException e) {
            host.log("VNC client " + peer + " dropped: " + e.getMessage());
        } catch (RuntimeException e) {
            host.log("VNC client " + peer + " dropped after an internal error: " + e);
            host.internalErrors.incrementAndGet();
        } finally {
            close();
            host.clientGone(this);
        }
    }

    static final class ProtocolException extends Exception {
        private static final long serialVersionUID = 1L;

        ProtocolException(String m) {
            super(m);
        }
    }

    private boolean handshake(DataInputStream in, OutputStream out) throws IOException, ProtocolException {
        send(out, "RFB 003.008\n".getBytes(StandardCharsets.US_ASCII));
        byte[] v = new byte[12];
        in.readFully(v);
        String version = new String(v, StandardCharsets.US_ASCII);
        if (!version.matches("RFB \\d{3}\\.\\d{3}\n")) {
            throw new ProtocolException("not an RFB client (version string " + printable(v) + ")");
        }
        int minor = Integer.parseInt(version.substring(8, 11));
        int major = Integer.parseInt(version.substring(4, 7));
        if (major != 3) {
            throw new ProtocolException("RFB version " + version.trim() + " (3.x only)");
        }
        minor = minor >= 8 ? 8 : minor >= 7 ? 7 : 3;
        String refusal = host.admit(this);
        String password = host.settings().password();
        int type = password == null ? 1 : 2;
        if (minor == 3) {
            if (refusal != null) {
                send(out, u32(0), reason(refusal));
                return false;
            }
            send(out, u32(type));
        } else {
            if (refusal != null) {
                send(out, new byte[] { 0 }, reason(refusal));
                return false;
            }
            send(out, new byte[] { 1, (byte) type });
            int chosen = in.readUnsignedByte();
            if (chosen != type) {
                throw new ProtocolException("chose security type " + chosen + ", offered " + type);
            }
        }
        if (type == 2) {
            byte[] challenge = new byte[16];
            new SecureRandom().nextBytes(challenge);
            send(out, challenge);
            byte[] answer = new byte[16];
            in.readFully(answer);
            if (!VncAuth.check(password, challenge, answer)) {
                send(out, u32(1), minor == 8 ? reason("authentication failed") : new byte[0]);
                host.log("VNC client " + peer + ": wrong password, dropped");
                return false;
            }
            send(out, u32(0));
        } else if (minor == 8) {
            send(out, u32(0));
        }
        boolean shared = in.readUnsignedByte() != 0;
        if (!shared && !host.settings().shared() && host.otherClients(this)) {
            return false; // refused by admit() already in all but a race; belt and braces
        }
        java.io.ByteArrayOutputStream init = new java.io.ByteArrayOutputStream();
        java.io.DataOutputStream d = new java.io.DataOutputStream(init);
        d.writeShort(encoder.clientWidth);
        d.writeShort(encoder.clientHeight);
        PixelFormat.DEFAULT.write(d);
        byte[] name = host.desktopName().getBytes(StandardCharsets.UTF_8);
        d.writeInt(name.length);
        d.write(name);
        send(out, init.toByteArray());
        return true;
    }

    private static String printable(byte[] b) {
        StringBuilder s = new StringBuilder();
        for (byte x : b) {
            s.append(x >= 32 && x < 127 ? (char) x : '.');
        }
        return "\"" + s + "\"";
    }

    private static byte[] u32(int v) {
        return new byte[] { (byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v };
    }

    private static byte[] reason(String r) {
        byte[] t = r.getBytes(StandardCharsets.UTF_8);
        byte[] m = new byte[4 + t.length];
        System.arraycopy(u32(t.length), 0, m, 0, 4);
        System.arraycopy(t, 0, m, 4, t.length);
        return m;
    }

    private void send(OutputStream out, byte[]... parts) throws IOException {
        synchronized (writeLock) {
            writeStarted = System.nanoTime();
            try {
                for (byte[] p : parts) {
                    out.write(p);
                }
                out.flush();
            } finally {
                writeStarted = 0;
            }
        }
    }

    /** Writes one update (called by the host's writer executor for this client). */
    void write(byte[] update) {
        try {
            send(socket.getOutputStream(), update);
            updatesSent++;
            bytesSent += update.length;
        } catch (IOException e) {
            close();
        } finally {
            busy = false;
        }
    }

    private void loop(DataInputStream in) throws IOException, ProtocolException {
        while (!closed) {
            int type = in.readUnsignedByte();
            switch (type) {
                case 0 -> { // SetPixelFormat
                    in.readFully(new byte[3]);
                    PixelFormat f = PixelFormat.read(in);
                    String problem = f.problem();
                    if (problem != null) {
                        throw new ProtocolException("asked for " + problem);
                    }
                    pendingFormat = f;
                }
                case 2 -> { // SetEncodings
                    in.readUnsignedByte();
                    int n = in.readUnsignedShort();
                    if (n > MAX_ENCODINGS) {
                        throw new ProtocolException(n + " encodings (at most " + MAX_ENCODINGS + ")");
                    }
                    int[] list = new int[n];
                    for (int i = 0; i < n; i++) {
                        list[i] = in.readInt();
                    }
                    pendingEncodings = list;
                }
                case 3 -> { // FramebufferUpdateRequest: any rectangle is accepted and clipped to the screen
                    int incremental = in.readUnsignedByte();
                    int x = in.readUnsignedShort(), y = in.readUnsignedShort();
                    int w = in.readUnsignedShort(), h = in.readUnsignedShort();
                    request = new int[] { x, y, w, h, incremental };
                    host.wake();
                }
                case 4 -> { // KeyEvent
                    boolean down = in.readUnsignedByte() != 0;
                    in.readUnsignedShort();
                    key(in.readInt(), down);
                }
                case 5 -> { // PointerEvent
                    int buttons = in.readUnsignedByte();
                    int x = in.readUnsignedShort(), y = in.readUnsignedShort();
                    host.pointer(x, y, buttons);
                }
                case 6 -> { // ClientCutText: read and ignored (no clipboard in the guest)
                    in.readFully(new byte[3]);
                    int n = in.readInt();
                    if (n < 0 || n > MAX_CUT_TEXT) {
                        throw new ProtocolException("cut text of " + (n & 0xffffffffL) + " bytes");
                    }
                    in.skipNBytes(n);
                }
                default -> throw new ProtocolException("unknown message type " + type);
            }
        }
    }

    /** A keysym to key codes; Shift is pressed around characters that need it when the client did not. */
    private void key(int keysym, boolean down) {
        if (Keysyms.isShift(keysym)) {
            shiftDown = down;
        }
        int code = Keysyms.code(keysym);
        if (code < 0) {
            return;
        }
        boolean wantShift = Keysyms.needsShift(keysym);
        if (down && wantShift && !shiftDown && !syntheticShift) {
            host.key(Keysyms.KEY_LEFTSHIFT, true);
            syntheticShift = true;
        }
        host.key(code, down);
        if (!down && syntheticShift) {
            host.key(Keysyms.KEY_LEFTSHIFT, false);
            syntheticShift = false;
        }
    }

    boolean closed() {
        return closed;
    }

    void close() {
        closed = true;
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing
        }
    }
}
