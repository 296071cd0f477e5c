package org.xenj.hypervisor.internal.platform;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;

/**
 * The guest-visible state of {@link AcpiPm} beyond its constants and the domain clock: PM1a_EN as
 * the guest wrote it. (PM1a_STS holds no event, SCI_EN is always set, SLP_TYP has no effect until
 * SLP_EN, and the timer follows guest time.) Versioned bytes inside {@link PlatformState}.
 *
 * @param enable PM1a_EN: only the enable bits the block has
 */
public record AcpiPmState(int enable) {

    /** "XJAP". */
    public static final int MAGIC = 0x584a4150;
    public static final int VERSION = 1;

    public AcpiPmState {
        if ((enable & ~AcpiPm.PM1_EN_MASK) != 0) {
            throw new IllegalArgumentException(String.format("ACPI PM state: PM1a_EN %04x has bits the block lacks", enable));
        }
    }

    public void write(DataOutput out) throws IOException {
        out.writeInt(MAGIC);
        out.writeInt(VERSION);
        out.writeShort(enable);
    }

    public static AcpiPmState read(DataInput in) throws IOException {
        if (in.readInt() != MAGIC) {
            throw new IOException("not an ACPI PM state record");
        }
        int version = in.readInt();
        if (version != VERSION) {
            throw new IOException("ACPI PM state version " + version + " is not supported (this xenj reads " + VERSION + ")");
        }
        try {
            return new AcpiPmState(in.readUnsignedShort());
        } catch (IllegalArgumentException e) {
            throw new IOException("ACPI PM state record is damaged: " + e.getMessage(), e);
        }
    }
}
