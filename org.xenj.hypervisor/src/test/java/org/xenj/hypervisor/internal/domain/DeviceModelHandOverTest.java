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
import org.xenj.hypervisor.api.DomainState;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.internal.builder.HvmGuestBuilder;
import org.xenj.hypervisor.internal.testsupport.FlatElf;
import org.xenj.hypervisor.internal.testsupport.TestCores;
import org.xenj.hypervisor.spi.DeviceModel;
import org.xenj.hypervisor.spi.DeviceModelInstance;
import org.xenj.hypervisor.spi.HvmPlatform;
import org.xenj.hypervisor.spi.IoHandler;

/**
 * A device model replaced ten times while its domain runs: a real HVM guest on the IA-32 CPU writes
 * 1, 2, 3, ... to the model's I/O port without end; each time the model goes away (as when its
 * bundle is updated) the core pauses the domain, takes the device's state record and detaches it,
 * and the next model of the same name takes over with that record. Not one value may be lost or
 * seen twice, the domain runs again after each hand-over, and the log shows each with its pause.
 */
class DeviceModelHandOverTest {

    private static final int PORT = 0x500;

    @TempDir
    Path dir;
    private TestCores.Fixture fx;

    /** What every device instance saw, in order: the next value must always be the last + 1. */
    private final AtomicInteger last = new AtomicInteger();
    private final AtomicReference<String> error = new AtomicReference<>();

    @BeforeEach
    void start() {
        fx = TestCores.start(1);
        fx.plugins().addBuilder(new HvmGuestBuilder());
    }

    @AfterEach
    void stop() {
        fx.close();
    }

    /** A counter device: its only state is the last value it was given. */
    private final class CounterModel implements DeviceModel {
        @Override
        public String name() {
            return "counter-dm";
        }

        @Override
        public boolean supports(DomainConfig config) {
            return config.type() == DomainType.HVM;
        }

        @Override
        public DeviceModelInstance attach(HvmPlatform platform) {
            return attach(platform, new byte[4]);
        }

        @Override
        public DeviceModelInstance attach(HvmPlatform platform, byte[] state) {
            int[] seen = {ByteBuffer.wrap(state).getInt()};
            IoHandler io = new IoHandler() {
                @Override
                public int ioRead(int offset, int size) {
                    return 0;
                }

                @Override
                public synchronized void ioWrite(int offset, int size, int value) {
                    if (value != seen[0] + 1) {
                        error.compareAndSet(null, "after " + seen[0] + " came " + value);
                    }
                    seen[0] = value;
                    last.set(value);
                }
            };
            platform.mapIo(PORT, 4, io);
            return new DeviceModelInstance() {
                @Override
                public void reset() {
                }

                @Override
                public void detach() {
                    platform.unmapIo(PORT, 4);
                }

                @Override
                public byte[] saveState() {
                    synchronized (io) {
                        return ByteBuffer.allocate(4).putInt(seen[0]).array();
                    }
                }
            };
        }
    }

    /** An ELF32 image at 1 MiB: mov edx, 0x500; xor eax, eax; l: inc eax; out dx, eax; jmp l. */
    private Path counterImage() throws Exception {
        return FlatElf.write(dir.resolve("counter.elf"),
                new byte[] {(byte) 0xBA, 0x00, 0x05, 0x00, 0x00, 0x31, (byte) 0xC0, 0x40, (byte) 0xEF, (byte) 0xEB, (byte) 0xFC});
    }

    private long handOvers() {
        return fx.core().dmesg().stream().filter(l -> l.contains("device model counter-dm handed over, domain paused")).count();
    }

    @Test
    void tenHandOversLoseAndRepeatNothing() throws Exception {
        CounterModel model = new CounterModel();
        fx.plugins().addDeviceModel(model);
        Domain d = fx.core().create(DomainConfig.builder("counter").type(DomainType.HVM).memoryMiB(16)
                .raw(Map.of("firmware_override", counterImage().toString(), "xen_platform_pci", "0")).build());
        assertTrue(TestCores.await(() -> last.get() > 1000, 10_000), "the guest counts: " + last.get());
        DeviceModel current = model;
        for (int i = 0; i < 10; i++) {
            int before = last.get();
            fx.plugins().removeDeviceModel(current); // the bundle stops: state taken, domain paused
            int atPause = last.get();
            Thread.sleep(20);
            assertEquals(atPause, last.get(), "nothing runs while no model serves the domain");
            assertEquals(DomainState.PAUSED, d.state());
            current = new CounterModel(); // the updated bundle's model
            fx.plugins().addDeviceModel(current);
            int from = last.get();
            assertTrue(TestCores.await(() -> last.get() > from + 1000, 10_000), "counting resumes after hand-over " + i);
            assertTrue(atPause >= before);
        }
        assertEquals(null, error.get(), "every value exactly once, in order");
        TestCores.await(() -> handOvers() == 10, 5_000);
        List<String> log = fx.core().dmesg();
        assertEquals(10, handOvers(), String.join("\n", log));
        log.stream().filter(l -> l.contains("handed over")).forEach(System.out::println);
        fx.core().destroy(d.id());
    }
}
