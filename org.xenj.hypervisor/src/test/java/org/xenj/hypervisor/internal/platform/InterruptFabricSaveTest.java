package org.xenj.hypervisor.internal.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.exec.VCpuWaker;
import org.xenj.hypervisor.internal.platform.apic.LocalApicState;

/**
 * The controllers' record of a save is one instant's, although a device's executor raises its
 * line while the record is taken. The invariant it must keep: a level-triggered IOAPIC pin with
 * remote IRR set has its vector requested or in service at its local APIC, for otherwise the
 * restored guest never EOIs it and the pin stays deaf for ever (seen in CI: after a live
 * migration of the bare PC, the RTL8139's interrupts stopped and 8139too's transmit watchdog
 * fired).
 */
class InterruptFabricSaveTest {

    private static final int PIN = 11, VECTOR = 0x51, LEVEL = 1 << 15, REMOTE_IRR = 1 << 14;
    private static final int SVR = 0xf0, EOI = 0xb0;

    @Test
    void aRemoteIrrInTheRecordAlwaysHasItsVectorInTheApicRecord() throws Exception {
        InterruptFabric fabric = new InterruptFabric(1, new FakeClock(), new VCpuWaker[] { () -> { } });
        fabric.lapic(0).writeRegister(SVR, 0x1ff);
        var ioapic = fabric.ioApic().mmio();
        ioapic.mmioWrite(0, 4, 0x10 + 2 * PIN + 1);
        ioapic.mmioWrite(0x10, 4, 0); // destination: APIC 0
        ioapic.mmioWrite(0, 4, 0x10 + 2 * PIN);
        ioapic.mmioWrite(0x10, 4, VECTOR | LEVEL); // fixed, physical, level, unmasked

        // the "device" raises the line, the "guest" takes the interrupt, the device lowers the line, the guest EOIs
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong cycles = new AtomicLong();
        Thread device = new Thread(() -> {
            while (!stop.get()) {
                fabric.set(PIN, true);
                int v = fabric.acknowledge(0);
                if (v != VECTOR) {
                    throw new AssertionError("acknowledged " + v);
                }
                fabric.set(PIN, false); // the handler clears the device's cause, then EOIs
                fabric.lapic(0).writeRegister(EOI, 0);
                cycles.incrementAndGet();
            }
        }, "racing-device");
        device.start();
        int inFlight = 0, broken = 0;
        long end = System.nanoTime() + 1_500_000_000L;
        int saves = 0;
        try {
            while (System.nanoTime() < end && device.isAlive()) {
                InterruptFabric.Records r = fabric.saveControllers();
                saves++;
                if ((r.ioApic().redirection()[PIN] & REMOTE_IRR) != 0) {
                    inFlight++;
                    LocalApicState apic = r.lapics()[0];
                    int bit = 1 << (VECTOR & 31);
                    if ((apic.irr()[VECTOR >>> 5] & bit) == 0 && (apic.isr()[VECTOR >>> 5] & bit) == 0) {
                        broken++;
                    }
                }
            }
        } finally {
            stop.set(true);
            device.join(5_000);
        }
        System.out.printf("[interrupt-save] %d interrupts raced %d saves: %d records with one in flight, %d broken%n", cycles.get(), saves, inFlight, broken);
        assertTrue(cycles.get() > 1000 && inFlight > 100, "the race ran: " + cycles + " interrupts, " + inFlight + " of " + saves
                + " records with one in flight");
        assertEquals(0, broken, "records with remote IRR set and the vector nowhere in the APIC, of " + inFlight + " in flight");
    }
}
