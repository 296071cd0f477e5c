package org.xenj.hvm.qemudm.internal.sysport;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class SystemControlPortATest {

    @Test
    void a20ReadsBackAndBit0Resets() {
        int[] resets = new int[1];
        SystemControlPortA p = new SystemControlPortA(() -> resets[0]++);
        assertEquals(0x02, p.ioRead(0, 1));
        p.ioWrite(0, 1, 0x00);
        assertEquals(0x00, p.ioRead(0, 1));
        assertEquals(0, resets[0]);
        p.ioWrite(0, 1, 0x03);
        assertEquals(1, resets[0]);
        assertEquals(0x02, p.ioRead(0, 1));
    }
}
