package org.xenj.hvm.qemudm.internal.pci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/** The bridges' state records: device-specific configuration travels, and PIIX3's routes are re-pushed. */
class BridgeStateTest {

    @Test
    void piix3RoutesAndRegistersTravel() {
        Piix3 a = new Piix3((l, i) -> { });
        a.configWrite(0x60, 4, 0x0b0a8b0a); // A->10, B disabled(0x8b), C->10, D->11
        a.configWrite(0x4c, 1, 0x11);
        List<String> routes = new ArrayList<>();
        Piix3 b = new Piix3((link, irq) -> routes.add(link + "->" + irq));
        b.restoreConfig(a.saveConfig());
        assertEquals(a.configRead(0x60, 4), b.configRead(0x60, 4));
        assertEquals(0x11, b.configRead(0x4c, 1));
        assertEquals(List.of("0->10", "1->-1", "2->10", "3->11"), routes, "the platform learns the restored routes");
        assertThrows(IllegalArgumentException.class, () -> b.restoreConfig(new byte[10]));
    }

    @Test
    void hostBridgePamRegistersTravel() {
        I440fx a = new I440fx();
        a.configWrite(0x59, 4, 0x33221130);
        I440fx b = new I440fx();
        b.restoreConfig(a.saveConfig());
        for (int off = 0x40; off < 0x100; off += 4) {
            assertEquals(a.configRead(off, 4), b.configRead(off, 4), "offset 0x" + Integer.toHexString(off));
        }
    }
}
