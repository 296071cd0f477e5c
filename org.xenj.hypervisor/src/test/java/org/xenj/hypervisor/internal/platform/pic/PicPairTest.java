package org.xenj.hypervisor.internal.platform.pic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.spi.IoHandler;

class PicPairTest {

    private PicPair pic;
    private IoHandler master;
    private IoHandler slave;
    private int changes;

    @BeforeEach
    void initLikeLinux() {
        pic = new PicPair(new Object(), () -> changes++);
        master = pic.ports(true);
        slave = pic.ports(false);
        // Linux init_8259A: ICW1..ICW4 for both chips, then masks.
        master.ioWrite(0, 1, 0x11);
        master.ioWrite(1, 1, 0x30);
        master.ioWrite(1, 1, 0x04);
        master.ioWrite(1, 1, 0x01);
        slave.ioWrite(0, 1, 0x11);
        slave.ioWrite(1, 1, 0x38);
        slave.ioWrite(1, 1, 0x02);
        slave.ioWrite(1, 1, 0x01);
        master.ioWrite(1, 1, 0x00);
        slave.ioWrite(1, 1, 0x00);
    }

    private void eoiMaster() {
        master.ioWrite(0, 1, 0x20);
    }

    @Test
    void edgeIrqIsDeliveredOnceWithItsVectorAndHeldInServiceUntilEoi() {
        pic.setIrq(0, true);
        pic.setIrq(0, false);
        assertTrue(pic.outputPending());
        assertEquals(0x30, pic.acknowledge());
        assertFalse(pic.outputPending());
        master.ioWrite(0, 1, 0x0b); // OCW3: read ISR
        assertEquals(0x01, master.ioRead(0, 1));
        eoiMaster();
        assertEquals(0x00, master.ioRead(0, 1));
    }

    @Test
    void higherPriorityPreemptsButLowerWaitsForEoi() {
        pic.setIrq(3, true);
        assertEquals(0x33, pic.acknowledge());
        pic.setIrq(5, true);
        assertFalse(pic.outputPending(), "IRQ5 must wait while IRQ3 is in service");
        pic.setIrq(1, true);
        assertEquals(0x31, pic.acknowledge(), "IRQ1 beats in-service IRQ3");
        eoiMaster(); // ends IRQ1 (highest in service)
        assertFalse(pic.outputPending());
        eoiMaster(); // ends IRQ3
        assertEquals(0x35, pic.acknowledge());
    }

    @Test
    void edgeLineHeldHighDoesNotRetrigger() {
        pic.setIrq(4, true);
        assertEquals(0x34, pic.acknowledge());
        eoiMaster();
        pic.setIrq(4, true);
        assertFalse(pic.outputPending());
        pic.setIrq(4, false);
        pic.setIrq(4, true);
        assertTrue(pic.outputPending());
    }

    @Test
    void slaveIrqComesThroughTheCascade() {
        pic.setIrq(8, true);
        assertTrue(pic.outputPending());
        assertEquals(0x38, pic.acknowledge());
        int[] s = pic.snapshot();
        assertEquals(0x04, s[1], "master ISR has the cascade line");
        assertEquals(0x01, s[4], "slave ISR has IRQ8");
    }

    @Test
    void spuriousIrq7WhenTheRequestVanished() {
        pic.elcrPorts().ioWrite(0, 1, 0x20); // IRQ5 level
        pic.setIrq(5, true);
        assertTrue(pic.outputPending());
        pic.setIrq(5, false);
        assertEquals(0x37, pic.acknowledge());
        assertEquals(0, pic.snapshot()[1], "spurious IRQ7 sets no ISR bit");
    }

    @Test
    void slaveWithNothingPendingAnswersIrq15() {
        Pic8259 chip = new Pic8259(0xde, -1, 0x70);
        chip.writeData(0x00);
        assertEquals(7, chip.acknowledge());
        assertEquals(0, chip.isr);
    }

