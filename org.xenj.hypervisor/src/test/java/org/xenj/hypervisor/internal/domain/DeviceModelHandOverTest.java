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


    @TempDir
    Path dir;
    private TestCores.Fixture fx;

    /** What every device instance saw, in order: the next value must always be the last + 1. */
    private final CounterDeviceModel counter = new CounterDeviceModel();
    private final AtomicInteger last = counter.last;
    private final AtomicReference<String> error = counter.error;

    @BeforeEach
    void start() {
        fx = TestCores.start(1);
        fx.plugins().addBuilder(new HvmGuestBuilder());
    }

    @AfterEach
    void stop() {
        fx.close();
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
        CounterDeviceModel model = counter;
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
            current = new CounterDeviceModel(counter); // the updated bundle's model
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
