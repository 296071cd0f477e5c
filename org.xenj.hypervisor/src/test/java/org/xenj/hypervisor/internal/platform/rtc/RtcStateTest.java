package org.xenj.hypervisor.internal.platform.rtc;

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
 * The RTC's record is complete and its time relative to the clock: restored at another instant
 * (and on a host whose wall clock says something else), the RTC reads the same time, raises the
 * same periodic, alarm and update interrupts at the same moments and answers every CMOS read as
 * the original under the same accesses and clock steps.
 */
class RtcStateTest {

    private static final long WALL_MILLIS = 1_764_925_200_123L; // 2025-12-05 09:00:00.123 UTC

    private static final class Probe {
        final FakeClock clock = new FakeClock();
        final RecordingIrq irq = new RecordingIrq();
        final Mc146818Rtc rtc;

        Probe(long wallMillis) {
            rtc = new Mc146818Rtc(clock, irq, wallMillis);
        }
    }

    static String drive(Probe p, SplittableRandom r, int steps) {
        StringBuilder log = new StringBuilder();
        var ports = p.rtc.ports();
        for (int i = 0; i < steps; i++) {
            switch (r.nextInt(11)) {
                case 0 -> { // read a register as a driver does: index, then data
                    ports.ioWrite(0, 1, r.nextInt(4) == 0 ? r.nextInt(0x80) : r.nextInt(0x0e));
                    log.append(ports.ioRead(1, 1)).append(',');
                }
                case 1 -> write(ports, Mc146818Rtc.REG_A, r.nextInt(6) == 0 ? r.nextInt(0x80) : 0x20 | r.nextInt(16));
                case 2 -> write(ports, Mc146818Rtc.REG_B, r.nextInt(0x80) | (r.nextInt(10) == 0 ? 0x80 : 0));
                case 3 -> {
                    ports.ioWrite(0, 1, Mc146818Rtc.REG_C);
                    log.append('c').append(ports.ioRead(1, 1)).append(',');
                }
                case 4 -> write(ports, new int[] {0, 2, 4, 6, 7, 8, 9, 0x32}[r.nextInt(8)], r.nextInt(3) == 0 ? r.nextInt(256)
                        : r.nextInt(10) << 4 | r.nextInt(10));
                case 5 -> write(ports, new int[] {1, 3, 5}[r.nextInt(3)], r.nextBoolean() ? 0xc0 : r.nextInt(6) << 4 | r.nextInt(10));
                case 6 -> write(ports, r.nextInt(0x0e, 0x80), r.nextInt(256));
                case 7, 8 -> p.clock.advanceNanos(r.nextInt(6) == 0 ? r.nextLong(1_500_000_000L) : r.nextLong(5_000_000));
                case 9 -> {
                    long next = p.rtc.service(p.clock.now);
                    log.append('n').append(next == Long.MAX_VALUE ? "-" : Long.toString(next - p.clock.now)).append(',');
                }
                default -> log.append('i').append(ports.ioRead(0, 1)).append(',');
            }
        }
        return log.append(" irq ").append(p.irq.events).toString();
    }

    private static void write(org.xenj.hypervisor.spi.IoHandler ports, int reg, int value) {
        ports.ioWrite(0, 1, reg);
        ports.ioWrite(1, 1, value);
    }

    private static Probe restoredCopy(RtcState s, long now) throws IOException {
        Probe b = new Probe(WALL_MILLIS + 86_400_000L * 400); // a host whose wall clock is a year ahead
        b.clock.now = now;
        b.rtc.restoreState(RtcState.fromBytes(s.toBytes()));
        b.irq.events.clear();
        return b;
    }

    @Test
    void aRestoredRtcBehavesExactlyLikeTheOriginal() throws IOException {
        SplittableRandom r = new SplittableRandom(0x146818);
        int pending = 0;
        for (int round = 0; round < 300; round++) {
            Probe a = new Probe(WALL_MILLIS + r.nextLong(1_000_000_000L));
            drive(a, r, r.nextInt(1, 100));
            RtcState saved = a.rtc.saveState();
            if (saved.irqLineHigh()) {
                pending++;
            }
            Probe b = restoredCopy(saved, a.clock.now + r.nextLong(-10_000_000_000L, 10_000_000_000L));
            assertEquals(saved, b.rtc.saveState(), "restore is the inverse of save");
            a.irq.events.clear();
            long seed = r.nextLong();
            assertEquals(drive(a, new SplittableRandom(seed), 300), drive(b, new SplittableRandom(seed), 300), "round " + round);
        }
        assertTrue(pending > 20, "saved with IRQ8 pending often enough: " + pending);
    }

