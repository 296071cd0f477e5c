package org.xenj.hypervisor.internal.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.internal.builder.HvmGuestBuilder;
import org.xenj.hypervisor.internal.testsupport.FlatElf;
import org.xenj.hypervisor.internal.testsupport.TestCores;
import org.xenj.hypervisor.spi.DeviceModel;
import org.xenj.hypervisor.spi.DeviceModelInstance;
import org.xenj.hypervisor.spi.HvmPlatform;
import org.xenj.hypervisor.spi.IoHandler;

/**
 * Issue 15's dead arrivals, the unit route: a guest that idles as Linux's NO_HZ idle does — its
 * LAPIC timer one-shot armed, then STI;HLT — so that only the host timer (re-armed on the
 * destination) or an interrupt wakes it. Its timer handler counts out to a port, EOIs and re-arms
 * the timer (1 ms). Migrated back and forth between two cores many times, at whatever instant the
 * stop falls (halted, in the handler, between STI and HLT): after every arrival the count must go on.
 */
class HaltedTimerMigrationTest {

    private static final String SECRET = "halted-timer-migration";
    private static final int PORT = 0x510;

    /*
     * nasm, bits 32, org 0x100000 (FlatElf's entry, flat protected mode, no paging):
     *   mov esp, 0x120000; an IDT at 0x110000: every vector -> other, 0xec -> timer, 0x35 -> irq5; lidt
     *   PIC masked (0x21, 0xa1 = 0xff); SVR = 0x1ff; LINT0 masked; IOAPIC pin 5 -> vector 0x35, edge, APIC 0;
     *   out 0x518 (the device may raise IRQ 5 from now on, as a UART once its IER is written)
     *   divide = 1 (0xb); LVT timer = 0xec one-shot; TMICT = 1,000,000 (1 ms)
     *   idle: sti; hlt; jmp idle
     *   timer: push eax, edx; inc [count]; out 0x510, [count]; EOI; TMICT = 1,000,000; pop; iret
     *   irq5: push eax, edx; in eax, 0x518 (the device lowers its line); inc [count5]; out 0x51c, [count5]; EOI; pop; iret
     *   other: out 0x514, eax; cli; hlt
     */
    static final byte[] CODE = bytes(
            0xbc, 0x00, 0x00, 0x12, 0x00, 0x66, 0x8c, 0xc8, 0x0f, 0xb7, 0xd8, 0xbf, 0x00, 0x00, 0x11, 0x00,
            0xb9, 0x00, 0x01, 0x00, 0x00, 0xb8, 0x18, 0x01, 0x10, 0x00, 0x66, 0x89, 0x07, 0x66, 0x89, 0x5f,
            0x02, 0x66, 0xc7, 0x47, 0x04, 0x00, 0x8e, 0xc1, 0xe8, 0x10, 0x66, 0x89, 0x47, 0x06, 0x83, 0xc7,
            0x08, 0xe2, 0xe2, 0xbf, 0x60, 0x07, 0x11, 0x00, 0xb8, 0xcb, 0x00, 0x10, 0x00, 0x66, 0x89, 0x07,
            0xc1, 0xe8, 0x10, 0x66, 0x89, 0x47, 0x06, 0xbf, 0xa8, 0x01, 0x11, 0x00, 0xb8, 0xf4, 0x00, 0x10,
            0x00, 0x66, 0x89, 0x07, 0xc1, 0xe8, 0x10, 0x66, 0x89, 0x47, 0x06, 0x0f, 0x01, 0x1d, 0x21, 0x01,
            0x10, 0x00, 0xb0, 0xff, 0xe6, 0x21, 0xe6, 0xa1, 0xc7, 0x05, 0xf0, 0x00, 0xe0, 0xfe, 0xff, 0x01,
            0x00, 0x00, 0xc7, 0x05, 0x50, 0x03, 0xe0, 0xfe, 0x00, 0x00, 0x01, 0x00, 0xc7, 0x05, 0x00, 0x00,
            0xc0, 0xfe, 0x1b, 0x00, 0x00, 0x00, 0xc7, 0x05, 0x10, 0x00, 0xc0, 0xfe, 0x00, 0x00, 0x00, 0x00,
            0xc7, 0x05, 0x00, 0x00, 0xc0, 0xfe, 0x1a, 0x00, 0x00, 0x00, 0xc7, 0x05, 0x10, 0x00, 0xc0, 0xfe,
            0x35, 0x00, 0x00, 0x00, 0x66, 0xba, 0x18, 0x05, 0xef, 0xc7, 0x05, 0xe0, 0x03, 0xe0, 0xfe, 0x0b,
            0x00, 0x00, 0x00, 0xc7, 0x05, 0x20, 0x03, 0xe0, 0xfe, 0xec, 0x00, 0x00, 0x00, 0xc7, 0x05, 0x80,
            0x03, 0xe0, 0xfe, 0x40, 0x42, 0x0f, 0x00, 0xfb, 0xf4, 0xeb, 0xfc, 0x50, 0x52, 0xff, 0x05, 0x27,
            0x01, 0x10, 0x00, 0xa1, 0x27, 0x01, 0x10, 0x00, 0x66, 0xba, 0x10, 0x05, 0xef, 0xc7, 0x05, 0xb0,
            0x00, 0xe0, 0xfe, 0x00, 0x00, 0x00, 0x00, 0xc7, 0x05, 0x80, 0x03, 0xe0, 0xfe, 0x40, 0x42, 0x0f,
            0x00, 0x5a, 0x58, 0xcf, 0x50, 0x52, 0x66, 0xba, 0x18, 0x05, 0xed, 0xff, 0x05, 0x2b, 0x01, 0x10,
            0x00, 0xa1, 0x2b, 0x01, 0x10, 0x00, 0x66, 0xba, 0x1c, 0x05, 0xef, 0xc7, 0x05, 0xb0, 0x00, 0xe0,
            0xfe, 0x00, 0x00, 0x00, 0x00, 0x5a, 0x58, 0xcf, 0x66, 0xba, 0x14, 0x05, 0xef, 0xfa, 0xf4, 0xeb,
            0xf7, 0xff, 0x07, 0x00, 0x00, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00);

