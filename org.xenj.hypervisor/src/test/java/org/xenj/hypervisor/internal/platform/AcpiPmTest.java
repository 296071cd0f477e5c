package org.xenj.hypervisor.internal.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/** The ACPI PM block: the timer's rate and width on the domain clock, SCI_EN, PM1a_EN and S5 (ACPI 6.4 §4.8.3). */
class AcpiPmTest {

    final FakeClock clock = new FakeClock();
    final long epoch = clock.now;
    final List<String> log = new ArrayList<>();
    int powerOffs;
    final AcpiPm pm = new AcpiPm(clock, epoch, () -> powerOffs++, log::add);

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
