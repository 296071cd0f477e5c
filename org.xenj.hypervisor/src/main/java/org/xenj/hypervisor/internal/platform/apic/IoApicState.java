package org.xenj.hypervisor.internal.platform.apic;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInput;
import java.io.DataInputStream;
import java.io.DataOutput;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.util.Arrays;

/**
 * Every guest-visible bit of the {@link IoApic}: IOREGSEL, the ID, the 24 redirection entries
 * (with their remote-IRR bits: a level interrupt in flight to a local APIC) and the input pin
 * levels (what decides an edge and what is re-sent after an EOI). Versioned bytes;
 * {@link #fromBytes} refuses another version or a damaged record, the constructor any entry the
 * register model cannot hold.
 *
 * @param select      IOREGSEL
 * @param id          APIC ID (bits 24-27 of register 0)
 * @param redirection the 24 redirection-table entries
 * @param pinLevels   bit per pin: input asserted
 */
public record IoApicState(int select, int id, long[] redirection, int pinLevels) {

    /** "XJI1". */
    public static final int MAGIC = 0x584a4931;
    public static final int VERSION = 1;
    /** Entry bits 32-55 are reserved (always read 0) and delivery status is never pending here. */
    private static final long NEVER_SET = 0x00ffffff00000000L | IoApic.DELIVERY_STATUS;

    public IoApicState {
        redirection = redirection.clone();
        if (redirection.length != IoApic.PINS) {
            throw new IllegalArgumentException("I/O APIC state has " + redirection.length + " redirection entries");
        }
        if ((select & ~0xff) != 0 || (id & ~0xf) != 0 || (pinLevels & ~((1 << IoApic.PINS) - 1)) != 0) {
            throw new IllegalArgumentException("I/O APIC state: select, ID or pin levels out of range");
        }
        for (int pin = 0; pin < IoApic.PINS; pin++) {
            long e = redirection[pin];
            // Remote IRR exists only for level-triggered entries (an edge write clears it).
            if ((e & NEVER_SET) != 0 || (e & IoApic.REMOTE_IRR) != 0 && (e & IoApic.LEVEL) == 0) {
                throw new IllegalArgumentException("I/O APIC state: redirection entry " + pin + " is 0x" + Long.toHexString(e));
            }
        }
    }

    @Override
    public long[] redirection() {
        return redirection.clone();
    }

    public byte[] toBytes() {
        ByteArrayOutputStream b = new ByteArrayOutputStream(16 + 8 * IoApic.PINS);
        try (DataOutputStream out = new DataOutputStream(b)) {
            write(out);
        } catch (IOException e) {
            throw new IllegalStateException(e); // in-memory stream
        }
        return b.toByteArray();
    }

    public static IoApicState fromBytes(byte[] bytes) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
        IoApicState s;
        try {
            s = read(in);
        } catch (EOFException e) {
            throw new IOException("I/O APIC state record is too short (" + bytes.length + " bytes)", e);
        }
        if (in.read() != -1) {
            throw new IOException("I/O APIC state record has trailing bytes");
        }
        return s;
    }

    public void write(DataOutput out) throws IOException {
        out.writeInt(MAGIC);
        out.writeInt(VERSION);
        out.writeByte(select);
        out.writeByte(id);
        out.writeInt(pinLevels);
        for (long e : redirection) {
            out.writeLong(e);
        }
    }

    /** Reads one record (a stream may hold more after it); {@link IOException} for anything wrong. */
    public static IoApicState read(DataInput in) throws IOException {
        if (in.readInt() != MAGIC) {
            throw new IOException("not an I/O APIC state record");
        }
        int version = in.readInt();
        if (version != VERSION) {
            throw new IOException("I/O APIC state version " + version + " is not supported (this xenj reads " + VERSION + ")");
        }
        int select = in.readUnsignedByte();
        int id = in.readUnsignedByte();
        int levels = in.readInt();
        long[] entries = new long[IoApic.PINS];
        for (int i = 0; i < entries.length; i++) {
            entries[i] = in.readLong();
        }
        try {
            return new IoApicState(select, id, entries, levels);
        } catch (IllegalArgumentException e) {
            throw new IOException("I/O APIC state record is damaged: " + e.getMessage(), e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof IoApicState s && Arrays.equals(toBytes(), s.toBytes());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(toBytes());
    }
}
