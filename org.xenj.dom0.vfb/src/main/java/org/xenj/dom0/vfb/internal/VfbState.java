package org.xenj.dom0.vfb.internal;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.zip.CRC32C;

/**
 * Everything the vfb backend keeps of one domain's PV console, taken quiesced on its executor: per
 * device why a connection was refused (or null) and, while connected, what it mapped and bound —
 * vfb: the shared page's frame ({@code page-ref}), the frontend's event channel port, its ABI, whether
 * it sends update events, the backend's private {@code out_cons}, the layout shown now (after the
 * frontend's resizes) and the screen's counters; vkbd: the ring page (a grant or a frame), the port,
 * absolute or relative pointer, the backend's private {@code in_prod}, the buttons held, the last
 * pointer position (relative motion is computed from it) and the events waiting for room on the
 * ring. What a bundle update hands to the next vfb backend. Versioned bytes ({@code XJFB}, version,
 * body, CRC32C of everything before it); {@link #fromBytes} refuses another format, another version
 * or a damaged record with an {@link IOException} naming the problem, and the constructors refuse
 * what no vfb backend could hold (a layout {@link FbProtocol#layout} refuses, a port out of range, a
 * connected device with a refusal).
 */
record VfbState(Fb fb, Kbd kbd) {

    /** "XJFB". */
    static final int MAGIC = 0x584a4642;
    static final int VERSION = 1;
    static final int MAX_PORT = 1 << 17;
    static final int MAX_TEXT = 1024;

    VfbState {
        Objects.requireNonNull(fb, "vfb state: no vfb record");
        Objects.requireNonNull(kbd, "vfb state: no vkbd record");
    }

    /** The vfb device: refusal, connection (null while not connected), counters. */
    record Fb(String refused, FbConnection connection, long ringResets, long updatesTaken, long updatesClipped, long unknownEvents,
            long resizes, long resizesRefused, long readErrors) {

        Fb {
            checkRefusal("vfb", refused, connection != null);
            if ((ringResets | updatesTaken | updatesClipped | unknownEvents | resizes | resizesRefused | readErrors) < 0) {
                throw new IllegalArgumentException("vfb state: negative counter");
            }
        }
    }

    /**
     * A connected vfb.
     *
     * @param pageRef the shared page's frame number (fbif.h's {@code page-ref})
     * @param port    the frontend's event channel port
     * @param abi64   {@code pd[]} entries are 8 bytes (x86_64-abi) rather than 4
     * @param updates the frontend sends XENFB_TYPE_UPDATE ({@code feature-update})
     * @param outCons the backend's own {@code out_cons}
     * @param layout  the screen shown now: its {@code memLength} is the mapped framebuffer's
     */
    record FbConnection(long pageRef, int port, boolean abi64, boolean updates, int outCons, FbProtocol.Layout layout) {

        FbConnection {
            if (pageRef < 0 || pageRef > 0xffff_ffff_ffL) {
                throw new IllegalArgumentException("vfb state: page-ref " + pageRef);
            }
            checkPort("vfb", port);
            Objects.requireNonNull(layout, "vfb state: no layout");
            // the same checks a frontend's numbers pass, so a record holds nothing the backend would not show
            FbProtocol.layout(layout.width(), layout.height(), layout.stride(), layout.depth(), layout.offset(), layout.memLength());
        }
    }

    /** The vkbd device: refusal, connection (null while not connected), events sent and dropped. */
    record Kbd(String refused, KbdConnection connection, long sent, long dropped) {

        Kbd {
            checkRefusal("vkbd", refused, connection != null);
            if ((sent | dropped) < 0) {
                throw new IllegalArgumentException("vkbd state: negative counter");
            }
        }
    }