    @TempDir
    Path dir;
    private TestCores.Fixture a, b;
    private int portA, portB;
    private final AtomicInteger last = new AtomicInteger();
    /** The count of IRQ 5 interrupts the guest took (a UART-like device on a host thread raises it). */
    private final AtomicInteger lastIrq = new AtomicInteger();
    private final AtomicReference<String> error = new AtomicReference<>();

    private static byte[] bytes(int... v) {
        byte[] b = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = (byte) v[i];
        }
        return b;
    }

    @BeforeEach
    void start() {
        a = TestCores.start(1);
        b = TestCores.start(1);
        for (TestCores.Fixture f : List.of(a, b)) {
            f.plugins().addBuilder(new HvmGuestBuilder());
            f.plugins().addDeviceModel(new TickCounter());
        }
        portA = a.core().configureMigration(SECRET, true, "127.0.0.1", 0);
        portB = b.core().configureMigration(SECRET, true, "127.0.0.1", 0);
    }

    @AfterEach
    void stop() {
        a.close();
        b.close();
    }

    private final class TickCounter implements DeviceModel {
        @Override
        public String name() {
            return "tick-counter";
        }

        @Override
        public boolean supports(DomainConfig config) {
            return config.type() == DomainType.HVM;
        }

        @Override
        public DeviceModelInstance attach(HvmPlatform platform) {
            return attach(platform, new byte[12]);
        }

        @Override
        public DeviceModelInstance attach(HvmPlatform platform, byte[] state) {
            return attachDevice(platform, ByteBuffer.allocate(12).put(state).array());
        }
    }

    /**
     * Port 0x510: the tick count (each exactly one more than the last); 0x514: an unexpected vector;
     * 0x518: written, enables IRQ 5; read, acknowledges it (the device lowers its line); 0x51c: the IRQ 5 count.
     * Like the UART with console input, a host thread raises the line every millisecond while it is
     * low (an edge-triggered ISA line: the guest sees a request only as a rising edge).
     */
    private DeviceModelInstance attachDevice(HvmPlatform platform, byte[] state) {
        ByteBuffer st = ByteBuffer.wrap(state);
        int[] seen = {st.getInt(), st.getInt()};
        int flags = st.getInt();
        boolean[] raised = {(flags & 1) != 0};
        boolean[] enabled = {(flags & 2) != 0};
        Object lock = new Object();
        IoHandler io = new IoHandler() {
            @Override
            public int ioRead(int offset, int size) {
                if (offset == 8) {
                    synchronized (lock) {
                        raised[0] = false;
                        platform.setIrq(5, false);
                    }
                }
                return 0;
            }

            @Override
            public void ioWrite(int offset, int size, int value) {
                synchronized (lock) {
                    if (offset == 8) {
                        enabled[0] = true;
                        return;
                    }
                    if (offset == 4) {
                        error.compareAndSet(null, "an unexpected vector (exception or interrupt) after tick " + seen[0]);
                        return;
                    }
                    int k = offset == 0 ? 0 : 1;
                    if (value != seen[k] + 1) {
                        error.compareAndSet(null, (k == 0 ? "after tick " : "after IRQ 5 number ") + seen[k] + " came " + value);
                    }
                    seen[k] = value;
                    (k == 0 ? last : lastIrq).set(value);
                }
            }
        };
        platform.mapIo(PORT, 16, io);
        synchronized (lock) {
            platform.setIrq(5, raised[0]); // the line at the record's level, low as well as high
        }
        java.util.concurrent.ScheduledExecutorService source = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
        source.scheduleAtFixedRate(() -> {
            synchronized (lock) {
                if (enabled[0] && !raised[0]) {
                    raised[0] = true;
                    platform.setIrq(5, true);
                }
            }
        }, 1, 1, java.util.concurrent.TimeUnit.MILLISECONDS);
        return new DeviceModelInstance() {
            @Override
            public void reset() {
            }

            @Override
            public void detach() {
                source.shutdownNow();
                try {
                    source.awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                platform.unmapIo(PORT, 16);
            }

            @Override
            public byte[] saveState() {
                synchronized (lock) {
                    return ByteBuffer.allocate(12).putInt(seen[0]).putInt(seen[1]).putInt((raised[0] ? 1 : 0) | (enabled[0] ? 2 : 0)).array();
                }
            }
        };
    }

    @Test
    void aGuestIdlingInHltOnItsLapicTimerTicksOnAfterEveryArrival() throws Exception {
        Path elf = FlatElf.write(dir.resolve("tick.elf"), CODE);
        a.core().create(DomainConfig.builder("tick").type(DomainType.HVM).memoryMiB(16)
                .raw(Map.of("firmware_override", elf.toString(), "xen_platform_pci", "0")).build());
        if (!TestCores.await(() -> last.get() > 50 && lastIrq.get() > 50, 30_000)) {
            a.core().debugKeys("d");
            List<String> log = a.core().dmesg();
            throw new AssertionError("the guest does not tick: " + last.get() + " ticks, " + lastIrq.get() + " IRQ 5, " + error.get() + "\n"
                    + String.join("\n", log.subList(Math.max(0, log.size() - 60), log.size())));
        }
        TestCores.Fixture from = a, to = b;
        int legs = Integer.getInteger("xenj.test.haltedTimerLegs", 30);
        for (int leg = 1; leg <= legs; leg++) {
            Domain d = from.core().lookup("tick").orElseThrow();
            from.core().migrate(d.id(), "127.0.0.1", to == b ? portB : portA, true, 1, 30);
            int at = last.get(), atIrq = lastIrq.get();
            TestCores.Fixture here = to;
            boolean ticks = TestCores.await(() -> last.get() > at + 20 && lastIrq.get() > atIrq + 20, 20_000);
            if (!ticks) {
                here.core().debugKeys("d");
                List<String> log = here.core().dmesg();
                throw new AssertionError("leg " + leg + ": after its arrival the guest is at tick " + last.get() + " (" + at + " before), IRQ 5 number "
                        + lastIrq.get() + " (" + atIrq + " before); "
                        + error.get() + "\n" + String.join("\n", log.subList(Math.max(0, log.size() - 60), log.size())));
            }
            assertEquals(null, error.get(), "leg " + leg);
            from = to;
            to = to == a ? b : a;
        }
        assertEquals(null, error.get());
    }
}
