package org.xenj.hypervisor.internal.platform;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInput;
import java.io.DataInputStream;
import java.io.DataOutput;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.util.Arrays;

import org.xenj.hypervisor.internal.platform.apic.IoApicState;
import org.xenj.hypervisor.internal.platform.apic.LocalApicState;
import org.xenj.hypervisor.internal.platform.pic.PicState;
import org.xenj.hypervisor.internal.platform.pit.PitState;
import org.xenj.hypervisor.internal.platform.rtc.RtcState;

/**
 * The timers and interrupt controllers an HVM domain's platform keeps ({@link HvmPlatformImpl#saveState}):
 * the PIT, the PIC pair with its ELCR, the I/O APIC, one local APIC per vCPU and the RTC/CMOS, each
 * as its own versioned record (kept next to its device), framed by a versioned header. Times are
 * relative to the domain's clock at the instant of the save, so a restore at any other instant
 * carries on where the save left off. {@link #fromBytes} refuses another version or a damaged
 * record with the reason; which part is damaged shows in the message.
 *
 * @param pit    the 8254 and port 0x61
 * @param pic    the cascaded 8259 pair and ELCR
 * @param ioApic the I/O APIC
 * @param lapics the local APICs, by vCPU
 * @param rtc    the MC146818 RTC and CMOS
 * @param acpiPm the ACPI PM block (xl.cfg acpi=1), or null for a platform without one; version 1
 *               records (before the block existed) read as null
 */
public record PlatformState(PitState pit, PicState pic, IoApicState ioApic, LocalApicState[] lapics, RtcState rtc, AcpiPmState acpiPm) {

    /** "XJPF". */
    public static final int MAGIC = 0x584a5046;
    /** 2 adds the ACPI PM block (a presence byte, then its record); 1 is still read. */
    public static final int VERSION = 2;
    /** Local APIC IDs are 8 bits wide (0xff is broadcast). */
    public static final int MAX_VCPUS = 255;

    public PlatformState {
        if (pit == null || pic == null || ioApic == null || lapics == null || rtc == null) {
            throw new IllegalArgumentException("platform state lacks a device");
        }
        lapics = lapics.clone();
        if (lapics.length < 1 || lapics.length > MAX_VCPUS || Arrays.asList(lapics).contains(null)) {
            throw new IllegalArgumentException("platform state has " + lapics.length + " local APICs (or a missing one)");
        }
    }

    /** A platform without the ACPI PM block. */
    public PlatformState(PitState pit, PicState pic, IoApicState ioApic, LocalApicState[] lapics, RtcState rtc) {
        this(pit, pic, ioApic, lapics, rtc, null);
    }

    @Override
    public LocalApicState[] lapics() {
        return lapics.clone();
    }

    public byte[] toBytes() {
        ByteArrayOutputStream b = new ByteArrayOutputStream(1024);
        try (DataOutputStream out = new DataOutputStream(b)) {
            write(out);
        } catch (IOException e) {
            throw new IllegalStateException(e); // in-memory stream
        }
        return b.toByteArray();
    }

    public static PlatformState fromBytes(byte[] bytes) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
        PlatformState s;
        try {
            s = read(in);
        } catch (EOFException e) {
            throw new IOException("platform state record is too short (" + bytes.length + " bytes)", e);
        }
        if (in.read() != -1) {
            throw new IOException("platform state record has trailing bytes");
        }
        return s;
    }

    public void write(DataOutput out) throws IOException {
        out.writeInt(MAGIC);
        out.writeInt(VERSION);
        pit.write(out);
        pic.write(out);
        ioApic.write(out);
        out.writeShort(lapics.length);
        for (LocalApicState l : lapics) {
            l.write(out);
        }
        rtc.write(out);
        out.writeBoolean(acpiPm != null);
        if (acpiPm != null) {
            acpiPm.write(out);
        }
    }

    public static PlatformState read(DataInput in) throws IOException {
        if (in.readInt() != MAGIC) {
            throw new IOException("not a platform state record");
        }
        int version = in.readInt();
        if (version != VERSION && version != 1) {
            throw new IOException("platform state version " + version + " is not supported (this xenj reads " + VERSION + ")");
        }
        PitState pit = PitState.read(in);
        PicState pic = PicState.read(in);
        IoApicState ioApic = IoApicState.read(in);
        int n = in.readUnsignedShort();
        if (n < 1 || n > MAX_VCPUS) {
            throw new IOException("platform state record is damaged (" + n + " local APICs)");
        }
        LocalApicState[] lapics = new LocalApicState[n];
        for (int i = 0; i < n; i++) {
            lapics[i] = LocalApicState.read(in);
        }
        RtcState rtc = RtcState.read(in);
        AcpiPmState acpiPm = null;
        if (version >= 2) {
            int present = in.readUnsignedByte();
            if (present > 1) {
                throw new IOException("platform state record is damaged (ACPI PM presence byte " + present + ")");
            }
            acpiPm = present == 1 ? AcpiPmState.read(in) : null;
        }
        return new PlatformState(pit, pic, ioApic, lapics, rtc, acpiPm);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PlatformState s && Arrays.equals(toBytes(), s.toBytes());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(toBytes());
    }
}