    /**
     * A connected vkbd.
     *
     * @param grant   the ring page is a grant ({@code page-gref}) rather than a frame ({@code page-ref})
     * @param ref     the grant reference or frame number
     * @param port    the frontend's event channel port
     * @param abs     the frontend asked for absolute pointer events
     * @param inProd  the backend's own {@code in_prod}
     * @param buttons the buttons held (bits 0-2: left, middle, right)
     * @param lastX   the last pointer position sent (-1: none yet)
     * @param backlog events waiting for room on the ring, oldest first, 40 bytes each
     */
    record KbdConnection(boolean grant, long ref, int port, boolean abs, int inProd, int buttons, int lastX, int lastY,
            List<byte[]> backlog) {

        KbdConnection {
            if (ref < 0 || ref > (grant ? Integer.MAX_VALUE : 0xffff_ffff_ffL)) {
                throw new IllegalArgumentException("vkbd state: " + (grant ? "grant " : "frame ") + ref);
            }
            checkPort("vkbd", port);
            if ((buttons & ~7) != 0 || lastX < -1 || lastY < -1 || lastX > PvConsole.WIDTH || lastY > PvConsole.HEIGHT
                    || (lastX < 0) != (lastY < 0)) {
                throw new IllegalArgumentException("vkbd state: buttons 0x" + Integer.toHexString(buttons) + ", pointer at " + lastX
                        + "," + lastY);
            }
            if (backlog == null || backlog.size() > KbdDevice.BACKLOG
                    || backlog.stream().anyMatch(e -> e == null || e.length != FbProtocol.EVENT_SIZE)) {
                throw new IllegalArgumentException("vkbd state: a backlog of " + (backlog == null ? "no" : backlog.size())
                        + " events, or one not of " + FbProtocol.EVENT_SIZE + " bytes");
            }
            backlog = backlog.stream().map(byte[]::clone).toList();
        }
    }

    private static void checkRefusal(String dev, String refused, boolean connected) {
        if (refused != null && (connected || refused.length() > MAX_TEXT)) {
            throw new IllegalArgumentException(dev + " state: " + (connected ? "connected and refused at once" : "reason too long"));
        }
    }

    private static void checkPort(String dev, int port) {
        if (port <= 0 || port >= MAX_PORT) {
            throw new IllegalArgumentException(dev + " state: event channel port " + port);
        }
    }

    byte[] toBytes() {
        ByteArrayOutputStream b = new ByteArrayOutputStream(256);
        try (DataOutputStream out = new DataOutputStream(b)) {
            out.writeInt(MAGIC);
            out.writeInt(VERSION);
            writeFb(out);
            writeKbd(out);
        } catch (IOException e) {
            throw new IllegalStateException(e); // in-memory stream
        }
        CRC32C crc = new CRC32C();
        crc.update(b.toByteArray());
        int c = (int) crc.getValue();
        b.write(c >>> 24);
        b.write(c >>> 16);
        b.write(c >>> 8);
        b.write(c);
        return b.toByteArray();
    }

    private void writeFb(DataOutputStream out) throws IOException {
        FbConnection c = fb.connection;
        out.writeByte((fb.refused != null ? 1 : 0) | (c != null ? 2 : 0) | (c != null && c.abi64 ? 4 : 0) | (c != null && c.updates ? 8 : 0));
        if (fb.refused != null) {
            out.writeUTF(fb.refused);
        }
        for (long x : new long[] {fb.ringResets, fb.updatesTaken, fb.updatesClipped, fb.unknownEvents, fb.resizes, fb.resizesRefused,
            fb.readErrors}) {
            out.writeLong(x);
        }
        if (c != null) {
            FbProtocol.Layout l = c.layout;
            out.writeLong(c.pageRef);
            out.writeInt(c.port);
            out.writeInt(c.outCons);
            for (int x : new int[] {l.width(), l.height(), l.stride(), l.depth(), l.offset(), l.memLength()}) {
                out.writeInt(x);
            }
        }
    }

    private void writeKbd(DataOutputStream out) throws IOException {
        KbdConnection c = kbd.connection;
        out.writeByte((kbd.refused != null ? 1 : 0) | (c != null ? 2 : 0) | (c != null && c.grant ? 4 : 0) | (c != null && c.abs ? 8 : 0));
        if (kbd.refused != null) {
            out.writeUTF(kbd.refused);
        }
        out.writeLong(kbd.sent);
        out.writeLong(kbd.dropped);
        if (c != null) {
            out.writeLong(c.ref);
            out.writeInt(c.port);
            out.writeInt(c.inProd);
            out.writeByte(c.buttons);
            out.writeInt(c.lastX);
            out.writeInt(c.lastY);
            out.writeShort(c.backlog.size());
            for (byte[] e : c.backlog) {
                out.write(e);
            }
        }
    }

