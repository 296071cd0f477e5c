package org.xenj.hypervisor.internal.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.ShutdownReason;
import org.xenj.hypervisor.internal.exec.CpuEnvironment;
import org.xenj.hypervisor.spi.IoHandler;
import org.xenj.hypervisor.spi.MmioHandler;

class HvmPlatformImplTest {

    private FakeClock clock;
    private FakeGuestContext ctx;
    private HvmPlatformImpl platform;
    private CpuEnvironment cpu;

    @BeforeEach
    void setUp() {
        clock = new FakeClock();
        ctx = new FakeGuestContext(DomainConfig.builder("t").memoryMiB(8).build());
        platform = new HvmPlatformImpl(ctx, clock, 0);
        cpu = platform.environment(0);
    }

    private void initPicLikeLinux() {
        cpu.ioWrite(0x20, 1, 0x11);
        cpu.ioWrite(0x21, 1, 0x30);
        cpu.ioWrite(0x21, 1, 0x04);
        cpu.ioWrite(0x21, 1, 0x01);
        cpu.ioWrite(0xa0, 1, 0x11);
        cpu.ioWrite(0xa1, 1, 0x38);
        cpu.ioWrite(0xa1, 1, 0x02);
        cpu.ioWrite(0xa1, 1, 0x01);
        cpu.ioWrite(0x21, 1, 0x00);
        cpu.ioWrite(0xa1, 1, 0x00);
    }

    @Test
    void unclaimedPortsReadAllOnesAndDropWrites() {
        assertEquals(0xff, cpu.ioRead(0x3f8, 1));
        assertEquals(0xffff, cpu.ioRead(0x1234, 2));
        assertEquals(-1, cpu.ioRead(0xcfc, 4));
        cpu.ioWrite(0x80, 1, 0x55);
        assertEquals(0xff, cpu.ioRead(0x80, 1));
        assertEquals(0xffffffffL, cpu.mmioRead(0xe0000000L, 4));
    }

    @Test
    void pitTickReachesTheCpuThroughThePicAndWakesIt() {
        initPicLikeLinux();
        cpu.ioWrite(0x43, 1, 0x34);
        cpu.ioWrite(0x40, 1, 0xa9);
        cpu.ioWrite(0x40, 1, 0x04); // 1193: 1 ms
        long next = cpu.serviceTimers(clock.now);
        assertFalse(cpu.interruptPending());
        assertEquals(List.of(next), ctx.timerDeadlines, "a host timer wakes a halted vCPU when due");
        int wakesBefore = ctx.wakes;
        clock.now = next;
        ctx.timerTasks.get(0).run(); // the host timer thread services timers
        assertTrue(cpu.interruptPending());
        assertTrue(ctx.wakes > wakesBefore);
        assertEquals(0x30, cpu.acknowledgeInterrupt());
        assertFalse(cpu.interruptPending());
        assertEquals(-1, cpu.acknowledgeInterrupt());
        cpu.ioWrite(0x20, 1, 0x20);
    }

    @Test
    void reprogrammingATimerArmsTheHostTimerAtOnce() {
        assertEquals(Long.MAX_VALUE, cpu.serviceTimers(clock.now), "nothing programmed");
        assertTrue(ctx.timerDeadlines.isEmpty());
        // The CPU caches that "never" and will not ask again soon: the write itself must arm the wake-up.
        cpu.ioWrite(0x43, 1, 0x34);
        cpu.ioWrite(0x40, 1, 0xa9);
        cpu.ioWrite(0x40, 1, 0x04);
        assertEquals(1, ctx.timerDeadlines.size());
        assertTrue(ctx.timerDeadlines.get(0) > clock.now);
        cpu.mmioWrite(0xfee00320L, 4, 0x30);
        cpu.mmioWrite(0xfee00380L, 4, 10);
        assertEquals(2, ctx.timerDeadlines.size(), "an earlier LAPIC deadline re-arms");
    }

    @Test
    void shutdownRequestsReachListeners() {
        int[] stops = new int[1];
        platform.onShutdownRequest(() -> stops[0]++);
        platform.requestShutdown(ShutdownReason.POWEROFF);
        assertEquals(1, stops[0]);
        assertEquals(List.of(ShutdownReason.POWEROFF), ctx.shutdowns);
    }

