package org.xenj.hypervisor.internal.platform.pit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.platform.FakeClock;
import org.xenj.hypervisor.internal.platform.RecordingIrq;
import org.xenj.hypervisor.internal.platform.StateFuzz;

/**
 * The PIT's record is complete and relative to the clock: a PIT restored from another's record at
 * another instant answers every port read, OUT on port 0x61 and IRQ0 deadline exactly as the
 * original does under the same accesses and clock steps. Damaged records are refused.
 */
class PitStateTest {

    /** Port 0x61 bit 4 follows the absolute clock (DRAM refresh): keep the restored clock in phase with it. */
    private static final long REFRESH_CYCLE_NS = 2 * 15_085;

    private static final class Probe {
        final FakeClock clock = new FakeClock();
        final RecordingIrq irq = new RecordingIrq();
        final Pit8254 pit = new Pit8254(clock, irq);
    }

    /** Random guest traffic: programming, counts, latches, read-backs, gate changes, reads and clock steps. */
    static String drive(Probe p, SplittableRandom r, int steps) {
        StringBuilder log = new StringBuilder();
        var ports = p.pit.ports();
        var portB = p.pit.portB();
        for (int i = 0; i < steps; i++) {
            int ch = r.nextInt(3);
            switch (r.nextInt(9)) {
                case 0 -> { // a full programming as drivers do it
                    ports.ioWrite(3, 1, ch << 6 | 0x30 | r.nextInt(8) << 1 | (r.nextInt(8) == 0 ? 1 : 0));
                    int count = r.nextBoolean() ? r.nextInt(1, 3000) : r.nextInt(0x10000);
                    ports.ioWrite(ch, 1, count & 0xff);
                    ports.ioWrite(ch, 1, count >>> 8);
                }
                case 1 -> ports.ioWrite(3, 1, r.nextInt(256)); // any control word, incl. latch and read-back
                case 2 -> ports.ioWrite(ch, 1, r.nextInt(256));
                case 3, 4 -> log.append('r').append(ports.ioRead(ch, 1)).append(',');
                case 5 -> portB.ioWrite(0, 1, r.nextInt(16));
                case 6 -> log.append('b').append(portB.ioRead(0, 1)).append(',');
                case 7 -> p.clock.advanceNanos(r.nextInt(8) == 0 ? r.nextLong(50_000_000) : r.nextLong(2_000_000));
                default -> {
                    long next = p.pit.service(p.clock.now);
                    log.append('n').append(next == Long.MAX_VALUE ? "-" : Long.toString(next - p.clock.now)).append(',');
                }
            }
        }
        log.append(" irq ").append(p.irq.events);
        return log.toString();
    }

    private static Probe restoredCopy(PitState s, SplittableRandom r, long nowOf) throws IOException {
        Probe b = new Probe();
        b.clock.now = nowOf + REFRESH_CYCLE_NS * r.nextLong(1, 1_000_000_000L); // another instant, later or earlier
        b.pit.restoreState(PitState.fromBytes(s.toBytes()));
        return b;
    }

    @Test
    void aRestoredPitBehavesExactlyLikeTheOriginal() throws IOException {
        SplittableRandom r = new SplittableRandom(0x8254);
        int midCount = 0;
        for (int round = 0; round < 300; round++) {
            Probe a = new Probe();
            drive(a, r, r.nextInt(1, 80));
            PitState saved = a.pit.saveState();
            if (saved.ch0().armed() && saved.ch0().elapsedNanos() > 0) {
                midCount++;
            }
            Probe b = restoredCopy(saved, r, a.clock.now);
            assertEquals(saved, b.pit.saveState(), "restore is the inverse of save");
            a.irq.events.clear();
            b.irq.events.clear();
            long seed = r.nextLong();
            assertEquals(drive(a, new SplittableRandom(seed), 300), drive(b, new SplittableRandom(seed), 300), "round " + round);
        }
        assertTrue(midCount > 50, "saved mid-count often enough: " + midCount);
    }

