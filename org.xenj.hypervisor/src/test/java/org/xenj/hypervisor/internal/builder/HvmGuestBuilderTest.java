package org.xenj.hypervisor.internal.builder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.internal.exec.Guest;
import org.xenj.hypervisor.internal.exec.VCpuExecutor;
import org.xenj.hypervisor.internal.platform.FakeGuestContext;
import org.xenj.hypervisor.spi.DeviceModel;
import org.xenj.hypervisor.spi.DeviceModelInstance;
import org.xenj.hypervisor.spi.HvmPlatform;

class HvmGuestBuilderTest {

    @TempDir
    Path dir;
    private Path kernel;
    private final List<String> events = new ArrayList<>();
    private final List<LinuxDirectBoot.EntryState> entries = new ArrayList<>();

    private final DeviceModel model = new DeviceModel() {
        @Override
        public String name() {
            return "test-dm";
        }

        @Override
        public boolean supports(DomainConfig config) {
            return true;
        }

        @Override
        public DeviceModelInstance attach(HvmPlatform platform) {
            events.add("attach " + platform.domid());
            return new DeviceModelInstance() {
                @Override
                public void reset() {
                    events.add("reset");
                }

                @Override
                public void detach() {
                    events.add("detach");
                }
            };
        }
    };

    private final VCpuExecutor idle = new VCpuExecutor() {
        @Override
        public RunExit run(long deadlineNanos) {
            return RunExit.BLOCKED;
        }

        @Override
        public void requestExit() {
        }

        @Override
        public boolean wakeupPending() {
            return false;
        }
    };

    private HvmGuestBuilder builder;

    @BeforeEach
    void setUp() throws Exception {
        kernel = dir.resolve("bzImage");
        Files.write(kernel, TestImages.defaultImage());
        builder = new HvmGuestBuilder((ctx, vcpu, platform, entry) -> {
            assertNotNull(platform.environment(vcpu));
            entries.add(entry);
            return idle;
        });
    }

    private FakeGuestContext context(DomainConfig.Builder b) {
        FakeGuestContext ctx = new FakeGuestContext(b.memoryMiB(64).build());
        ctx.deviceModels.add(model);
        return ctx;
    }

    @Test
    void supportsOnlyHvm() {
        assertTrue(builder.supports(DomainType.HVM));
        assertTrue(!builder.supports(DomainType.PV));
    }

    @Test
    void buildsPlatformDevicesAndVcpus() throws Exception {
        Path rd = dir.resolve("initrd");
        Files.write(rd, new byte[4096]);
        FakeGuestContext ctx = context(DomainConfig.builder("d").vcpus(2).kernel(kernel.toString()).ramdisk(rd.toString())
                .cmdline("console=ttyS0"));
        Guest guest = builder.build(ctx);
        assertEquals(List.of("attach 1"), events);
        assertSame(idle, guest.executor(0));
        assertEquals(2, entries.size());
        assertEquals(0x100000, entries.get(0).eip());
        assertNull(entries.get(1), "application processors wait for SIPI");
        assertEquals(1, ctx.memory.read8(0x100000));
        assertTrue(ctx.logs.stream().anyMatch(l -> l.contains("protocol 2.15")), ctx.logs.toString());
        guest.destroy();
        assertEquals(List.of("attach 1", "detach"), events);
    }

    @Test
    void clearErrorsForMissingPieces() {
        FakeGuestContext noDm = new FakeGuestContext(DomainConfig.builder("x").memoryMiB(64).kernel(kernel.toString()).build());
        HypervisorException e = assertThrows(HypervisorException.class, () -> builder.build(noDm));
        assertTrue(e.getMessage().contains("device model"), e.getMessage());

        e = assertThrows(HypervisorException.class, () -> builder.build(context(DomainConfig.builder("x"))));
        assertTrue(e.getMessage().contains("kernel="), e.getMessage());

        e = assertThrows(HypervisorException.class,
                () -> builder.build(context(DomainConfig.builder("x").kernel(dir.resolve("nope").toString()))));
        assertTrue(e.getMessage().contains("not found"), e.getMessage());
        assertTrue(events.isEmpty(), "nothing attached on failure");
    }

    @Test
    void factoryFailureDetachesTheDeviceModel() {
        HvmGuestBuilder failing = new HvmGuestBuilder((ctx, vcpu, env, entry) -> {
            throw new IllegalStateException("no cpu");
        });
        HypervisorException e = assertThrows(HypervisorException.class,
                () -> failing.build(context(DomainConfig.builder("x").kernel(kernel.toString()))));
        assertTrue(e.getMessage().contains("no cpu"));
        assertEquals(List.of("attach 1", "detach"), events);
    }
}
