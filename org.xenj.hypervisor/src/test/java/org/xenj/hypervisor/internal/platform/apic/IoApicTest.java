package org.xenj.hypervisor.internal.platform.apic;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.spi.MmioHandler;

class IoApicTest {

    private IoApic ioapic;
    private MmioHandler mmio;
    private final List<String> sent = new ArrayList<>();

    @BeforeEach
    void setUp() {
        ioapic = new IoApic(new Object());
        ioapic.setBus(new ApicBus() {
            @Override
            public void deliver(LocalApic source, int shorthand, boolean logical, int destination, int mode, int vector,
                    boolean level) {
                sent.add(Integer.toHexString(vector) + "@" + destination + (level ? "L" : "E"));
            }

            @Override
            public void endOfInterrupt(int vector) {
            }
        });
        mmio = ioapic.mmio();
    }

    private int read(int reg) {
        mmio.mmioWrite(0, 4, reg);
        return (int) mmio.mmioRead(0x10, 4);
    }

    private void write(int reg, int value) {
        mmio.mmioWrite(0, 4, reg);
        mmio.mmioWrite(0x10, 4, value & 0xffffffffL);
    }

    @Test
    void versionIdAndMaskedPowerOnEntries() {
        assertEquals(0x00170011, read(1));
        assertEquals(1 << 24, read(0));
        write(0, 5 << 24);
        assertEquals(5 << 24, read(0));
        assertEquals(0x10000, read(0x10 + 2 * 7));
        ioapic.setPin(7, true);
        assertEquals(List.of(), sent);
    }

    @Test
    void edgePinDeliversOnRisingEdgeOnly() {
        write(0x10 + 2 * 4 + 1, 2 << 24);
        write(0x10 + 2 * 4, 0x34);
        ioapic.setPin(4, true);
        ioapic.setPin(4, true);
        ioapic.setPin(4, false);
        ioapic.setPin(4, true);
        assertEquals(List.of("34@2E", "34@2E"), sent);
        assertEquals(2 << 24, read(0x10 + 2 * 4 + 1));
    }

    @Test
    void levelPinHoldsRemoteIrrUntilEoiAndRedeliversIfStillAsserted() {
        write(0x10 + 2 * 9, 0x8000 | 0x59);
        ioapic.setPin(9, true);
        assertEquals(1L << 14, ioapic.entry(9) & (1L << 14), "remote IRR");
        ioapic.setPin(9, true);
        assertEquals(1, sent.size());
        ioapic.endOfInterrupt(0x59);
        assertEquals(2, sent.size(), "still asserted: sent again");
        ioapic.setPin(9, false);
        ioapic.endOfInterrupt(0x59);
        assertEquals(0, ioapic.entry(9) & (1L << 14));
        assertEquals(2, sent.size());
    }

    @Test
    void unmaskingAnAssertedLevelPinDelivers() {
        write(0x10 + 2 * 10, 0x18000 | 0x5a);
        ioapic.setPin(10, true);
        assertEquals(0, sent.size());
        write(0x10 + 2 * 10, 0x8000 | 0x5a);
        assertEquals(List.of("5a@0L"), sent);
    }
}
