package org.xenj.hypervisor.internal.platform.apic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.platform.FakeClock;
import org.xenj.hypervisor.spi.MmioHandler;

class LocalApicTest {

    private FakeClock clock;
    private LocalApic apic;
    private MmioHandler mmio;
    private final int[] eois = new int[256];

    @BeforeEach
    void setUp() {
        clock = new FakeClock();
        apic = new LocalApic(new Object(), clock, 0, true, () -> { });
        apic.setBus(new ApicBus() {
            @Override
            public void deliver(LocalApic source, int shorthand, boolean logical, int destination, int mode, int vector,
                    boolean level) {
                if (apic.matches(logical, destination)) {
                    apic.accept(vector, level);
                }
            }

            @Override
            public void endOfInterrupt(int vector) {
                eois[vector]++;
            }
        });
        mmio = apic.mmio();
    }

    private int read(int reg) {
        return (int) mmio.mmioRead(reg, 4);
    }

    private void write(int reg, int value) {
        mmio.mmioWrite(reg, 4, value & 0xffffffffL);
    }

    @Test
    void identityAndFirmwareState() {
        assertEquals(0, read(0x20));
        assertEquals(0x00050014, read(0x30));
        assertEquals(0x1ff, read(0xf0), "enabled, spurious vector 0xff");
        assertEquals(0x700, read(0x350), "LINT0 = ExtINT");
        assertEquals(0x400, read(0x360), "LINT1 = NMI");
        assertEquals(0x10000, read(0x320), "timer masked");
        assertEquals(0xfee00900L, apic.baseMsr());
        assertTrue(apic.acceptsPicInterrupts());
    }

    @Test
    void selfIpiGoesThroughIrrIsrAndEoi() {
        write(0x300, 0x40000 | 0x41); // shorthand self, fixed, vector 0x41
        assertTrue(apic.interruptDeliverable());
        assertEquals(1 << 1, read(0x200 + 0x20), "IRR bit 0x41");
        assertEquals(0x41, apic.acknowledge());
        assertEquals(1 << 1, read(0x100 + 0x20), "ISR bit 0x41");
        assertEquals(0x40, read(0xa0), "PPR = class of the in-service vector");
        write(0xb0, 0);
        assertEquals(0, read(0x100 + 0x20));
        assertFalse(apic.interruptDeliverable());
        assertEquals(0, read(0x300) & (1 << 12), "delivery status idle");
    }

    @Test
    void physicalDestinationIpiToOwnId() {
        write(0x310, 0);
        write(0x300, 0x55);
        assertEquals(0x55, apic.acknowledge());
    }

    @Test
    void taskPriorityMasksLowerClasses() {
        write(0x80, 0x50);
        write(0x300, 0x40000 | 0x45);
        assertFalse(apic.interruptDeliverable());
        write(0x300, 0x40000 | 0x61);
        assertEquals(0x61, apic.acknowledge());
        write(0x80, 0x00);
        write(0xb0, 0);
        assertEquals(0x45, apic.acknowledge());
    }

    @Test
    void higherVectorNestsOverInService() {
        write(0x300, 0x40000 | 0x31);
        assertEquals(0x31, apic.acknowledge());
        write(0x300, 0x40000 | 0x32);
        assertFalse(apic.interruptDeliverable(), "same priority class waits");
        write(0x300, 0x40000 | 0x51);
        assertEquals(0x51, apic.acknowledge());
    }

    @Test
    void oneShotTimerCountsDownWithDividerAndFiresOnce() {
        write(0x3e0, 0x3); // divide by 16
        write(0x320, 0xef); // one-shot, vector 0xef
        write(0x380, 1000);
        clock.advanceNanos(16 * 250);
        assertEquals(750, read(0x390));
        assertEquals(Long.MAX_VALUE > clock.now ? clock.now + 16 * 750 : 0, apic.service(clock.now));
        clock.advanceNanos(16 * 750);
        apic.service(clock.now);
        assertEquals(0, read(0x390));
        assertEquals(0xef, apic.acknowledge());
        assertEquals(Long.MAX_VALUE, apic.service(clock.now + 1_000_000));
    }

    @Test
    void periodicTimerReloads() {
        write(0x3e0, 0xb); // divide by 1
        write(0x320, 0x20000 | 0x40);
        write(0x380, 100);
        clock.advanceNanos(250);
        assertEquals(50, read(0x390));
        apic.service(clock.now);
        assertEquals(0x40, apic.acknowledge());
        write(0xb0, 0);
        long next = apic.service(clock.now);
        assertEquals(50, next - clock.now);
    }

    @Test
    void maskedTimerDeliversNothing() {
        write(0x3e0, 0xb);
        write(0x320, 0x10000 | 0x40);
        write(0x380, 10);
        clock.advanceNanos(20);
        apic.service(clock.now);
        assertFalse(apic.interruptDeliverable());
    }

    @Test
    void softwareDisableMasksLvtsAndDropsInterrupts() {
        write(0xf0, 0x0ff);
        assertEquals(0x10700, read(0x350));
        assertFalse(apic.acceptsPicInterrupts());
        write(0x300, 0x40000 | 0x41);
        assertFalse(apic.interruptDeliverable());
        write(0x350, 0x700);
        assertEquals(0x10700, read(0x350), "mask stays while disabled");
    }

    @Test
    void levelVectorEoiIsBroadcastToTheIoApic() {
        apic.accept(0x60, true);
        assertEquals(1, read(0x180 + 0x30) & 1, "TMR bit 0x60");
        assertEquals(0x60, apic.acknowledge());
        write(0xb0, 0);
        assertEquals(1, eois[0x60]);
    }

    @Test
    void illegalVectorSetsEsr() {
        apic.accept(5, false);
        assertFalse(apic.interruptDeliverable());
        assertEquals(0x40, read(0x280));
    }

    @Test
    void hardwareDisableViaMsrHandsTheCpuToThePic() {
        assertTrue(apic.writeBaseMsr(0xfee00000L));
        assertFalse(apic.hardwareEnabled());
        assertTrue(apic.acceptsPicInterrupts());
        assertFalse(apic.writeBaseMsr(0xfed00000L | 0x800), "relocation refused");
    }
}
