package org.xenj.hvm.qemudm.internal.kbd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/** Console keys and pointer through the 8042: scan codes as Linux's atkbd and psmouse read them. */
class Ps2InputTest {

    final List<String> edges = new ArrayList<>();
    final I8042 kbc = new I8042(() -> { }, (irq, level) -> edges.add(irq + (level ? "+" : "-")));

    List<Integer> drain() {
        List<Integer> out = new ArrayList<>();
        while ((kbc.ioRead(4, 1) & 1) != 0) {
            out.add(kbc.ioRead(0, 1));
        }
        return out;
    }

    @Test
    void keysArriveTranslatedToSetOneAsPcsBoot() {
        kbc.keyInput(30, true); // KEY_A
        kbc.keyInput(30, false);
        kbc.keyInput(103, true); // KEY_UP: E0 48
        kbc.keyInput(103, false);
        assertEquals(List.of(0x1e, 0x9e, 0xe0, 0x48, 0xe0, 0xc8), drain());
    }

    @Test
    void everyByteIsItsOwnInterruptEdge() {
        kbc.ioWrite(0, 1, 0xf2); // GETID: ACK, AB, 41
        kbc.ioRead(0, 1);
        kbc.ioRead(0, 1);
        kbc.ioRead(0, 1);
        assertEquals(List.of("1+", "1-", "1+", "1-", "1+", "1-"), edges, "an edge-triggered IRQ 1 must see three bytes");
    }

    @Test
    void withoutTranslationTheKeyboardsOwnSetTwo() {
        kbc.ioWrite(4, 1, 0x60);
        kbc.ioWrite(0, 1, 0x01 | 0x04); // command byte without XLATE
        kbc.keyInput(30, true);
        kbc.keyInput(30, false);
        kbc.keyInput(97, true); // right ctrl: E0 14
        assertEquals(List.of(0x1c, 0xf0, 0x1c, 0xe0, 0x14), drain());
    }

    @Test
    void aBurstLongerThanTheQueueIsDeliveredAsTheGuestReads() {
        for (int i = 0; i < 40; i++) {
            kbc.keyInput(2 + i % 10, true);
            kbc.keyInput(2 + i % 10, false);
        }
        List<Integer> got = drain();
        assertEquals(80, got.size(), "nothing lost to the 32-byte queue");
        assertEquals(0x02, got.get(0));
        assertEquals(0x82, got.get(1));
    }

    @Test
    void mouseProbeAndMovementReports() {
        kbc.ioWrite(4, 1, 0xd4);
        kbc.ioWrite(0, 1, 0xff); // reset
        assertEquals(List.of(0xfa, 0xaa, 0x00), drain());
        kbc.ioWrite(4, 1, 0xd4);
        kbc.ioWrite(0, 1, 0xf2); // identify
        assertEquals(List.of(0xfa, 0x00), drain());
        kbc.pointerInput(10, 10, 0);
        assertEquals(List.of(), drain(), "no reports before the driver enables them");
        kbc.ioWrite(4, 1, 0xd4);
        kbc.ioWrite(0, 1, 0xf4);
        assertEquals(List.of(0xfa), drain());
        kbc.pointerInput(5, -3, 1); // right 5, up 3 on screen, left button
        assertEquals(List.of(0x09, 5, 3), drain());
        kbc.pointerInput(-300, 2, 4); // more than one report's worth; right button
        assertEquals(List.of(0x3a, 0x01, 0xfe, 0x1a, 0xd3, 0x00), drain());
    }

    @Test
    void mouseSurvivesTheStateRecord() throws Exception {
        kbc.ioWrite(4, 1, 0xd4);
        kbc.ioWrite(0, 1, 0xf4);
        drain();
        I8042 other = new I8042(() -> { }, (irq, level) -> { });
        other.restoreState(I8042State.fromBytes(kbc.saveState().toBytes()));
        other.pointerInput(1, 0, 0);
        assertEquals(0x08, other.ioRead(0, 1) & 0xff);
    }
}
