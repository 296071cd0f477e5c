package org.xenj.hypervisor.internal.platform.apic;

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
 * The I/O APIC's record is complete: restored from another's record, it answers every register
 * read and sends exactly the same interrupt messages under the same pin changes and EOIs — with
 * level interrupts in flight (remote IRR) and asserted pins saved.
 */
class IoApicStateTest {

    private static final class Probe {
        final StringBuilder sent = new StringBuilder();
        final IoApic ioApic = new IoApic(new Object());

        Probe() {
            ioApic.setBus(new ApicBus() {
                @Override
                public void deliver(LocalApic source, int shorthand, boolean logical, int destination, int mode, int vector,
                        boolean level) {
                    sent.append(String.format("%s%d/%d/%d/%s,", logical ? "L" : "P", destination, mode, vector, level));
                }

                @Override
                public void endOfInterrupt(int vector) {
                }
            });
        }
    }

    static String drive(Probe p, SplittableRandom r, int steps) {
        StringBuilder log = new StringBuilder();
        var mmio = p.ioApic.mmio();
        for (int i = 0; i < steps; i++) {
            int pin = r.nextInt(IoApic.PINS);
            switch (r.nextInt(7)) {
                case 0 -> { // program an entry as an OS does: vector, trigger, destination, unmasked or not
                    mmio.mmioWrite(0, 4, 0x11 + 2 * pin);
                    mmio.mmioWrite(0x10, 4, (long) r.nextInt(4) << 24);
                    mmio.mmioWrite(0, 4, 0x10 + 2 * pin);
                    mmio.mmioWrite(0x10, 4, 0x30 + r.nextInt(8) | (r.nextBoolean() ? 1 << 15 : 0) | (r.nextInt(3) == 0 ? 1 << 16 : 0));
                }
                case 1 -> {
                    mmio.mmioWrite(0, 4, r.nextInt(256));
                    mmio.mmioWrite(0x10, 4, r.nextInt() & 0xffffffffL);
                }
                case 2, 3 -> p.ioApic.setPin(pin, r.nextBoolean());
                case 4 -> p.ioApic.endOfInterrupt(0x30 + r.nextInt(8));
                case 5 -> {
                    mmio.mmioWrite(0, 4, r.nextInt(0x40));
                    log.append(mmio.mmioRead(0x10, 4)).append(',');
                }
                default -> log.append('s').append(mmio.mmioRead(0, 4)).append(',');
            }
        }
        return log.append(" sent ").append(p.sent).toString();
    }

    @Test
    void aRestoredIoApicBehavesExactlyLikeTheOriginal() throws IOException {
        SplittableRandom r = new SplittableRandom(0x82093);
        int inFlight = 0;
        for (int round = 0; round < 300; round++) {
            Probe a = new Probe();
            drive(a, r, r.nextInt(1, 120));
            IoApicState saved = a.ioApic.saveState();
            if (Arrays.stream(saved.redirection()).anyMatch(e -> (e & IoApic.REMOTE_IRR) != 0)) {
                inFlight++;
            }
            Probe b = new Probe();
            b.ioApic.restoreState(IoApicState.fromBytes(saved.toBytes()));
            assertEquals(saved, b.ioApic.saveState(), "restore is the inverse of save");
            assertEquals("", b.sent.toString(), "restoring sends nothing");
            a.sent.setLength(0);
            long seed = r.nextLong();
            assertEquals(drive(a, new SplittableRandom(seed), 300), drive(b, new SplittableRandom(seed), 300), "round " + round);
        }
        assertTrue(inFlight > 30, "saved with level interrupts in flight often enough: " + inFlight);
    }

    @Test
    void anEoiAfterRestoreResendsAStillAssertedLevelInterrupt() throws IOException {
        Probe a = new Probe();
        a.ioApic.writeRegister(0x10 + 2 * 11, 0x41 | 1 << 15); // pin 11: vector 0x41, level
        a.ioApic.setPin(11, true);
        assertEquals("P0/0/65/true,", a.sent.toString());
        Probe b = new Probe();
        b.ioApic.restoreState(IoApicState.fromBytes(a.ioApic.saveState().toBytes()));
        b.ioApic.endOfInterrupt(0x41);
        assertEquals("P0/0/65/true,", b.sent.toString(), "remote IRR and the asserted pin both came across");
    }

    @Test
    void damagedRecordsAreRefusedWithTheReason() {
        byte[] good = new Probe().ioApic.saveState().toBytes();
        byte[] magic = good.clone();
        magic[3] = 0;
        assertTrue(assertThrows(IOException.class, () -> IoApicState.fromBytes(magic)).getMessage().contains("not an I/O APIC"));
        byte[] version = good.clone();
        version[7] = 5;
        assertTrue(assertThrows(IOException.class, () -> IoApicState.fromBytes(version)).getMessage().contains("version 5"));
        assertThrows(IOException.class, () -> IoApicState.fromBytes(Arrays.copyOf(good, good.length - 8)));
        assertThrows(IOException.class, () -> IoApicState.fromBytes(Arrays.copyOf(good, good.length + 1)));
        byte[] id = good.clone();
        id[9] = 0x10; // 4-bit ID
        assertThrows(IOException.class, () -> IoApicState.fromBytes(id));
        byte[] pins = good.clone();
        pins[10] = 1; // pin 24 does not exist
        assertThrows(IOException.class, () -> IoApicState.fromBytes(pins));
        byte[] remoteIrrOnEdge = good.clone();
        remoteIrrOnEdge[14 + 6] = 0x40; // entry 0: remote IRR without level trigger
        assertTrue(assertThrows(IOException.class, () -> IoApicState.fromBytes(remoteIrrOnEdge)).getMessage().contains("entry 0"));
        byte[] reserved = good.clone();
        reserved[14 + 8 + 3] = 1; // entry 1: reserved bit 32
        assertTrue(assertThrows(IOException.class, () -> IoApicState.fromBytes(reserved)).getMessage().contains("entry 1"));
    }

    @Test
    void fuzzedRecordsAreRefusedOrRestoredIntoAConsistentIoApic() {
        SplittableRandom r = new SplittableRandom(0x5eed8209L);
        List<byte[]> goods = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            Probe a = new Probe();
            drive(a, r, r.nextInt(1, 80));
            goods.add(a.ioApic.saveState().toBytes());
        }
        StateFuzz.run("IOAPIC", 0x82093, 25_000, goods, IoApicState::fromBytes, (s, rr) -> {
            Probe b = new Probe();
            b.ioApic.restoreState(s);
            IoApicState back = b.ioApic.saveState();
            assertEquals(s, back, "the restored device holds exactly the record");
            drive(b, rr, 40);
        });
    }
}
