package org.xenj.hypervisor.internal.platform.pic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.platform.StateFuzz;

/**
 * The PIC pair's record is complete: a pair restored from another's record answers every port
 * read, INT output and INTA vector exactly as the original under the same traffic — with requests
 * pending and in service, rotation, special mask, auto-EOI and half-done ICW sequences saved.
 */
class PicStateTest {

    private static PicPair newPair() {
        return new PicPair(new Object(), () -> { });
    }

    static String drive(PicPair p, SplittableRandom r, int steps) {
        StringBuilder log = new StringBuilder();
        var master = p.ports(true);
        var slave = p.ports(false);
        var elcr = p.elcrPorts();
        for (int i = 0; i < steps; i++) {
            var chip = r.nextBoolean() ? master : slave;
            switch (r.nextInt(10)) {
                case 0 -> { // the ICW sequence an OS sends, sometimes cut short
                    int n = r.nextInt(1, 5);
                    chip.ioWrite(0, 1, 0x11);
                    if (n > 1) {
                        chip.ioWrite(1, 1, r.nextInt(32) << 3);
                    }
                    if (n > 2) {
                        chip.ioWrite(1, 1, chip == master ? 4 : 2);
                    }
                    if (n > 3) {
                        chip.ioWrite(1, 1, r.nextInt(4) == 0 ? 0x03 : 0x01 | (r.nextInt(4) == 0 ? 0x10 : 0));
                    }
                }
                case 1 -> chip.ioWrite(r.nextInt(2), 1, r.nextInt(256)); // any command or data byte
                case 2, 3 -> p.setIrq(r.nextInt(16), r.nextBoolean());
                case 4 -> log.append('v').append(p.outputPending() ? p.acknowledge() : -1).append(',');
                case 5 -> chip.ioWrite(0, 1, r.nextBoolean() ? 0x20 : 0x60 | r.nextInt(8)); // EOI
                case 6 -> chip.ioWrite(1, 1, r.nextInt(256)); // mask
                case 7 -> log.append('p').append(chip.ioRead(r.nextInt(2), 1)).append(',');
                case 8 -> elcr.ioWrite(r.nextInt(2), 1, r.nextInt(256));
                default -> log.append('e').append(elcr.ioRead(0, 2)).append(',');
            }
            log.append(p.outputPending() ? '!' : '.');
        }
        return log.toString();
    }

    @Test
    void aRestoredPairBehavesExactlyLikeTheOriginal() throws IOException {
        SplittableRandom r = new SplittableRandom(0x8259);
        int busy = 0;
        for (int round = 0; round < 400; round++) {
            PicPair a = newPair();
            drive(a, r, r.nextInt(1, 100));
            PicState saved = a.saveState();
            if (saved.master().isr() != 0 && saved.master().irr() != 0) {
                busy++;
            }
            PicPair b = newPair();
            b.restoreState(PicState.fromBytes(saved.toBytes()));
            assertEquals(saved, b.saveState(), "restore is the inverse of save");
            long seed = r.nextLong();
            assertEquals(drive(a, new SplittableRandom(seed), 300), drive(b, new SplittableRandom(seed), 300), "round " + round);
        }
        assertTrue(busy > 40, "saved with requests pending and in service often enough: " + busy);
    }

    @Test
    void anInServiceTimerTickStaysInServiceUntilTheEoi() throws IOException {
        PicPair a = newPair();
        var master = a.ports(true);
        master.ioWrite(0, 1, 0x11);
        master.ioWrite(1, 1, 0x30);
        master.ioWrite(1, 1, 0x04);
        master.ioWrite(1, 1, 0x01);
        master.ioWrite(1, 1, 0x00);
        a.setIrq(0, true);
        a.setIrq(0, false);
        a.setIrq(1, true);
        assertEquals(0x30, a.acknowledge()); // IRQ0 in service, IRQ1 waits behind it
        PicPair b = newPair();
        b.restoreState(PicState.fromBytes(a.saveState().toBytes()));
        assertEquals(false, b.outputPending(), "IRQ1 is held back by the in-service IRQ0");
        b.ports(true).ioWrite(0, 1, 0x20);
        assertTrue(b.outputPending());
        assertEquals(0x31, b.acknowledge());
    }

    @Test
    void damagedRecordsAreRefusedWithTheReason() {
        byte[] good = newPair().saveState().toBytes();
        byte[] magic = good.clone();
        magic[1] = 0;
        assertTrue(assertThrows(IOException.class, () -> PicState.fromBytes(magic)).getMessage().contains("not a PIC"));
        byte[] version = good.clone();
        version[7] = 2;
        assertTrue(assertThrows(IOException.class, () -> PicState.fromBytes(version)).getMessage().contains("version 2"));
        assertThrows(IOException.class, () -> PicState.fromBytes(Arrays.copyOf(good, good.length - 1)));
        assertThrows(IOException.class, () -> PicState.fromBytes(Arrays.copyOf(good, good.length + 3)));
        byte[] elcr = good.clone();
        elcr[8 + 3] = 0x01; // master ELCR: IRQ0 level-triggered cannot be
        assertTrue(assertThrows(IOException.class, () -> PicState.fromBytes(elcr)).getMessage().contains("ELCR"));
        byte[] base = good.clone();
        base[8 + 5] = 0x31; // vector base not a multiple of 8
        assertThrows(IOException.class, () -> PicState.fromBytes(base));
        byte[] step = good.clone();
        step[8 + 7] = 4; // expects ICW4 though ICW1 did not announce one
        assertTrue(assertThrows(IOException.class, () -> PicState.fromBytes(step)).getMessage().contains("step 4"));
        byte[] cascade = good.clone();
        cascade[8] = 0x04; // master IR2 requested while the slave's output is low
        assertTrue(assertThrows(IOException.class, () -> PicState.fromBytes(cascade)).getMessage().contains("IR2"));
    }

    @Test
    void fuzzedRecordsAreRefusedOrRestoredIntoAConsistentPair() {
        SplittableRandom r = new SplittableRandom(0x5eed8259L);
        List<byte[]> goods = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            PicPair a = newPair();
            drive(a, r, r.nextInt(1, 60));
            goods.add(a.saveState().toBytes());
        }
        StateFuzz.run("PIC", 0x8259, 25_000, goods, PicState::fromBytes, (s, rr) -> {
            PicPair b = newPair();
            b.restoreState(s);
            PicState back = b.saveState();
            assertEquals(s, back, "the restored device holds exactly the record");
            drive(b, rr, 40);
        });
    }
}
