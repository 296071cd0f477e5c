package org.xenj.hypervisor.internal.platform.rtc;

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
 * Every guest-visible bit of the {@link Mc146818Rtc}: the 128 CMOS bytes (time registers as last
 * latched, alarms, registers A-D, the PC's configuration bytes), the index register, the guest's
 * time (epoch seconds at a second boundary and how long ago that boundary was, in ns of the
 * domain's clock — never a host instant: a restore happens at another instant), which second and
 * which periodic-interrupt period the flags were last brought up to, and the IRQ8 line. Versioned
 * bytes; {@link #fromBytes} refuses another version or a damaged record, the constructor any
 * value the device could not hold.
 *
 * @param cmos            the 128 bytes of registers and CMOS RAM
 * @param index           port 0x70's register index
 * @param baseSeconds     Unix seconds at the base second boundary
 * @param sinceBaseNanos  ns of the domain's clock since that boundary
 * @param lastSecondSeen  seconds since the base up to which update/alarm flags were raised
 * @param lastPeriodSeen  periods (at register A's rate) since the base up to which the PF flag was raised
 * @param irqLineHigh     IRQ8 is asserted (until register C is read; it may outlive IRQF when the guest
 *                        clears an enable bit, as the device model does)
 */
public record RtcState(byte[] cmos, int index, long baseSeconds, long sinceBaseNanos, long lastSecondSeen, long lastPeriodSeen,
        boolean irqLineHigh) {

    /** "XJR1". */
    public static final int MAGIC = 0x584a5231;
    public static final int VERSION = 1;
    /** 2^62 ns (146 years) of guest time since the base second: far from overflow in every index computed from it. */
    public static final long MAX_SINCE_BASE_NANOS = 1L << 62;
    /** 0000-01-01 and 30000-01-01 UTC: a guest writing BCD garbage reaches year 25755 at most. */
    static final long MIN_SECONDS = -62_167_219_200L, MAX_SECONDS = 884_541_340_800L;
    private static final long NS_PER_S = 1_000_000_000L;

    public RtcState {
        cmos = cmos.clone();
        if (cmos.length != 128 || (index & ~0x7f) != 0) {
            throw new IllegalArgumentException("RTC state: " + cmos.length + " CMOS bytes, index " + index);
        }
        int a = cmos[Mc146818Rtc.REG_A] & 0xff, b = cmos[Mc146818Rtc.REG_B] & 0xff, c = cmos[Mc146818Rtc.REG_C] & 0xff;
        // UIP is computed, never stored; register C holds only flags; D is the constant "valid RAM and time";
        // SET clears UIE.
        if ((a & Mc146818Rtc.A_UIP) != 0 || (c & 0x0f) != 0 || (cmos[Mc146818Rtc.REG_D] & 0xff) != 0x80
                || (b & Mc146818Rtc.B_SET) != 0 && (b & Mc146818Rtc.B_UIE) != 0) {
            throw new IllegalArgumentException(String.format("RTC state: registers A-D %02x %02x %02x %02x", a, b, c,
                    cmos[Mc146818Rtc.REG_D] & 0xff));
        }
        if (baseSeconds < MIN_SECONDS || baseSeconds > MAX_SECONDS || sinceBaseNanos < 0 || sinceBaseNanos > MAX_SINCE_BASE_NANOS) {
            throw new IllegalArgumentException("RTC state: time " + baseSeconds + " s + " + sinceBaseNanos + " ns");
        }
        if (lastSecondSeen < 0 || lastSecondSeen > sinceBaseNanos / NS_PER_S) {
            throw new IllegalArgumentException("RTC state: update flags raised up to second " + lastSecondSeen);
        }
        long period = Mc146818Rtc.periodNanos(a & 0x0f);
        if (lastPeriodSeen < 0 || lastPeriodSeen > (period == 0 ? 0 : sinceBaseNanos / period)) {
            throw new IllegalArgumentException("RTC state: periodic flag raised up to period " + lastPeriodSeen);
        }
    }

    @Override
    public byte[] cmos() {
        return cmos.clone();
    }

    public byte[] toBytes() {
        ByteArrayOutputStream b = new ByteArrayOutputStream(180);
        try (DataOutputStream out = new DataOutputStream(b)) {
            write(out);
        } catch (IOException e) {
            throw new IllegalStateException(e); // in-memory stream
        }
        return b.toByteArray();
    }

    public static RtcState fromBytes(byte[] bytes) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
        RtcState s;
        try {
            s = read(in);
        } catch (EOFException e) {
            throw new IOException("RTC state record is too short (" + bytes.length + " bytes)", e);
        }
        if (in.read() != -1) {
            throw new IOException("RTC state record has trailing bytes");
        }
        return s;
    }

    public void write(DataOutput out) throws IOException {
        out.writeInt(MAGIC);
        out.writeInt(VERSION);
        out.write(cmos);
        out.writeByte(index);
        out.writeLong(baseSeconds);
        out.writeLong(sinceBaseNanos);
        out.writeLong(lastSecondSeen);
        out.writeLong(lastPeriodSeen);
        out.writeBoolean(irqLineHigh);
    }

    /** Reads one record (a stream may hold more after it); {@link IOException} for anything wrong. */
    public static RtcState read(DataInput in) throws IOException {
        if (in.readInt() != MAGIC) {
            throw new IOException("not an RTC state record");
        }
        int version = in.readInt();
        if (version != VERSION) {
            throw new IOException("RTC state version " + version + " is not supported (this xenj reads " + VERSION + ")");
        }
        byte[] cmos = new byte[128];
        in.readFully(cmos);
        int index = in.readUnsignedByte();
        long baseSeconds = in.readLong(), since = in.readLong(), second = in.readLong(), period = in.readLong();
        int line = in.readUnsignedByte();
        if (line > 1) {
            throw new IOException("RTC state record is damaged (IRQ8 level " + line + ")");
        }
        try {
            return new RtcState(cmos, index, baseSeconds, since, second, period, line == 1);
        } catch (IllegalArgumentException e) {
            throw new IOException("RTC state record is damaged: " + e.getMessage(), e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RtcState s && Arrays.equals(toBytes(), s.toBytes());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(toBytes());
    }
}
