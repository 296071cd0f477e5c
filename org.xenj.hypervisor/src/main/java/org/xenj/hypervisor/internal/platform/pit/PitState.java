package org.xenj.hypervisor.internal.platform.pit;

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
 * Every guest-visible bit of the {@link Pit8254}: per channel its programming, the count and
 * status latches and read/write flip-flops, the gate, the frozen count of a gated mode 0/4, and
 * where the count stands — as nanoseconds of the domain's clock since the count was (re)started,
 * never a host instant, because a restore happens at another instant. Port 0x61's writable bits.
 * Versioned bytes; {@link #fromBytes} refuses another version or a damaged record, and the
 * constructors refuse fields no device could hold (so a restored PIT never meets them).
 *
 * @param ch0   channel 0 (IRQ0)
 * @param ch1   channel 1 (DRAM refresh on a PC; free-running here)
 * @param ch2   channel 2 (gated by port 0x61 bit 0, OUT readable as bit 5)
 * @param portB port 0x61 bits 0-3 as written
 */
public record PitState(Channel ch0, Channel ch1, Channel ch2, int portB) {

    /** "XJT1". */
    public static final int MAGIC = 0x584a5431;
    public static final int VERSION = 1;
    /**
     * Longest time a count may have been running, 2^60 ns (36 years): keeps every deadline derived
     * from it ({@code loadTime + nanosFor(periods * reload)}) far from long overflow.
     */
    public static final long MAX_ELAPSED_NANOS = 1L << 60;
    private static final long MAX_TICKS = PitChannel.ticksAt(MAX_ELAPSED_NANOS);

    public PitState {
        if (ch0 == null || ch1 == null || ch2 == null) {
            throw new IllegalArgumentException("PIT state lacks a channel");
        }
        if ((portB & ~0x0f) != 0) {
            throw new IllegalArgumentException("PIT state: port 0x61 bits 0x" + Integer.toHexString(portB));
        }
        // Only channel 2 has a gate the guest drives (port 0x61 bit 0); only channel 0 signals IRQ0.
        if (!ch0.gate || !ch1.gate || ch2.gate != ((portB & 1) != 0)) {
            throw new IllegalArgumentException("PIT state: channel gates disagree with port 0x61");
        }
        if (ch1.signalledPeriods != 0 || ch2.signalledPeriods != 0) {
            throw new IllegalArgumentException("PIT state: only channel 0 signals interrupts");
        }
    }

    /**
     * One counter.
     *
     * @param mode             0..5 (6 and 7 are stored as 2 and 3)
     * @param access           1 LSB, 2 MSB, 3 LSB then MSB
     * @param bcd              counting in BCD
     * @param reload           1..0x10000 (a written 0 is 0x10000, or 10000 in BCD)
     * @param armed            a count was written since the last control word
     * @param nullCount        the status bit: a control word came, no count yet
     * @param elapsedNanos     armed and counting: ns since the count (re)started; else 0
     * @param gate             the GATE input
     * @param frozenTicks      mode 0/4 with the gate low: ticks counted before it fell; else -1
     * @param idleCount        the count shown while not armed
     * @param triggered        modes 1/5: a gate rising edge came since the count was written
     * @param signalledPeriods periods already signalled on IRQ0 (channel 0)
     * @param countLatched     a latched count waits to be read
     * @param latchedCount     the latched count (as read: BCD-encoded in BCD mode)
     * @param latchMsbNext     the latched count's LSB was read, its MSB comes next
     * @param statusLatched    a read-back status byte waits to be read
     * @param latchedStatus    that status byte
     * @param readMsbNext      word access: the next plain read returns the MSB
     * @param writeMsbNext     word access: the LSB was written, the MSB comes next
     * @param writtenLsb       that LSB
     */
    public record Channel(int mode, int access, boolean bcd, int reload, boolean armed, boolean nullCount, long elapsedNanos,
            boolean gate, long frozenTicks, int idleCount, boolean triggered, long signalledPeriods, boolean countLatched,
            int latchedCount, boolean latchMsbNext, boolean statusLatched, int latchedStatus, boolean readMsbNext,
            boolean writeMsbNext, int writtenLsb) {

        public Channel {
            if (mode < 0 || mode > 5 || access < 1 || access > 3 || reload < 1 || reload > 0x10000 || (idleCount & ~0xffff) != 0
                    || (latchedCount & ~0xffff) != 0 || (latchedStatus & ~0xff) != 0 || (writtenLsb & ~0xff) != 0) {
                throw new IllegalArgumentException("PIT channel state: a register is out of range (mode " + mode + ", access "
                        + access + ", reload " + reload + ")");
            }
            if (elapsedNanos < 0 || elapsedNanos > MAX_ELAPSED_NANOS || (!armed || frozenTicks >= 0) && elapsedNanos != 0) {
                throw new IllegalArgumentException("PIT channel state: count time " + elapsedNanos + " ns");
            }
            // Counting is suspended only in modes 0 and 4, and only while the gate is low.
            if (frozenTicks < -1 || frozenTicks > MAX_TICKS
                    || frozenTicks >= 0 && (!armed || gate || mode != 0 && mode != 4)) {
                throw new IllegalArgumentException("PIT channel state: frozen count " + frozenTicks);
            }
            long maxPeriods = !armed ? 0 : mode == 2 || mode == 3 ? PitChannel.ticksAt(elapsedNanos) / reload + 1 : 1;
            if (signalledPeriods < 0 || signalledPeriods > maxPeriods) {
                throw new IllegalArgumentException("PIT channel state: " + signalledPeriods + " periods signalled");
            }
        }

        void write(DataOutput out) throws IOException {
            out.writeByte(mode);
            out.writeByte(access);
            out.writeInt(reload);
            out.writeLong(elapsedNanos);
            out.writeLong(frozenTicks);
            out.writeShort(idleCount);
            out.writeLong(signalledPeriods);
            out.writeShort(latchedCount);
            out.writeByte(latchedStatus);
            out.writeByte(writtenLsb);
            out.writeShort(bits(bcd, armed, nullCount, gate, triggered, countLatched, latchMsbNext, statusLatched, readMsbNext,
                    writeMsbNext));
        }

        static Channel read(DataInput in) throws IOException {
            int mode = in.readUnsignedByte();
            int access = in.readUnsignedByte();
            int reload = in.readInt();
            long elapsed = in.readLong();
            long frozen = in.readLong();
            int idle = in.readUnsignedShort();
            long signalled = in.readLong();
            int latched = in.readUnsignedShort();
            int status = in.readUnsignedByte();
            int lsb = in.readUnsignedByte();
            int b = in.readUnsignedShort();
            if ((b & ~0x3ff) != 0) {
                throw new IOException("PIT channel state: unknown flag bits 0x" + Integer.toHexString(b));
            }
            try {
                return new Channel(mode, access, on(b, 0), reload, on(b, 1), on(b, 2), elapsed, on(b, 3), frozen, idle, on(b, 4),
                        signalled, on(b, 5), latched, on(b, 6), on(b, 7), status, on(b, 8), on(b, 9), lsb);
            } catch (IllegalArgumentException e) {
                throw new IOException("PIT state record is damaged: " + e.getMessage(), e);
            }
        }
    }

    public byte[] toBytes() {
        ByteArrayOutputStream b = new ByteArrayOutputStream(128);
        try (DataOutputStream out = new DataOutputStream(b)) {
            write(out);
        } catch (IOException e) {
            throw new IllegalStateException(e); // in-memory stream
        }
        return b.toByteArray();
    }

    public static PitState fromBytes(byte[] bytes) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
        PitState s;
        try {
            s = read(in);
        } catch (EOFException e) {
            throw new IOException("PIT state record is too short (" + bytes.length + " bytes)", e);
        }
        if (in.read() != -1) {
            throw new IOException("PIT state record has trailing bytes");
        }
        return s;
    }

    public void write(DataOutput out) throws IOException {
        out.writeInt(MAGIC);
        out.writeInt(VERSION);
        ch0.write(out);
        ch1.write(out);
        ch2.write(out);
        out.writeByte(portB);
    }

    /** Reads one record (a stream may hold more after it); {@link IOException} for anything wrong. */
    public static PitState read(DataInput in) throws IOException {
        if (in.readInt() != MAGIC) {
            throw new IOException("not a PIT state record");
        }
        int version = in.readInt();
        if (version != VERSION) {
            throw new IOException("PIT state version " + version + " is not supported (this xenj reads " + VERSION + ")");
        }
        Channel c0 = Channel.read(in), c1 = Channel.read(in), c2 = Channel.read(in);
        int portB = in.readUnsignedByte();
        try {
            return new PitState(c0, c1, c2, portB);
        } catch (IllegalArgumentException e) {
            throw new IOException("PIT state record is damaged: " + e.getMessage(), e);
        }
    }

    static int bits(boolean... flags) {
        int v = 0;
        for (int i = 0; i < flags.length; i++) {
            v |= flags[i] ? 1 << i : 0;
        }
        return v;
    }

    static boolean on(int bits, int i) {
        return (bits & 1 << i) != 0;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PitState s && Arrays.equals(toBytes(), s.toBytes());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(toBytes());
    }
}
