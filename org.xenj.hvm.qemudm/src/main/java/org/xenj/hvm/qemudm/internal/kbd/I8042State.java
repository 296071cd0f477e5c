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
        int scancodeSet, byte[] queue, boolean[] queueAux) {

    /** "XJK1". */
    public static final int MAGIC = 0x584a4b31;
    public static final int VERSION = 1;
    static final int QUEUE = 32;

    public I8042State {
        queue = queue.clone();
        queueAux = queueAux.clone();
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
        if (version != VERSION) {
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
        if (in.read() != -1) {
            throw new IOException("8042 state record has trailing bytes");
        }
        return new I8042State(v[0], v[1], v[2], v[3], v[4], scanning, v[5], q, aux);
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