    @Test
    void vanishedSlaveRequestWithdrawsTheCascade() {
        pic.elcrPorts().ioWrite(1, 1, 0x04); // IRQ10 level
        pic.setIrq(10, true);
        assertTrue(pic.outputPending());
        pic.setIrq(10, false);
        assertFalse(pic.outputPending());
    }

    @Test
    void levelTriggeredInputFollowsTheLine() {
        pic.elcrPorts().ioWrite(1, 1, 0x08); // IRQ11 level
        pic.setIrq(11, true);
        assertEquals(0x3b, pic.acknowledge());
        slave.ioWrite(0, 1, 0x20);
        eoiMaster();
        assertTrue(pic.outputPending(), "a level line still high requests again after EOI");
        pic.setIrq(11, false);
        assertFalse(pic.outputPending());
    }

    @Test
    void elcrKeepsOnlyWritableBits() {
        IoHandler elcr = pic.elcrPorts();
        elcr.ioWrite(0, 1, 0xff);
        elcr.ioWrite(1, 1, 0xff);
        assertEquals(0xf8, elcr.ioRead(0, 1));
        assertEquals(0xde, elcr.ioRead(1, 1));
    }

    @Test
    void maskedIrqIsLatchedButNotDelivered() {
        master.ioWrite(1, 1, 0x01);
        pic.setIrq(0, true);
        assertFalse(pic.outputPending());
        master.ioWrite(0, 1, 0x0a); // read IRR
        assertEquals(0x01, master.ioRead(0, 1) & 0x01);
        assertEquals(0x01, master.ioRead(1, 1), "IMR reads back");
        master.ioWrite(1, 1, 0x00);
        assertTrue(pic.outputPending());
    }

    @Test
    void pollCommandAcknowledgesLikeInta() {
        pic.setIrq(6, true);
        master.ioWrite(0, 1, 0x0c); // OCW3 poll
        assertEquals(0x86, master.ioRead(0, 1));
        assertFalse(pic.outputPending());
        master.ioWrite(0, 1, 0x0c);
        assertEquals(0x00, master.ioRead(0, 1), "nothing pending: poll word bit 7 clear");
    }

    @Test
    void specialMaskModeLetsLowerPrioritiesThrough() {
        pic.setIrq(3, true);
        assertEquals(0x33, pic.acknowledge());
        master.ioWrite(1, 1, 0x08); // mask IRQ3 (in service)
        master.ioWrite(0, 1, 0x68); // OCW3: set special mask
        pic.setIrq(5, true);
        assertEquals(0x35, pic.acknowledge());
        master.ioWrite(0, 1, 0x48); // reset special mask
    }

    @Test
    void autoEoiLeavesNothingInService() {
        master.ioWrite(0, 1, 0x11);
        master.ioWrite(1, 1, 0x30);
        master.ioWrite(1, 1, 0x04);
        master.ioWrite(1, 1, 0x03); // ICW4: 8086 mode + AEOI
        master.ioWrite(1, 1, 0x00);
        pic.setIrq(2 + 1, true);
        assertEquals(0x33, pic.acknowledge());
        assertEquals(0, pic.snapshot()[1]);
    }

    @Test
    void rotationOnNonSpecificEoiMakesTheServedIrqLowest() {
        pic.setIrq(0, true);
        assertEquals(0x30, pic.acknowledge());
        master.ioWrite(0, 1, 0xa0); // rotate on non-specific EOI: IRQ0 becomes lowest
        pic.setIrq(0, false);
        pic.setIrq(0, true);
        pic.setIrq(5, true);
        assertEquals(0x35, pic.acknowledge(), "after rotation IRQ5 outranks IRQ0");
    }

    @Test
    void specificEoiClearsTheNamedLevel() {
        pic.setIrq(1, true);
        assertEquals(0x31, pic.acknowledge());
        master.ioWrite(0, 1, 0x61); // specific EOI for IRQ1
        assertEquals(0, pic.snapshot()[1]);
        assertTrue(changes > 0);
    }
}