    /** The record in {@code bytes}; {@link IOException} saying what is wrong (format, version, damage). */
    static VfbState fromBytes(byte[] bytes) throws IOException {
        if (bytes == null || bytes.length < 12) {
            throw new IOException("vfb state record is too short (" + (bytes == null ? "no" : bytes.length) + " bytes)");
        }
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes, 0, bytes.length - 4));
        if (in.readInt() != MAGIC) {
            throw new IOException("not a vfb state record");
        }
        int version = in.readInt();
        if (version != VERSION) {
            throw new IOException("vfb state version " + version + " is not supported (this vfb backend reads " + VERSION + ")");
        }
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, bytes.length - 4);
        int stored = (bytes[bytes.length - 4] & 0xff) << 24 | (bytes[bytes.length - 3] & 0xff) << 16 | (bytes[bytes.length - 2] & 0xff) << 8
                | bytes[bytes.length - 1] & 0xff;
        if ((int) crc.getValue() != stored) {
            throw new IOException("vfb state record is damaged: checksum mismatch");
        }
        try {
            VfbState s = new VfbState(readFb(in), readKbd(in));
            if (in.read() != -1) {
                throw new IOException("vfb state record is damaged: trailing bytes");
            }
            return s;
        } catch (EOFException e) {
            throw new IOException("vfb state record is damaged: too short (" + bytes.length + " bytes)", e);
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new IOException("vfb state record is damaged: " + e.getMessage(), e);
        }
    }

    private static Fb readFb(DataInputStream in) throws IOException {
        int flags = in.readUnsignedByte();
        if ((flags & ~0xf) != 0 || (flags & 2) == 0 && (flags & 0xc) != 0) {
            throw new IOException("vfb state record is damaged: vfb flag bits 0x" + Integer.toHexString(flags));
        }
        String refused = (flags & 1) != 0 ? in.readUTF() : null;
        long[] n = new long[7];
        for (int i = 0; i < n.length; i++) {
            n[i] = in.readLong();
        }
        FbConnection c = null;
        if ((flags & 2) != 0) {
            long pageRef = in.readLong();
            int port = in.readInt(), outCons = in.readInt();
            int w = in.readInt(), h = in.readInt(), stride = in.readInt(), depth = in.readInt(), offset = in.readInt(), mem = in.readInt();
            c = new FbConnection(pageRef, port, (flags & 4) != 0, (flags & 8) != 0, outCons,
                    FbProtocol.layout(w, h, stride, depth, offset, mem));
        }
        return new Fb(refused, c, n[0], n[1], n[2], n[3], n[4], n[5], n[6]);
    }

    private static Kbd readKbd(DataInputStream in) throws IOException {
        int flags = in.readUnsignedByte();
        if ((flags & ~0xf) != 0 || (flags & 2) == 0 && (flags & 0xc) != 0) {
            throw new IOException("vfb state record is damaged: vkbd flag bits 0x" + Integer.toHexString(flags));
        }
        String refused = (flags & 1) != 0 ? in.readUTF() : null;
        long sent = in.readLong(), dropped = in.readLong();
        KbdConnection c = null;
        if ((flags & 2) != 0) {
            long ref = in.readLong();
            int port = in.readInt(), inProd = in.readInt(), buttons = in.readUnsignedByte(), lastX = in.readInt(), lastY = in.readInt();
            int events = in.readUnsignedShort();
            if (events > KbdDevice.BACKLOG) {
                throw new IOException("vfb state record is damaged: " + events + " waiting vkbd events");
            }
            List<byte[]> backlog = new ArrayList<>(events);
            for (int i = 0; i < events; i++) {
                byte[] e = new byte[FbProtocol.EVENT_SIZE];
                in.readFully(e);
                backlog.add(e);
            }
            c = new KbdConnection((flags & 4) != 0, ref, port, (flags & 8) != 0, inProd, buttons, lastX, lastY, backlog);
        }
        return new Kbd(refused, c, sent, dropped);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof VfbState s && java.util.Arrays.equals(toBytes(), s.toBytes());
    }

    @Override
    public int hashCode() {
        return java.util.Arrays.hashCode(toBytes());
    }
}
