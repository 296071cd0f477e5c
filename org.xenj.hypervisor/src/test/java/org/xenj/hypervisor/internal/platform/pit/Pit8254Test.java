package org.xenj.hypervisor.internal.platform.pit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.platform.FakeClock;
import org.xenj.hypervisor.internal.platform.RecordingIrq;
import org.xenj.hypervisor.spi.IoHandler;

class Pit8254Test {

    private FakeClock clock;
    private RecordingIrq irq;
    private Pit8254 pit;
    private IoHandler ports;
    private IoHandler portB;

    @BeforeEach
    void setUp() {
        clock = new FakeClock();
        irq = new RecordingIrq();
        pit = new Pit8254(clock, irq);
        ports = pit.ports();
        portB = pit.portB();
    }

    private int readWord(int ch) {
        return ports.ioRead(ch, 1) | ports.ioRead(ch, 1) << 8;
    }

    @Test
    void periodicModeRaisesIrq0EveryPeriodAndCoalescesMissedOnes() {
        ports.ioWrite(3, 1, 0x34); // ch0, lo/hi, mode 2
        ports.ioWrite(0, 1, 1193 & 0xff);
        ports.ioWrite(0, 1, 1193 >> 8); // ~1 ms
        long start = clock.now;
        long next = pit.service(clock.now);
        assertEquals(0, irq.rises);
        assertEquals(start + PitChannel.nanosFor(1193), next);
        clock.now = next;
        long after = pit.service(clock.now);
        assertEquals(1, irq.rises);
        assertEquals(start + PitChannel.nanosFor(2 * 1193), after);
        clock.now = start + 10_500_000; // 10.5 periods later: one interrupt, not nine
        pit.service(clock.now);
        assertEquals(2, irq.rises);
        assertTrue(pit.service(clock.now) > clock.now);
    }

    @Test
    void countDecrementsAtTheTimerFrequencyAndLatchFreezesIt() {
        ports.ioWrite(3, 1, 0x30); // ch0 mode 0
        ports.ioWrite(0, 1, 0x00);
        ports.ioWrite(0, 1, 0x80); // 0x8000
        clock.advanceNanos(1_000_000); // 1193 ticks
        ports.ioWrite(3, 1, 0x00); // counter latch ch0
        clock.advanceNanos(5_000_000);
        assertEquals(0x8000 - 1193, readWord(0));
        int live = readWord(0);
        assertEquals(0x8000 - PitChannel.ticksAt(6_000_000), live);
    }

    @Test
    void readBackLatchesStatusThenCount() {
        ports.ioWrite(3, 1, 0xb0); // ch2, lo/hi, mode 0
        int status0 = 0;
        ports.ioWrite(3, 1, 0xe8); // read-back status only (count bit 5 set = no), ch2
        status0 = ports.ioRead(2, 1);
        assertEquals(0x40 | 0x30, status0 & 0xff, "OUT low, null count, lo/hi, mode 0");
        portB.ioWrite(0, 1, 0x01); // gate 2 high
        ports.ioWrite(2, 1, 100);
        ports.ioWrite(2, 1, 0);
        clock.advanceNanos(PitChannel.nanosFor(40));
        ports.ioWrite(3, 1, 0xc8); // read-back count and status of ch2
        int status = ports.ioRead(2, 1);
        assertEquals(0x30, status, "OUT still low, count loaded");
        assertEquals(60, readWord(2));
    }

    @Test
    void channel2OutIsVisibleOnPort61AndGateControlsCounting() {
        // Linux's TSC calibration: gate on, speaker off, mode 0 on ch2, poll bit 5 of 0x61.
        portB.ioWrite(0, 1, (portB.ioRead(0, 1) & ~0x02) | 0x01);
        ports.ioWrite(3, 1, 0xb0);
        ports.ioWrite(2, 1, 1000 & 0xff);
        ports.ioWrite(2, 1, 1000 >> 8);
        assertEquals(0, portB.ioRead(0, 1) & 0x20);
        clock.advanceNanos(PitChannel.nanosFor(999));
        assertEquals(0, portB.ioRead(0, 1) & 0x20);
        clock.advanceNanos(PitChannel.nanosFor(2));
        assertEquals(0x20, portB.ioRead(0, 1) & 0x20, "OUT rises at terminal count");
        assertEquals(0x01, portB.ioRead(0, 1) & 0x0f, "written bits read back");
    }

    @Test
    void lowGateSuspendsModeZeroCounting() {
        ports.ioWrite(3, 1, 0xb0);
        ports.ioWrite(2, 1, 0x00);
        ports.ioWrite(2, 1, 0x10); // 4096, gate still low after reset
        clock.advanceNanos(10_000_000);
        assertEquals(4096, readWord(2));
        portB.ioWrite(0, 1, 0x01);
        clock.advanceNanos(PitChannel.nanosFor(96));
        assertEquals(4000, readWord(2));
    }

    @Test
    void squareWaveOutputIsHighForHalfThePeriod() {
        portB.ioWrite(0, 1, 0x01);
        ports.ioWrite(3, 1, 0xb6); // ch2 mode 3
        ports.ioWrite(2, 1, 100);
        ports.ioWrite(2, 1, 0);
        clock.advanceNanos(PitChannel.nanosFor(10));
        assertEquals(0x20, portB.ioRead(0, 1) & 0x20);
        clock.advanceNanos(PitChannel.nanosFor(50));
        assertEquals(0, portB.ioRead(0, 1) & 0x20);
    }

    @Test
    void oneShotModeFourFiresOnce() {
        ports.ioWrite(3, 1, 0x38); // ch0 mode 4 (Linux one-shot clockevent)
        ports.ioWrite(0, 1, 50);
        ports.ioWrite(0, 1, 0);
        clock.advanceNanos(PitChannel.nanosFor(50));
        long next = pit.service(clock.now);
        assertEquals(1, irq.rises);
        assertEquals(Long.MAX_VALUE, next);
        clock.advanceNanos(1_000_000_000);
        pit.service(clock.now);
        assertEquals(1, irq.rises);
    }

    @Test
    void lsbOnlyAccessModeLoadsOneByte() {
        ports.ioWrite(3, 1, 0x14); // ch0, lsb only, mode 2
        ports.ioWrite(0, 1, 200);
        assertEquals(200, ports.ioRead(0, 1));
    }
}
