package org.xenj.hypervisor.internal.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.exec.VCpuWaker;
import org.xenj.hypervisor.internal.platform.apic.LocalApic;

/**
 * Inter-processor interrupts through the ICR of one local APIC to the others (Intel SDM vol. 3,
 * 10.6 "Issuing interprocessor interrupts", 10.6.2 destination modes, 8.4.4 INIT-SIPI-SIPI):
 * every destination mode and shorthand, INIT/STARTUP/NMI latching and the wait-for-SIPI state
 * machine, and what bad ICR values do.
 */
class InterruptFabricIpiTest {

    private static final int ICR_LOW = 0x300, ICR_HIGH = 0x310, LDR = 0xd0, DFR = 0xe0, ESR = 0x280, TPR = 0x80;
    private static final int FIXED = 0, LOWEST = 1 << 8, NMI = 4 << 8, INIT = 5 << 8, STARTUP = 6 << 8;
    private static final int LOGICAL = 1 << 11, ASSERT = 1 << 14, LEVEL_TRIGGER = 1 << 15;
    private static final int SELF = 1 << 18, ALL = 2 << 18, ALL_BUT_SELF = 3 << 18;

    private final FakeClock clock = new FakeClock();
    private final int[] wakes = new int[4];
    private InterruptFabric fabric;

    @BeforeEach
    void setUp() {
        VCpuWaker[] wakers = new VCpuWaker[4];
        for (int i = 0; i < 4; i++) {
            int vcpu = i;
            wakers[i] = () -> wakes[vcpu]++;
        }
        fabric = new InterruptFabric(4, clock, wakers);
    }

    private void send(int from, int destination, int low) {
        fabric.lapic(from).writeRegister(ICR_HIGH, destination << 24);
        fabric.lapic(from).writeRegister(ICR_LOW, low);
        fabric.flushWakes();
    }

    /** Which vCPUs have {@code vector} requested, as a bit mask. */
    private int requested(int vector) {
        int mask = 0;
        for (int i = 0; i < 4; i++) {
            if ((fabric.lapic(i).readRegister(0x200 + (vector >>> 5) * 0x10) & 1 << (vector & 31)) != 0) {
                mask |= 1 << i;
            }
        }
        return mask;
    }

    @Test
    void physicalFixedIpiReachesOneApicAndWakesItsVcpu() {
        send(0, 2, FIXED | ASSERT | 0x40);
        assertEquals(0b0100, requested(0x40));
        assertTrue(fabric.interruptPending(2));
        assertFalse(fabric.interruptPending(1));
        assertEquals(1, wakes[2]);
        assertEquals(0x40, fabric.acknowledge(2));
    }

    @Test
    void physicalBroadcastReachesEveryApicTheSenderToo() {
        send(1, 0xff, FIXED | 0x41);
        assertEquals(0b1111, requested(0x41));
    }

    @Test
    void anIpiToAnAbsentApicIdIsDropped() {
        send(0, 9, FIXED | 0x42);
        send(0, 9, INIT | ASSERT);
        send(0, 9, NMI);
        assertEquals(0, requested(0x42));
        for (int i = 0; i < 4; i++) {
            assertEquals(i == 0 ? 0 : InterruptFabric.PROCESSOR_WAIT_FOR_SIPI, fabric.processorState(i), "vCPU " + i);
        }
        assertEquals(0, fabric.lapic(0).readRegister(ESR), "no error for the sender either (xAPIC)");
    }

    @Test
    void logicalFlatModeAddressesEveryApicWhoseBitIsSet() {
        for (int i = 0; i < 4; i++) {
            fabric.lapic(i).writeRegister(DFR, 0xffffffff);
            fabric.lapic(i).writeRegister(LDR, (1 << i) << 24);
        }
        send(0, 0b0110, LOGICAL | FIXED | 0x50);
        assertEquals(0b0110, requested(0x50));
        send(3, 0xff, LOGICAL | FIXED | 0x51);
        assertEquals(0b1111, requested(0x51));
        send(0, 0x10, LOGICAL | FIXED | 0x52);
        assertEquals(0, requested(0x52), "a bit no APIC has");
    }