    @Test
    void deviceModelIrqFromAnotherThreadIsSeen() throws Exception {
        initPicLikeLinux();
        Thread t = new Thread(() -> platform.setIrq(4, true));
        t.start();
        t.join();
        assertTrue(cpu.interruptPending());
        assertEquals(0x34, cpu.acknowledgeInterrupt());
    }

    @Test
    void localApicTimerInterruptsThroughTheMmioPage() {
        cpu.mmioWrite(0xfee003e0L, 4, 0xb);
        cpu.mmioWrite(0xfee00320L, 4, 0xec);
        cpu.mmioWrite(0xfee00380L, 4, 1000);
        clock.advanceNanos(1000);
        cpu.serviceTimers(clock.now);
        assertTrue(cpu.interruptPending());
        assertEquals(0xec, cpu.acknowledgeInterrupt());
        assertEquals(0x00050014L, cpu.mmioRead(0xfee00030L, 4));
        long[] msr = new long[1];
        assertTrue(cpu.readMsr(0x1b, msr));
        assertEquals(0xfee00900L, msr[0]);
    }

    @Test
    void ioApicIsMappedAtItsDefaultAddress() {
        cpu.mmioWrite(0xfec00000L, 4, 1);
        assertEquals(0x00170011L, cpu.mmioRead(0xfec00010L, 4));
    }

    @Test
    void resetControlPortRequestsReboot() {
        cpu.ioWrite(0xcf9, 1, 0x02);
        assertTrue(ctx.shutdowns.isEmpty());
        cpu.ioWrite(0xcf9, 1, 0x06);
        assertEquals(List.of(ShutdownReason.REBOOT), ctx.shutdowns);
    }

    @Test
    void deviceModelMappingsAreCheckedAndDispatchedWithOffsets() {
        int[] seen = new int[2];
        platform.mapIo(0x3f8, 8, new IoHandler() {
            @Override
            public int ioRead(int offset, int size) {
                return 0x40 + offset;
            }

            @Override
            public void ioWrite(int offset, int size, int value) {
                seen[0] = offset;
                seen[1] = value;
            }
        });
        assertEquals(0x45, cpu.ioRead(0x3fd, 1));
        cpu.ioWrite(0x3f9, 1, 0x1ff);
        assertEquals(1, seen[0]);
        assertEquals(0xff, seen[1], "byte access masks the value");
        assertThrows(IllegalStateException.class, () -> platform.mapIo(0x3fc, 1, null));
        assertThrows(IllegalStateException.class, () -> platform.mapIo(0x20, 1, null), "PIC ports are taken");
        MmioHandler dummy = new MmioHandler() {
            @Override
            public long mmioRead(long offset, int size) {
                return offset;
            }

            @Override
            public void mmioWrite(long offset, int size, long value) {
            }
        };
        assertThrows(IllegalStateException.class, () -> platform.mapMmio(0x100000, 0x1000, dummy), "RAM");
        assertThrows(IllegalStateException.class, () -> platform.mapMmio((8L << 20) - 0x1000, 0x2000, dummy), "partly RAM");
        assertThrows(IllegalStateException.class, () -> platform.mapMmio(0xfee00000L, 0x1000, dummy), "LAPIC");
        platform.mapMmio(0xf0000000L, 0x1000, dummy);
        assertEquals(0x10L, cpu.mmioRead(0xf0000010L, 4));
        platform.unmapMmio(0xf0000000L, 0x1000);
        assertEquals(0xffffffffL, cpu.mmioRead(0xf0000010L, 4));
    }

    @Test
    void throwingDeviceIsContained() {
        platform.mapIo(0x300, 1, new IoHandler() {
            @Override
            public int ioRead(int offset, int size) {
                throw new IllegalStateException("boom");
            }

            @Override
            public void ioWrite(int offset, int size, int value) {
                throw new IllegalStateException("boom");
            }
        });
        assertEquals(0xff, cpu.ioRead(0x300, 1));
        cpu.ioWrite(0x300, 1, 1);
        assertEquals(2, ctx.logs.size());
    }

    @Test
    void rtcPeriodicInterruptReachesTheSlavePic() {
        initPicLikeLinux();
        cpu.ioWrite(0x70, 1, 0x0b);
        cpu.ioWrite(0x71, 1, 0x42); // PIE, 24h
        long next = cpu.serviceTimers(clock.now);
        clock.now = next;
        cpu.serviceTimers(clock.now);
        assertTrue(cpu.interruptPending());
        assertEquals(0x38, cpu.acknowledgeInterrupt());
    }
}
