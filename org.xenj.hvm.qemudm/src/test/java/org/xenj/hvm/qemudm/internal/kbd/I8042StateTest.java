package org.xenj.hvm.qemudm.internal.kbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/**
 * The 8042's state record is complete: a controller restored from another's record (through its
 * bytes) answers the same port traffic with the same bytes, interrupts and resets from then on.
 */
class I8042StateTest {

    private static final class Probe {
        final StringBuilder events = new StringBuilder();
        final I8042 kbc = new I8042(() -> events.append("reset;"), (irq, level) -> events.append(irq).append('=').append(level).append(';'));
    }

    /**
     * A restore drives both lines to the record's levels, low included: the controllers' record,
     * restored first, may hold a line high that this record has low (input between the records).
     */
    @Test
    void aRestoreDrivesBothLinesLowAsWellAsHigh() throws IOException {
        Probe idle = new Probe();
        Probe b = new Probe();
        b.events.setLength(0);
        b.kbc.restoreState(I8042State.fromBytes(idle.kbc.saveState().toBytes()));
        assertEquals("1=false;12=false;", b.events.toString());
        Probe full = new Probe();
        full.kbc.ioWrite(4, 1, 0x60); // write the command byte: keyboard interrupt on
        full.kbc.ioWrite(0, 1, 0x01);
        full.kbc.ioWrite(4, 1, 0x20); // read it back: a byte waits, IRQ 1 up
        Probe c = new Probe();
        c.events.setLength(0);
        c.kbc.restoreState(I8042State.fromBytes(full.kbc.saveState().toBytes()));
        assertEquals("1=true;12=false;", c.events.toString());
    }

    @Test
    void aRestoredControllerBehavesExactlyLikeTheOriginal() throws IOException {
        SplittableRandom r = new SplittableRandom(0x8042);
        for (int round = 0; round < 300; round++) {
            Probe a = new Probe();
            drive(a.kbc, r, r.nextInt(0, 40));
            Probe b = new Probe();
            b.kbc.restoreState(I8042State.fromBytes(a.kbc.saveState().toBytes()));
            assertEquals(a.kbc.saveState(), b.kbc.saveState(), "restore is the inverse of save");
            a.events.setLength(0);
            b.events.setLength(0);
            long seed = r.nextLong();
            String ra = drive(a.kbc, new SplittableRandom(seed), 120);
            String rb = drive(b.kbc, new SplittableRandom(seed), 120);
            assertEquals(ra, rb, "port reads, round " + round);
            assertEquals(a.events.toString(), b.events.toString(), "interrupts and resets, round " + round);
        }
    }

    /** Commands Linux's i8042/atkbd send, and random bytes, on ports 0x60 (offset 0) and 0x64 (offset 4). */
    private static String drive(I8042 k, SplittableRandom r, int steps) {
        int[] commands = {0x20, 0x60, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xad, 0xae, 0xd1, 0xd2, 0xd3, 0xd4, 0xf0};
        int[] kbd = {0xf2, 0xf4, 0xf5, 0xf0, 0xff, 0xed, 0xee, 0xf3, 0xf6};
        StringBuilder log = new StringBuilder();
        for (int i = 0; i < steps; i++) {
            switch (r.nextInt(5)) {
                case 0 -> log.append(k.ioRead(0, 1)).append(',');
                case 1 -> log.append(k.ioRead(4, 1)).append(',');
                case 2 -> k.ioWrite(4, 1, commands[r.nextInt(commands.length)]);
                case 3 -> k.ioWrite(0, 1, kbd[r.nextInt(kbd.length)]);
                default -> k.ioWrite(0, 1, r.nextInt(256) | 0x01); // bit 0 set: never a reset via the output port
            }
        }
        return log.toString();
    }

    @Test
    void damagedRecordsAreRefused() {
        byte[] good = new I8042(() -> { }, (i, l) -> { }).saveState().toBytes();
        byte[] magic = good.clone();
        magic[1] = 0;
        assertThrows(IOException.class, () -> I8042State.fromBytes(magic));
        byte[] version = good.clone();
        version[7] = 3;
        assertTrue(assertThrows(IOException.class, () -> I8042State.fromBytes(version)).getMessage().contains("version 3"));
        byte[] longer = java.util.Arrays.copyOf(good, good.length + 1);
        assertThrows(IOException.class, () -> I8042State.fromBytes(longer));
    }
}