    @Test
    void logicalClusterModeMatchesClusterAndMember() {
        int[] ldr = {0x11, 0x12, 0x21, 0x22};
        for (int i = 0; i < 4; i++) {
            fabric.lapic(i).writeRegister(DFR, 0x0fffffff);
            fabric.lapic(i).writeRegister(LDR, ldr[i] << 24);
        }
        send(0, 0x23, LOGICAL | FIXED | 0x60);
        assertEquals(0b1100, requested(0x60), "cluster 2, members 1 and 2");
        send(0, 0x12, LOGICAL | FIXED | 0x61);
        assertEquals(0b0010, requested(0x61));
        send(0, 0xf1, LOGICAL | FIXED | 0x62);
        assertEquals(0b0101, requested(0x62), "cluster 0xf: every cluster's member 1");
    }

    @Test
    void shorthandsSelfAllAndAllButSelf() {
        send(1, 0, SELF | FIXED | 0x70);
        assertEquals(0b0010, requested(0x70));
        send(1, 0, ALL | FIXED | 0x71);
        assertEquals(0b1111, requested(0x71));
        send(1, 0, ALL_BUT_SELF | FIXED | 0x72);
        assertEquals(0b1101, requested(0x72));
    }

    @Test
    void lowestPriorityGoesToOneApicWithTheLowestTaskPriority() {
        fabric.lapic(0).writeRegister(TPR, 0x40);
        fabric.lapic(1).writeRegister(TPR, 0x30);
        fabric.lapic(2).writeRegister(TPR, 0x10);
        fabric.lapic(3).writeRegister(TPR, 0x20);
        send(0, 0, ALL | LOWEST | 0x80);
        assertEquals(0b0100, requested(0x80));
    }

    @Test
    void initSipiStartsAnApExactlyOnce() {
        assertEquals(0, fabric.processorState(0), "the BSP runs");
        assertEquals(InterruptFabric.PROCESSOR_WAIT_FOR_SIPI, fabric.processorState(1), "an AP waits for SIPI from power-on");

        send(0, 1, INIT | ASSERT);
        assertEquals(InterruptFabric.PROCESSOR_EVENT | InterruptFabric.PROCESSOR_WAIT_FOR_SIPI, fabric.processorState(1));
        assertEquals(1, wakes[1], "INIT wakes the vCPU to act on it");
        send(0, 1, INIT | LEVEL_TRIGGER); // de-assert: no effect
        assertEquals(LocalApic.EVENT_INIT, fabric.takeProcessorEvent(1, true));
        assertEquals(InterruptFabric.PROCESSOR_WAIT_FOR_SIPI, fabric.processorState(1));
        assertEquals(0, fabric.takeProcessorEvent(1, true), "nothing left");

        send(0, 1, STARTUP | ASSERT | 0x9a);
        send(0, 1, STARTUP | ASSERT | 0x9b); // the second SIPI of the sequence, before the AP ran: ignored
        assertEquals(LocalApic.EVENT_SIPI | 0x9a << 8, fabric.takeProcessorEvent(1, true));
        assertEquals(0, fabric.processorState(1), "running");
        send(0, 1, STARTUP | ASSERT | 0x9c);
        assertEquals(0, fabric.processorState(1), "a SIPI to a running processor is ignored");
        assertEquals(InterruptFabric.PROCESSOR_WAIT_FOR_SIPI, fabric.processorState(2), "other APs untouched");
    }

