package org.xenj.hypervisor.internal.platform;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * The ACPI PM block: the timer's rate and width on the domain clock, SCI_EN, PM1a_EN and S5 (ACPI 6.4 §4.8.3);
 * the GPE0 block (status write-1-to-clear, enable) and the SCI level that follows STS &amp; EN; the VM generation
 * ID's write and event; the state record, version 1 included.
 */
class AcpiPmTest {

    final FakeClock clock = new FakeClock();
    final long epoch = clock.now;
    final List<String> log = new ArrayList<>();
    int powerOffs;
    /** Every SCI level change the block drove, as "irq:level". */
    final List<String> sci = new ArrayList<>();
    final AcpiPm pm = new AcpiPm(clock, epoch, () -> powerOffs++, log::add, (irq, level) -> sci.add(irq + ":" + level));
    static final int STS = AcpiPm.GPE0_OFFSET, EN = AcpiPm.GPE0_OFFSET + 2, VMGENID = 1 << AcpiPm.GPE_VMGENID;
    static final long ID_AT = 0xf4ff0;

    /** Guest memory that records the writes (address, bytes) and reads zeros. */
    final List<String> writes = new ArrayList<>();
    final org.xenj.hypervisor.spi.GuestMemory memory = (org.xenj.hypervisor.spi.GuestMemory) java.lang.reflect.Proxy.newProxyInstance(
            getClass().getClassLoader(), new Class<?>[] { org.xenj.hypervisor.spi.GuestMemory.class }, (proxy, method, args) -> {
                if (method.getName().equals("write") && args.length == 4) {
                    byte[] b = (byte[]) args[1];
                    writes.add(Long.toHexString((long) args[0]) + ":" + java.util.HexFormat.of().formatHex(b, (int) args[2],
                            (int) args[2] + (int) args[3]));
                    return null;
                }
                throw new UnsupportedOperationException(method.getName());
            });

    @Test
    void aNewGenerationWritesTheIdThenRaisesGpe1AndTheSciFollowsStatusAndEnable() {
        byte[] id = new byte[16];
        for (int i = 0; i < 16; i++) {
            id[i] = (byte) (0xa0 + i);
        }
        assertFalse(pm.newGeneration(memory, id), "no VGEN in the DSDT: no device");
        assertEquals(List.of(), writes);
        assertEquals(0, pm.ioRead(STS, 2) & 0xffff);
        pm.setGenerationIdAddress(ID_AT);

        assertTrue(pm.newGeneration(memory, id));
        assertEquals(List.of("f4ff0:a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"), writes);
        assertEquals(VMGENID, pm.ioRead(STS, 2) & 0xffff, "GPE0_STS bit 1");
        assertEquals(List.of(), sci, "the guest has not enabled the GPE: no SCI yet");
        pm.ioWrite(EN, 2, VMGENID); // what ACPICA does for a GPE with an _E01 method
        assertEquals(List.of("9:true"), sci, "STS & EN: the SCI (IRQ 9) asserted");
        assertEquals(VMGENID | VMGENID << 16, pm.ioRead(STS, 4), "status and enable in one 32-bit view");
        pm.ioWrite(STS, 2, 0); // writing 0 clears nothing
        pm.ioWrite(STS, 2, ~VMGENID & 0xffff); // nor do ones elsewhere
        assertEquals(List.of("9:true"), sci);
        pm.ioWrite(STS, 1, VMGENID); // write 1 to clear: the byte holding bit 1
        assertEquals(List.of("9:true", "9:false"), sci, "status cleared: the SCI deasserted");
        assertEquals(VMGENID, pm.ioRead(EN, 2) & 0xffff, "the enable stays");

        // raised while enabled: at once; disabled while raised: the line drops, the status waits
        assertTrue(pm.newGeneration(memory, id));
        assertEquals(List.of("9:true", "9:false", "9:true"), sci);
        pm.ioWrite(EN + 1, 1, 0); // the enable's high byte: no change to bit 1
        pm.ioWrite(EN, 1, 0);
        assertEquals(List.of("9:true", "9:false", "9:true", "9:false"), sci);
        assertEquals(VMGENID, pm.gpeStatus());
        pm.reset();
        assertEquals(0, pm.gpeStatus());
        assertEquals(ID_AT, pm.generationIdAddress(), "a reset keeps the DSDT's address");
        assertThrows(IllegalArgumentException.class, () -> pm.newGeneration(memory, new byte[8]));
    }

