package org.xenj.hvm.qemudm.internal.kbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class I8042Test {

    private I8042 kbc;
    private int resets;
    private final boolean[] irq = new boolean[16];

    @BeforeEach
    void setUp() {
        kbc = new I8042(() -> resets++, (line, level) -> irq[line] = level);
    }

    private int status() {
        return kbc.ioRead(4, 1);
    }

    private int data() {
        return kbc.ioRead(0, 1);
    }

    @Test
    void selfTestAndCommandByte() {
        assertEquals(0, status() & 0x01);
        kbc.ioWrite(4, 1, 0xaa);
        assertEquals(0x01, status() & 0x01);
        assertEquals(0x55, data());
        kbc.ioWrite(4, 1, 0x20);
        int ctr = data();
        assertEquals(0x45, ctr);
        kbc.ioWrite(4, 1, 0x60);
        kbc.ioWrite(0, 1, 0x47);
        kbc.ioWrite(4, 1, 0x20);
        assertEquals(0x47, data());
    }

    @Test
    void keyboardInterruptFollowsTheOutputBuffer() {
        kbc.ioWrite(0, 1, 0xf2); // identify
        assertTrue(irq[1]);
        assertEquals(0xfa, data());
        assertEquals(0xab, data());
        assertEquals(0x41, data(), "translated MF2 id");
        assertFalse(irq[1]);
        kbc.ioWrite(0, 1, 0xff);
        assertEquals(0xfa, data());
        assertEquals(0xaa, data(), "BAT passed");
    }

    @Test
    void auxLoopbackComesBackOnTheAuxChannel() {
        kbc.ioWrite(4, 1, 0x60);
        kbc.ioWrite(0, 1, 0x47); // AUX interrupts on
        kbc.ioWrite(4, 1, 0xd3);
        kbc.ioWrite(0, 1, 0x5a);
        assertEquals(0x21, status() & 0x21, "OBF with AUX data");
        assertTrue(irq[12]);
        assertEquals(0x5a, data());
        assertFalse(irq[12]);
    }

    @Test
    void resetByPulseCommandAndByOutputPort() {
        kbc.ioWrite(4, 1, 0xfe);
        assertEquals(1, resets);
        kbc.ioWrite(4, 1, 0xd1);
        kbc.ioWrite(0, 1, 0x03);
        assertEquals(1, resets, "reset line kept high");
        kbc.ioWrite(4, 1, 0xd1);
        kbc.ioWrite(0, 1, 0x02);
        assertEquals(2, resets);
        kbc.ioWrite(4, 1, 0xff);
        assertEquals(2, resets, "0xFF pulses nothing");
    }

    @Test
    void ledCommandTakesAParameter() {
        kbc.ioWrite(0, 1, 0xed);
        assertEquals(0xfa, data());
        kbc.ioWrite(0, 1, 0x07);
        assertEquals(0xfa, data());
        assertEquals(0, status() & 0x01);
    }
}