    @Test
    void aStartupRightAfterInitCountsEvenBeforeTheApRan() {
        send(0, 1, INIT | ASSERT);
        fabric.takeProcessorEvent(1, true);
        assertEquals(0, fabric.takeProcessorEvent(1, true));
        // a running AP gets INIT and STARTUP before its vCPU thread was scheduled
        send(0, 1, STARTUP | ASSERT | 0x10);
        fabric.takeProcessorEvent(1, true);
        send(0, 1, INIT | ASSERT);
        send(0, 1, STARTUP | ASSERT | 0x11);
        assertEquals(LocalApic.EVENT_INIT, fabric.takeProcessorEvent(1, true));
        assertEquals(LocalApic.EVENT_SIPI | 0x11 << 8, fabric.takeProcessorEvent(1, true));
        // and an INIT after an unconsumed STARTUP undoes it
        send(0, 2, STARTUP | ASSERT | 0x12);
        send(0, 2, INIT | ASSERT);
        assertEquals(LocalApic.EVENT_INIT, fabric.takeProcessorEvent(2, true));
        assertEquals(0, fabric.takeProcessorEvent(2, true));
        assertEquals(InterruptFabric.PROCESSOR_WAIT_FOR_SIPI, fabric.processorState(2));
        // the BSP never waits for SIPI: a STARTUP after its INIT is ignored
        send(1, 0, INIT | ASSERT);
        send(1, 0, STARTUP | ASSERT | 0x13);
        assertEquals(LocalApic.EVENT_INIT, fabric.takeProcessorEvent(0, true));
        assertEquals(0, fabric.takeProcessorEvent(0, true));
    }

    @Test
    void initResetsTheApicButKeepsItsId() {
        fabric.lapic(1).writeRegister(0xf0, 0x1ff);
        fabric.lapic(1).writeRegister(TPR, 0x20);
        send(0, 1, FIXED | 0x90);
        send(0, 1, INIT | ASSERT);
        fabric.takeProcessorEvent(1, true);
        assertEquals(1 << 24, fabric.lapic(1).readRegister(0x20));
        assertEquals(0, requested(0x90));
        assertEquals(0, fabric.lapic(1).readRegister(TPR));
        assertEquals(0xff, fabric.lapic(1).readRegister(0xf0), "software-disabled, as after power-on");
        assertTrue(fabric.lapic(1).hardwareEnabled());
    }

    @Test
    void initToTheBspRestartsItWithoutWaitingForSipi() {
        send(1, 0, INIT | ASSERT);
        assertEquals(LocalApic.EVENT_INIT, fabric.takeProcessorEvent(0, true));
        assertEquals(0, fabric.processorState(0));
    }

    @Test
    void nmiWaitsWhileBlockedAndWhileTheApWaitsForSipi() {
        send(1, 0, NMI);
        send(1, 0, NMI); // NMIs do not queue
        assertEquals(InterruptFabric.PROCESSOR_EVENT, fabric.processorState(0));
        assertEquals(0, fabric.takeProcessorEvent(0, false), "a handler still runs: the NMI waits");
        assertEquals(LocalApic.EVENT_NMI, fabric.takeProcessorEvent(0, true));
        assertEquals(0, fabric.takeProcessorEvent(0, true), "one NMI for two messages");

        send(0, 2, NMI);
        assertEquals(InterruptFabric.PROCESSOR_WAIT_FOR_SIPI, fabric.processorState(2), "an AP waiting for SIPI takes no NMI");
        assertFalse(fabric.interruptPending(0), "an NMI is not a maskable interrupt");
    }

    @Test
    void illegalVectorsAreNotSentAndSetTheSendersEsr() {
        send(0, 1, FIXED | 0x0f);
        assertEquals(0, requested(0x0f));
        assertFalse(fabric.interruptPending(1));
        assertEquals(0x20, fabric.lapic(0).readRegister(ESR), "send illegal vector");
    }

    @Test
    void extIntAndSmiMessagesAreNotDelivered() {
        send(0, 1, 7 << 8 | 0x30);
        send(0, 1, 2 << 8 | 0x31);
        assertEquals(0, requested(0x30) | requested(0x31));
        assertEquals(InterruptFabric.PROCESSOR_WAIT_FOR_SIPI, fabric.processorState(1));
    }
}