    @Test
    void stateRecordRoundTripsAndVersion1StillReads() throws IOException {
        pm.setGenerationIdAddress(ID_AT);
        pm.ioWrite(2, 2, 0x0120);
        pm.ioWrite(EN, 2, 0x8002);
        pm.newGeneration(memory, new byte[16]);
        AcpiPmState s = pm.saveState();
        assertEquals(new AcpiPmState(0x0120, VMGENID, 0x8002, ID_AT), s);
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        s.write(new DataOutputStream(b));
        assertEquals(s, AcpiPmState.read(new DataInputStream(new ByteArrayInputStream(b.toByteArray()))));

        List<String> lines = new ArrayList<>();
        AcpiPm other = new AcpiPm(clock, epoch, () -> { }, log::add, (irq, level) -> lines.add(irq + ":" + level));
        other.restoreState(s);
        assertEquals(List.of("9:true"), lines, "a restored raised and enabled GPE drives the SCI again");
        assertTrue(other.sciAsserted());

        // what an older xenj wrote: PM1a_EN only; read as no GPE raised and no generation ID device
        ByteArrayOutputStream v1 = new ByteArrayOutputStream();
        new AcpiPmState(0x0120).writeVersion1(new DataOutputStream(v1));
        assertEquals(10, v1.size());
        AcpiPmState old = AcpiPmState.read(new DataInputStream(new ByteArrayInputStream(v1.toByteArray())));
        assertEquals(new AcpiPmState(0x0120, 0, 0, 0), old);
        other.restoreState(old);
        assertEquals(List.of("9:true", "9:false"), lines);
        assertEquals(0, other.generationIdAddress(), "an old record: the domain's DSDT has no VGEN");
        assertFalse(other.newGeneration(memory, new byte[16]));

        byte[] bad = b.toByteArray();
        bad[8 + 6] = (byte) 0x80; // the ID's address: magic, version, PM1a_EN, GPE0_STS, GPE0_EN, then 8 bytes
        assertThrows(IOException.class, () -> AcpiPmState.read(new DataInputStream(new ByteArrayInputStream(bad))));
        byte[] version3 = b.toByteArray();
        version3[7] = 3;
        assertTrue(assertThrows(IOException.class, () -> AcpiPmState.read(new DataInputStream(new ByteArrayInputStream(version3))))
                .getMessage().contains("version 3"));
    }

    @Test
    void timerCountsAt3579545HzFromPowerOnAndWrapsAt24Bits() {
        assertEquals(0, pm.ioRead(AcpiPm.PM_TMR_OFFSET, 4));
        clock.advanceNanos(1_000_000); // 1 ms
        assertEquals(3579, pm.ioRead(AcpiPm.PM_TMR_OFFSET, 4));
        clock.now = epoch + 1_000_000_000L;
        assertEquals(3_579_545, pm.ioRead(AcpiPm.PM_TMR_OFFSET, 4));
        // 2^24 ticks = 4.687 s: the counter wraps and bits 24-31 stay 0 (the FADT says 24-bit)
        clock.now = epoch + 5_000_000_000L;
        assertEquals((int) (5L * 3_579_545 - (1 << 24)), pm.ioRead(AcpiPm.PM_TMR_OFFSET, 4));
        // byte reads see the parts of the same register
        int v = pm.timer();
        assertEquals(v & 0xff, pm.ioRead(AcpiPm.PM_TMR_OFFSET, 1) & 0xff);
        assertEquals(v >>> 16 & 0xff, pm.ioRead(AcpiPm.PM_TMR_OFFSET + 2, 1) & 0xff);
        pm.ioWrite(AcpiPm.PM_TMR_OFFSET, 4, 0);
        assertEquals(v, pm.timer(), "the timer is read-only");
    }

    @Test
    void sciEnabledFromPowerOnAndKept() {
        assertEquals(1, pm.ioRead(AcpiPm.PM1_CNT_OFFSET, 2) & 1);
        pm.ioWrite(AcpiPm.PM1_CNT_OFFSET, 2, 0);
        assertEquals(1, pm.ioRead(AcpiPm.PM1_CNT_OFFSET, 2) & 1, "no SMI_CMD: the OS cannot leave ACPI mode");
    }

    @Test
    void enableRegisterKeepsTheBitsThatExist() {
        pm.ioWrite(2, 2, 0xffff);
        assertEquals(AcpiPm.PM1_EN_MASK, pm.ioRead(2, 2));
        assertEquals(AcpiPm.PM1_EN_MASK << 16, pm.ioRead(0, 4), "status 0, enable in the upper half");
        pm.ioWrite(0, 2, 0xffff); // clearing status leaves the enables
        assertEquals(AcpiPm.PM1_EN_MASK, pm.enable());
        pm.reset();
        assertEquals(0, pm.enable());
    }

    @Test
    void slpEnWithS5PowersOffOtherTypesAreIgnored() {
        pm.ioWrite(AcpiPm.PM1_CNT_OFFSET, 2, 1 << AcpiPm.SLP_TYP_SHIFT | AcpiPm.SLP_EN); // S1-ish: not offered
        assertEquals(0, powerOffs);
        pm.ioWrite(AcpiPm.PM1_CNT_OFFSET, 2, AcpiPm.SLP_TYP_S5 << AcpiPm.SLP_TYP_SHIFT); // type first, as ACPICA does
        assertEquals(0, powerOffs);
        assertEquals(AcpiPm.SLP_TYP_S5 << AcpiPm.SLP_TYP_SHIFT | 1, pm.ioRead(AcpiPm.PM1_CNT_OFFSET, 2) & 0xffff, "SLP_EN reads 0");
        pm.ioWrite(AcpiPm.PM1_CNT_OFFSET + 1, 1, (AcpiPm.SLP_TYP_S5 << AcpiPm.SLP_TYP_SHIFT | AcpiPm.SLP_EN) >> 8);
        assertEquals(1, powerOffs);
        assertEquals(2, log.size(), log.toString());
    }
}
