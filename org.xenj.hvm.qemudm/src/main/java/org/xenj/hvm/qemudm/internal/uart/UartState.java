package org.xenj.hvm.qemudm.internal.uart;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Arrays;

/**
 * Every guest-visible bit of a {@link Uart16550}: its registers, the THRE interrupt latch, the
 * bytes in the receive FIFO and those typed but not yet in it — what a bundle update, save/restore
 * or migration must carry so that not one typed or pending byte is lost. Versioned bytes;
 * {@link #fromBytes} refuses another version or a damaged record.
 */
public record UartState(int ier, int lcr, int mcr, int lsrErrors, int msr, int scr, int dll, int dlm, boolean fifoEnabled,
        int triggerLevel, boolean thrInterrupt, byte[] rx, byte[] backlog) {

    /** "XJU1". */
    public static final int MAGIC = 0x584a5531;
    public static final int VERSION = 1;

    public UartState {
        rx = rx.clone();
        backlog = backlog.clone();
        if (rx.length > Uart16550.FIFO_SIZE || backlog.length > Uart16550.BACKLOG) {
            throw new IllegalArgumentException("UART state holds more bytes than the device can");
        }
    }

    @Override
    public byte[] rx() {
        return rx.clone();
    }

    @Override
    public byte[] backlog() {
        return backlog.clone();
    }

    public byte[] toBytes() {
        ByteArrayOutputStream b = new ByteArrayOutputStream(64 + rx.length + backlog.length);
        try (DataOutputStream out = new DataOutputStream(b)) {
            out.writeInt(MAGIC);
            out.writeInt(VERSION);
            for (int v : new int[] {ier, lcr, mcr, lsrErrors, msr, scr, dll, dlm, triggerLevel}) {
                out.writeByte(v);
            }
            out.writeByte((fifoEnabled ? 1 : 0) | (thrInterrupt ? 2 : 0));
            out.writeByte(rx.length);
            out.write(rx);
            out.writeInt(backlog.length);
            out.write(backlog);
        } catch (IOException e) {
            throw new IllegalStateException(e); // in-memory stream
        }
        return b.toByteArray();
    }

    public static UartState fromBytes(byte[] bytes) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
        if (in.readInt() != MAGIC) {
            throw new IOException("not a 16550 UART state record");
        }
        int version = in.readInt();
        if (version != VERSION) {
            throw new IOException("UART state version " + version + " is not supported (this qemu-dm reads " + VERSION + ")");
        }
        int[] v = new int[9];
        for (int i = 0; i < v.length; i++) {
            v[i] = in.readUnsignedByte();
        }
        int bits = in.readUnsignedByte();
        int rxLen = in.readUnsignedByte();
        if (rxLen > Uart16550.FIFO_SIZE || (bits & ~3) != 0 || !Arrays.asList(1, 4, 8, 14).contains(v[8])) {
            throw new IOException("UART state record is damaged");
        }
        byte[] rx = in.readNBytes(rxLen);
        int backlogLen = in.readInt();
        if (backlogLen < 0 || backlogLen > Uart16550.BACKLOG) {
            throw new IOException("UART state record is damaged (backlog " + backlogLen + ")");
        }
        byte[] backlog = in.readNBytes(backlogLen);
        if (rx.length != rxLen || backlog.length != backlogLen || in.read() != -1) {
            throw new IOException("UART state record has the wrong length");
        }
        return new UartState(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], (bits & 1) != 0, v[8], (bits & 2) != 0, rx, backlog);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof UartState s && Arrays.equals(toBytes(), s.toBytes());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(toBytes());
    }
}
