package org.xenj.hvm.qemudm.internal.kbd;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Arrays;

/**
 * Every guest-visible bit of the {@link I8042} and its keyboard: status and command bytes, the
 * output port, half-done controller and keyboard commands, scanning and scan-code set, and the
 * bytes waiting in the output buffer with which port (keyboard or AUX) each came from. Versioned
 * bytes; {@link #fromBytes} refuses another version or a damaged record.
 */
public record I8042State(int status, int ctr, int outputPort, int pendingCommand, int pendingKbdCommand, boolean scanning,
        int scancodeSet, byte[] queue, boolean[] queueAux, int[] mouse) {

    /** "XJK1". */
    public static final int MAGIC = 0x584a4b31;
    /** Version 2 added the PS/2 mouse ({@code mouse} empty when read from version 1). */
    public static final int VERSION = 2;

    /** A record without a mouse (version 1's contents). */
    public I8042State(int status, int ctr, int outputPort, int pendingCommand, int pendingKbdCommand, boolean scanning,
            int scancodeSet, byte[] queue, boolean[] queueAux) {
        this(status, ctr, outputPort, pendingCommand, pendingKbdCommand, scanning, scancodeSet, queue, queueAux, new int[0]);
    }
    static final int QUEUE = 32;

    public I8042State {
        queue = queue.clone();
        queueAux = queueAux.clone();
        mouse = mouse.clone();
        if (mouse.length != 0 && mouse.length != Ps2Mouse.STATE_INTS) {
            throw new IllegalArgumentException("8042 state holds a bad mouse record");
        }
        if (queue.length != queueAux.length || queue.length > QUEUE) {
            throw new IllegalArgumentException("8042 state holds a bad output queue");
        }
    }

    @Override
    public byte[] queue() {
        return queue.clone();
    }

    @Override
    public boolean[] queueAux() {
        return queueAux.clone();
    }

    @Override
    public int[] mouse() {
        return mouse.clone();
    }

    public byte[] toBytes() {
        ByteArrayOutputStream b = new ByteArrayOutputStream(64);
        try (DataOutputStream out = new DataOutputStream(b)) {
            out.writeInt(MAGIC);
            out.writeInt(VERSION);
            for (int v : new int[] {status, ctr, outputPort, pendingCommand, pendingKbdCommand, scancodeSet}) {
                out.writeByte(v);
            }
            out.writeBoolean(scanning);
            out.writeByte(queue.length);
            for (int i = 0; i < queue.length; i++) {
                out.writeByte(queue[i]);
                out.writeBoolean(queueAux[i]);
            }
            out.writeByte(mouse.length);
            for (int v : mouse) {
                out.writeInt(v);
            }
        } catch (IOException e) {
            throw new IllegalStateException(e); // in-memory stream
        }
        return b.toByteArray();
    }

    public static I8042State fromBytes(byte[] bytes) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
        if (in.readInt() != MAGIC) {
            throw new IOException("not an 8042 state record");
        }
        int version = in.readInt();
        if (version != VERSION && version != 1) {
            throw new IOException("8042 state version " + version + " is not supported (this qemu-dm reads " + VERSION + ")");
        }
        int[] v = new int[6];
        for (int i = 0; i < v.length; i++) {
            v[i] = in.readUnsignedByte();
        }
        boolean scanning = in.readBoolean();
        int n = in.readUnsignedByte();
        if (n > QUEUE || v[5] > 3) {
            throw new IOException("8042 state record is damaged");
        }
        byte[] q = new byte[n];
        boolean[] aux = new boolean[n];
        for (int i = 0; i < n; i++) {
            q[i] = in.readByte();
            aux[i] = in.readBoolean();
        }
        int[] mouse = new int[0];
        if (version >= 2) {
            int m = in.readUnsignedByte();
            if (m != 0 && m != Ps2Mouse.STATE_INTS) {
                throw new IOException("8042 state record is damaged (mouse)");
            }
            mouse = new int[m];
            for (int i = 0; i < m; i++) {
                mouse[i] = in.readInt();
            }
        }
        if (in.read() != -1) {
            throw new IOException("8042 state record has trailing bytes");
        }
        return new I8042State(v[0], v[1], v[2], v[3], v[4], scanning, v[5], q, aux, mouse);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof I8042State s && Arrays.equals(toBytes(), s.toBytes());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(toBytes());
    }
}
