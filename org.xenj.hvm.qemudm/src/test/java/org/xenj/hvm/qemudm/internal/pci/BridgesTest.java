package org.xenj.hvm.qemudm.internal.pci;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class BridgesTest {

    @Test
    void bridgesIdentifyThemselves() {
        assertEquals(0x8086, new I440fx().identity().vendor());
        assertEquals(0x1237, new I440fx().identity().device());
        assertEquals(0x060000, new I440fx().identity().classCode());
        assertEquals(0x7000, new Piix3((l, i) -> {
        }).identity().device());
        assertEquals(0x060100, new Piix3((l, i) -> {
        }).identity().classCode());
    }

    @Test
    void piix3PassesEveryPirqRouteWriteToThePlatform() {
        List<String> routes = new ArrayList<>();
        Piix3 p = new Piix3((link, irq) -> routes.add(link + "->" + irq));
        assertEquals(0x80808080, p.configRead(0x60, 4), "routing disabled at power-on");
        p.configWrite(0x60, 1, 0x0b);
        p.configWrite(0x62, 2, 0x8a0a); // PIRQC -> 10, PIRQD disabled
        p.configWrite(0x4c, 1, 0x11); // not a route
        assertEquals(List.of("0->11", "2->10", "3->-1"), routes);
        assertEquals(0x0b, p.configRead(0x60, 1));
        p.configWrite(0x61, 1, 0x70); // reserved bits 4-6 are read-only: IRQ 0 stays what the mask lets through
        assertEquals(0x00, p.configRead(0x61, 1));
        routes.clear();
        p.reset();
        assertEquals(0x80, p.configRead(0x60, 1));
        assertEquals(List.of("0->-1", "1->-1", "2->-1", "3->-1"), routes);
    }

    @Test
    void hostBridgeKeepsItsWriteMasks() {
        I440fx h = new I440fx();
        h.configWrite(0x59, 1, 0x30);
        assertEquals(0x30, h.configRead(0x59, 1));
        h.configWrite(0x72, 1, 0xff);
        assertEquals(0x7f, h.configRead(0x72, 1));
        h.reset();
        assertEquals(0x02, h.configRead(0x72, 1));
    }
}