    @Test
    void aPeriodicTimerSavedMidPeriodFiresOnTimeAfterRestore() throws IOException {
        Probe a = new Probe();
        var ports = a.pit.ports();
        ports.ioWrite(3, 1, 0x34); // ch0 mode 2, 1193 ticks (~1 ms)
        ports.ioWrite(0, 1, 1193 & 0xff);
        ports.ioWrite(0, 1, 1193 >> 8);
        a.clock.advanceNanos(2_400_000);
        a.pit.service(a.clock.now); // two periods gone, coalesced into one IRQ0
        long untilNext = a.pit.service(a.clock.now) - a.clock.now;
        Probe b = restoredCopy(a.pit.saveState(), new SplittableRandom(1), a.clock.now);
        assertEquals(untilNext, b.pit.service(b.clock.now) - b.clock.now, "the next IRQ0 is as far away as before the save");
        assertTrue(untilNext > 0 && untilNext < 1_000_000, "mid-period: " + untilNext);
        b.clock.advanceNanos(untilNext);
        b.pit.service(b.clock.now);
        assertEquals(List.of("0+", "0-"), b.irq.events, "IRQ0 at the due instant");
    }

    @Test
    void damagedRecordsAreRefusedWithTheReason() {
        Probe a = new Probe();
        byte[] good = a.pit.saveState().toBytes();
        byte[] magic = good.clone();
        magic[0] = 0;
        assertTrue(assertThrows(IOException.class, () -> PitState.fromBytes(magic)).getMessage().contains("not a PIT"));
        byte[] version = good.clone();
        version[7] = 9;
        assertTrue(assertThrows(IOException.class, () -> PitState.fromBytes(version)).getMessage().contains("version 9"));
        assertThrows(IOException.class, () -> PitState.fromBytes(Arrays.copyOf(good, good.length - 1)));
        assertTrue(assertThrows(IOException.class, () -> PitState.fromBytes(Arrays.copyOf(good, good.length + 1))).getMessage()
                .contains("trailing"));
        byte[] mode = good.clone();
        mode[8] = 6; // channel 0's mode
        assertTrue(assertThrows(IOException.class, () -> PitState.fromBytes(mode)).getMessage().contains("mode 6"));
        byte[] reload = good.clone();
        Arrays.fill(reload, 10, 14, (byte) 0); // channel 0's reload 0
        assertThrows(IOException.class, () -> PitState.fromBytes(reload));
        byte[] gate = good.clone();
        gate[gate.length - 1] = 1; // port 0x61 says gate 2 is high, channel 2 says low
        assertTrue(assertThrows(IOException.class, () -> PitState.fromBytes(gate)).getMessage().contains("gates"));
        PitState.Channel c = a.pit.saveState().ch0();
        assertThrows(IllegalArgumentException.class, () -> new PitState.Channel(c.mode(), c.access(), c.bcd(), c.reload(), true,
                false, -5, true, -1, 0, false, 0, false, 0, false, false, 0, false, false, 0), "negative count time");
        assertThrows(IllegalArgumentException.class, () -> new PitState.Channel(2, 3, false, 100, true, false, 1000, true, 7, 0,
                false, 0, false, 0, false, false, 0, false, false, 0), "a frozen count in mode 2 with the gate high");
        assertThrows(IllegalArgumentException.class, () -> new PitState.Channel(2, 3, false, 100, true, false, 1000, true, -1, 0,
                false, 1_000_000, false, 0, false, false, 0, false, false, 0), "more periods signalled than elapsed");
    }

    @Test
    void fuzzedRecordsAreRefusedOrRestoredIntoAConsistentPit() {
        SplittableRandom r = new SplittableRandom(0x5eed8254L);
        List<byte[]> goods = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            Probe a = new Probe();
            drive(a, r, r.nextInt(1, 60));
            goods.add(a.pit.saveState().toBytes());
        }
        StateFuzz.run("PIT", 0x8254, 25_000, goods, PitState::fromBytes, (s, rr) -> {
            Probe b = new Probe();
            b.pit.restoreState(s);
            PitState back = b.pit.saveState();
            assertEquals(s, back, "the restored device holds exactly the record");
            drive(b, rr, 40);
        });
    }
}
