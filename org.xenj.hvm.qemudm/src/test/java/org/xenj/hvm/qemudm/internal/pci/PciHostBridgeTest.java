package org.xenj.hvm.qemudm.internal.pci;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class PciHostBridgeTest {

    private PciHostBridge pci;

    @BeforeEach
    void setUp() {
        pci = new PciHostBridge();
        pci.add(0, 0, new I440fx());
        pci.add(1, 0, new Piix3());
    }

    private int cfg(int dev, int fn, int reg, int size) {
        pci.ioWrite(0, 4, 0x80000000 | dev << 11 | fn << 8 | (reg & 0xfc));
        return pci.ioRead(4 + (reg & 3), size);
    }

    private void cfgWrite(int dev, int fn, int reg, int size, int value) {
        pci.ioWrite(0, 4, 0x80000000 | dev << 11 | fn << 8 | (reg & 0xfc));
        pci.ioWrite(4 + (reg & 3), size, value);
    }

    @Test
    void linuxType1Check() {
        pci.ioWrite(3, 1, 0x01); // outb(0x01, 0xCFB)
        pci.ioWrite(0, 4, 0x80000000);
        assertEquals(0x80000000, pci.ioRead(0, 4));
    }

    @Test
    void hostBridgeAndIsaBridgeIdentify() {
        assertEquals(0x12378086, cfg(0, 0, 0, 4));
        assertEquals(0x0600, cfg(0, 0, 0x0a, 2), "host bridge class");
        assertEquals(0x70008086, cfg(1, 0, 0, 4));
        assertEquals(0x0601, cfg(1, 0, 0x0a, 2), "ISA bridge class");
        assertEquals(0x80, cfg(1, 0, 0x0e, 1), "multi-function header");
        assertEquals(0x80, cfg(1, 0, 0x60, 1), "PIRQA routing disabled");
    }

    @Test
    void absentFunctionsAndDisabledAccessReadAllOnes() {
        assertEquals(-1, cfg(2, 0, 0, 4));
        assertEquals(-1, cfg(0, 1, 0, 4));
        pci.ioWrite(0, 4, 0x00000000);
        assertEquals(-1, pci.ioRead(4, 4));
        pci.ioWrite(0, 4, 0x80010000); // bus 1
        assertEquals(-1, pci.ioRead(4, 4));
    }

    @Test
    void writesHonourTheMask() {
        cfgWrite(0, 0, 0, 4, 0xffffffff);
        assertEquals(0x12378086, cfg(0, 0, 0, 4), "IDs are read-only");
        cfgWrite(1, 0, 0x60, 1, 0x0b);
        assertEquals(0x0b, cfg(1, 0, 0x60, 1));
        cfgWrite(0, 0, 0x59, 1, 0x30);
        assertEquals(0x30, cfg(0, 0, 0x59, 1));
        pci.reset();
        assertEquals(0x80, cfg(1, 0, 0x60, 1), "reset restores power-on bytes");
    }
}