    @Test
    void theTimeAndThePeriodicPhaseGoOnFromTheSave() throws IOException {
        Probe a = new Probe(WALL_MILLIS);
        var ports = a.rtc.ports();
        write(ports, Mc146818Rtc.REG_B, Mc146818Rtc.B_24H | Mc146818Rtc.B_PIE); // 1024 Hz periodic interrupts
        a.clock.advanceNanos(61_000_000_000L + 400_000L);
        a.rtc.service(a.clock.now);
        long untilNext = a.rtc.service(a.clock.now) - a.clock.now;
        Probe b = restoredCopy(a.rtc.saveState(), 42);
        assertEquals(untilNext, b.rtc.service(b.clock.now) - b.clock.now, "periodic phase");
        ports = b.rtc.ports();
        ports.ioWrite(0, 1, Mc146818Rtc.MINUTES);
        assertEquals(0x01, ports.ioRead(1, 1), "09:01 in the guest, whatever the new host's wall clock says");
        ports.ioWrite(0, 1, Mc146818Rtc.SECONDS);
        assertEquals(0x01, ports.ioRead(1, 1));
        ports.ioWrite(0, 1, Mc146818Rtc.REG_C);
        assertEquals(Mc146818Rtc.C_IRQF | Mc146818Rtc.C_PF | Mc146818Rtc.C_UF, ports.ioRead(1, 1),
                "the pending periodic and update flags came across");
        assertEquals(List.of("8-"), b.irq.events, "and reading C lowers IRQ8 as on the original");
    }

    @Test
    void damagedRecordsAreRefusedWithTheReason() {
        byte[] good = new Probe(WALL_MILLIS).rtc.saveState().toBytes();
        byte[] magic = good.clone();
        magic[0] = 1;
        assertTrue(assertThrows(IOException.class, () -> RtcState.fromBytes(magic)).getMessage().contains("not an RTC"));
        byte[] version = good.clone();
        version[7] = 7;
        assertTrue(assertThrows(IOException.class, () -> RtcState.fromBytes(version)).getMessage().contains("version 7"));
        assertThrows(IOException.class, () -> RtcState.fromBytes(Arrays.copyOf(good, good.length - 1)));
        assertThrows(IOException.class, () -> RtcState.fromBytes(Arrays.copyOf(good, good.length + 1)));
        byte[] regD = good.clone();
        regD[8 + Mc146818Rtc.REG_D] = 0;
        assertTrue(assertThrows(IOException.class, () -> RtcState.fromBytes(regD)).getMessage().contains("registers A-D"));
        byte[] index = good.clone();
        index[8 + 128] = (byte) 0x80;
        assertThrows(IOException.class, () -> RtcState.fromBytes(index));
        byte[] year = good.clone();
        year[8 + 129] = 0x7f; // base seconds far beyond year 30000
        assertTrue(assertThrows(IOException.class, () -> RtcState.fromBytes(year)).getMessage().contains("time"));
        byte[] line = good.clone();
        line[line.length - 1] = 2; // IRQ8 is high or low
        assertTrue(assertThrows(IOException.class, () -> RtcState.fromBytes(line)).getMessage().contains("IRQ8"));
        byte[] second = good.clone();
        second[8 + 129 + 16] = 1; // update flags raised up to a second far in the future
        assertTrue(assertThrows(IOException.class, () -> RtcState.fromBytes(second)).getMessage().contains("second"));
    }

    @Test
    void fuzzedRecordsAreRefusedOrRestoredIntoAConsistentRtc() {
        SplittableRandom r = new SplittableRandom(0x5eed1468L);
        List<byte[]> goods = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            Probe a = new Probe(WALL_MILLIS + r.nextLong(1_000_000_000_000L));
            drive(a, r, r.nextInt(1, 80));
            goods.add(a.rtc.saveState().toBytes());
        }
        StateFuzz.run("RTC", 0x146818, 25_000, goods, RtcState::fromBytes, (s, rr) -> {
            Probe b = new Probe(WALL_MILLIS);
            b.rtc.restoreState(s);
            RtcState back = b.rtc.saveState();
            assertEquals(s, back, "the restored device holds exactly the record");
            drive(b, rr, 40);
        });
    }
}
