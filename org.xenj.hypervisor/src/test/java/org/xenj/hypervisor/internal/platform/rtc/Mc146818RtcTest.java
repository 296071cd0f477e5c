package org.xenj.hypervisor.internal.platform.rtc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.LocalDateTime;
import java.time.ZoneOffset;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.platform.FakeClock;
import org.xenj.hypervisor.internal.platform.RecordingIrq;
import org.xenj.hypervisor.spi.IoHandler;

class Mc146818RtcTest {

    /** 2026-11-21 14:30:45.250 UTC, a Saturday. */
    private static final long WALL = LocalDateTime.of(2026, 11, 21, 14, 30, 45).toEpochSecond(ZoneOffset.UTC) * 1000 + 250;

    private FakeClock clock;
    private RecordingIrq irq;
    private Mc146818Rtc rtc;
    private IoHandler ports;

    @BeforeEach
    void setUp() {
        clock = new FakeClock();
        irq = new RecordingIrq();
        rtc = new Mc146818Rtc(clock, irq, WALL);
        ports = rtc.ports();
    }

    private int read(int reg) {
        ports.ioWrite(0, 1, reg);
        return ports.ioRead(1, 1);
    }

    private void write(int reg, int value) {
        ports.ioWrite(0, 1, reg);
        ports.ioWrite(1, 1, value);
    }

    @Test
    void timeReadsInBcdAndFollowsTheClock() {
        assertEquals(0x45, read(0x00));
        assertEquals(0x30, read(0x02));
        assertEquals(0x14, read(0x04));
        assertEquals(0x07, read(0x06), "Saturday = 7 (Sunday = 1)");
        assertEquals(0x21, read(0x07));
        assertEquals(0x11, read(0x08));
        assertEquals(0x26, read(0x09));
        assertEquals(0x20, read(0x32));
        clock.advanceNanos(15_000_000_000L);
        assertEquals(0x00, read(0x00), "45.25 s + 15 s = next minute");
        assertEquals(0x31, read(0x02));
    }

    @Test
    void binaryAndTwelveHourFormats() {
        write(0x0b, 0x04); // binary, 12 h
        assertEquals(45, read(0x00));
        assertEquals(0x80 | 2, read(0x04), "2 PM");
    }

    @Test
    void updateInProgressShowsInTheLast244Microseconds() {
        // 250 ms into the second at start
        assertEquals(0, read(0x0a) & 0x80);
        clock.advanceNanos(750_000_000L - 200_000);
        assertEquals(0x80, read(0x0a) & 0x80);
        clock.advanceNanos(300_000);
        assertEquals(0, read(0x0a) & 0x80);
        assertEquals(0x26, read(0x0a) & 0x7f);
    }

    @Test
    void periodicInterruptAt1024HzRaisesIrq8AndRegisterCClearsIt() {
        write(0x0b, 0x02 | 0x40); // PIE
        long next = rtc.service(clock.now);
        assertTrue(next > clock.now && next - clock.now <= 976_563);
        clock.now = next;
        rtc.service(clock.now);
        assertTrue(irq.levels[8]);
        assertEquals(0xc0, read(0x0c));
        assertFalse(irq.levels[8]);
        assertEquals(0, read(0x0c));
    }

    @Test
    void updateEndedInterruptOncePerSecond() {
        write(0x0b, 0x02 | 0x10); // UIE
        long next = rtc.service(clock.now);
        assertEquals(750_000_000L, next - clock.now);
        clock.now = next;
        rtc.service(clock.now);
        assertTrue(irq.levels[8]);
        assertEquals(0x90, read(0x0c) & 0xb0, "IRQF + UF (PF also runs at 1024 Hz, unmasked flags still set)");
    }

    @Test
    void alarmFiresWhenTimeMatches() {
        write(0x01, 0x47);
        write(0x03, 0xc0); // any minute
        write(0x05, 0xc0); // any hour
        write(0x0b, 0x02 | 0x20); // AIE
        clock.advanceNanos(800_000_000L); // 14:30:46
        rtc.service(clock.now);
        assertFalse(irq.levels[8]);
        read(0x0c);
        clock.advanceNanos(1_000_000_000L); // 14:30:47
        rtc.service(clock.now);
        assertTrue(irq.levels[8]);
        assertEquals(0x20, read(0x0c) & 0x20);
    }

    @Test
    void settingTheTimeWithSetBit() {
        write(0x0b, 0x82); // SET
        write(0x04, 0x09);
        write(0x02, 0x15);
        write(0x00, 0x00);
        clock.advanceNanos(5_000_000_000L);
        assertEquals(0x00, read(0x00), "halted while SET");
        write(0x0b, 0x02);
        clock.advanceNanos(2_600_000_000L); // first update 0.5 s after SET clears
        assertEquals(0x09, read(0x04));
        assertEquals(0x15, read(0x02));
        assertEquals(0x03, read(0x00));
    }

    @Test
    void nonsenseDateKeepsTheClockRunning() {
        write(0x0b, 0x82);
        write(0x08, 0x13); // month 13
        write(0x0b, 0x02);
        clock.advanceNanos(1_000_000_000L);
        assertEquals(0x46, read(0x00));
    }

    @Test
    void cmosMemorySizeBytes() {
        rtc.setMemorySize(32L << 20, 0);
        assertEquals(640, read(0x15) | read(0x16) << 8);
        assertEquals((32 - 1) * 1024, read(0x17) | read(0x18) << 8);
        assertEquals((32 - 1) * 1024, read(0x30) | read(0x31) << 8);
        assertEquals((32 - 16) * 16, read(0x34) | read(0x35) << 8);
        rtc.setMemorySize(256L << 20, 0);
        assertEquals(0xffff, read(0x17) | read(0x18) << 8, "capped at 64 MiB - 1 KiB");
        assertEquals((256 - 16) * 16, read(0x34) | read(0x35) << 8);
        assertEquals(0x80, read(0x0d));
        write(0x40, 0x5a);
        assertEquals(0x5a, read(0x40), "plain CMOS RAM");
    }
}
