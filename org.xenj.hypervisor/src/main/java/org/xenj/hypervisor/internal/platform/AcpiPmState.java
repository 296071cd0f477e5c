package org.xenj.hypervisor.internal.platform;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;

/**
 * The guest-visible state of {@link AcpiPm} beyond its constants and the domain clock: PM1a_EN as
 * the guest wrote it, the GPE0 block and where the VM generation ID lives. (PM1a_STS holds no
 * event, SCI_EN is always set, SLP_TYP has no effect until SLP_EN, and the timer follows guest
 * time; the ID itself is guest RAM and travels with memory.) Versioned bytes inside {@link PlatformState}.
 *
 * @param enable              PM1a_EN: only the enable bits the block has
 * @param gpeStatus           GPE0_STS (a raised GPE not yet cleared by the guest)
 * @param gpeEnable           GPE0_EN
 * @param generationIdAddress the generation ID's guest-physical address the DSDT's {@code \_SB.VGEN.ADDR}
 *                            names; 0 when the DSDT has none (every version 1 record: tables from before it)
 */
public record AcpiPmState(int enable, int gpeStatus, int gpeEnable, long generationIdAddress) {

    /** "XJAP". */
    public static final int MAGIC = 0x584a4150;
    /** 2 adds GPE0_STS, GPE0_EN and the generation ID's address; 1 is still read (as no GPE, no device). */
    public static final int VERSION = 2;

    public AcpiPmState {
        if ((enable & ~AcpiPm.PM1_EN_MASK) != 0) {
            throw new IllegalArgumentException(String.format("ACPI PM state: PM1a_EN %04x has bits the block lacks", enable));
        }
        if ((gpeStatus | gpeEnable) >>> 16 != 0) {
            throw new IllegalArgumentException(String.format("ACPI PM state: GPE0 %x/%x is wider than 16 GPEs", gpeStatus, gpeEnable));
        }
        if (generationIdAddress < 0 || generationIdAddress > 0xffff_ffffL - AcpiPm.GENERATION_ID_SIZE) {
            throw new IllegalArgumentException(String.format("ACPI PM state: generation ID at 0x%x", generationIdAddress));
        }
    }

    /** A version 1 state: PM1a_EN only. */
    public AcpiPmState(int enable) {
        this(enable, 0, 0, 0);
    }

    public void write(DataOutput out) throws IOException {
        out.writeInt(MAGIC);
        out.writeInt(VERSION);
        out.writeShort(enable);
        out.writeShort(gpeStatus);
        out.writeShort(gpeEnable);
        out.writeLong(generationIdAddress);
    }

    /** Writes the version 1 layout (for tests that read what an older xenj wrote); refuses state it cannot hold. */
    void writeVersion1(DataOutput out) throws IOException {
        if (gpeStatus != 0 || gpeEnable != 0 || generationIdAddress != 0) {
            throw new IllegalStateException("version 1 has no GPE block nor generation ID");
        }
        out.writeInt(MAGIC);
        out.writeInt(1);
        out.writeShort(enable);
    }

    public static AcpiPmState read(DataInput in) throws IOException {
        if (in.readInt() != MAGIC) {
            throw new IOException("not an ACPI PM state record");
        }
        int version = in.readInt();
        if (version != VERSION && version != 1) {
            throw new IOException("ACPI PM state version " + version + " is not supported (this xenj reads 1 and " + VERSION + ")");
        }
        try {
            int enable = in.readUnsignedShort();
            if (version == 1) {
                return new AcpiPmState(enable);
            }
            return new AcpiPmState(enable, in.readUnsignedShort(), in.readUnsignedShort(), in.readLong());
        } catch (IllegalArgumentException e) {
            throw new IOException("ACPI PM state record is damaged: " + e.getMessage(), e);
        }
    }
}
