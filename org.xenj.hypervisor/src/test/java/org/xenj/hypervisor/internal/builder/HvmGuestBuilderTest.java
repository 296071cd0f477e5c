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

    /** acpi=1: the tables at 0xF0000 and the PM block on the ports; acpi=0/unset: neither; bad values and no APIC refused. */
    @Test
    void acpiKeyWritesTheTablesAndMapsThePmBlock() throws Exception {
        FakeGuestContext ctx = context(DomainConfig.builder("a").vcpus(2).kernel(kernel.toString()).raw(java.util.Map.of("acpi", "1")));
        Guest guest = builder.build(ctx);
        byte[] rsdp = new byte[8];
        ctx.memory.read(AcpiTables.BASE, rsdp, 0, 8);
        assertEquals("RSD PTR ", new String(rsdp, java.nio.charset.StandardCharsets.US_ASCII));
        assertTrue(ctx.logs.stream().anyMatch(l -> l.contains("ACPI tables at 0xf0000")), ctx.logs.toString());
        guest.destroy();

        FakeGuestContext off = context(DomainConfig.builder("b").vcpus(2).kernel(kernel.toString()).raw(java.util.Map.of("acpi", "0")));
        builder.build(off).destroy();
        assertEquals(0, off.memory.read8(AcpiTables.BASE), "acpi=0 writes no RSDP");

        HypervisorException e = assertThrows(HypervisorException.class, () -> builder.build(context(DomainConfig.builder("c")
                .kernel(kernel.toString()).raw(java.util.Map.of("acpi", "1")))));
        assertTrue(e.getMessage().contains("needs the local APIC"), e.getMessage());
        e = assertThrows(HypervisorException.class, () -> builder.build(context(DomainConfig.builder("d").vcpus(2)
                .kernel(kernel.toString()).raw(java.util.Map.of("acpi", "yes please")))));
        assertTrue(e.getMessage().contains("expected 1 or 0"), e.getMessage());
    }

    @Test
    void clearErrorsForMissingPieces() {
        FakeGuestContext noDm = new FakeGuestContext(DomainConfig.builder("x").memoryMiB(64).kernel(kernel.toString()).build());
        HypervisorException e = assertThrows(HypervisorException.class, () -> builder.build(noDm));
        assertTrue(e.getMessage().contains("device model"), e.getMessage());

        e = assertThrows(HypervisorException.class, () -> builder.build(context(DomainConfig.builder("x")
                .raw(java.util.Map.of(BiosFirmware.BIOS_PATH_OVERRIDE, dir.resolve("no-bios.bin").toString())))));
        assertTrue(e.getMessage().contains("BIOS image (bios_path_override=") && e.getMessage().contains("not found"),
                e.getMessage());

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

    /**
     * No kernel=: the firmware image at the top of 4 GiB (read through the platform's MMIO, writes
     * ignored), its tail in the shadow RAM below 1 MiB write-protected for the CPU, the vCPU at the
     * reset vector, and PCI left for the firmware to enumerate.
     */
    @Test
    void withoutAKernelTheFirmwareIsMappedAndTheVcpuStartsAtTheResetVector() throws Exception {
        byte[] image = new byte[0x30000]; // 192 KiB: only the last 128 KiB reach the legacy window
        for (int i = 0; i < image.length; i++) {
            image[i] = (byte) (i * 7 + (i >> 16));
        }
        Path bios = dir.resolve("bios.bin");
        Files.write(bios, image);
        org.xenj.hypervisor.internal.platform.HvmPlatformImpl[] platform = new org.xenj.hypervisor.internal.platform.HvmPlatformImpl[1];
        HvmGuestBuilder b = new HvmGuestBuilder((ctx, vcpu, p, entry) -> {
            platform[0] = p;
            entries.add(entry);
            return idle;
        });
        FakeGuestContext ctx = context(DomainConfig.builder("fw").raw(java.util.Map.of(BiosFirmware.BIOS_PATH_OVERRIDE,
                bios.toString())));
        Guest guest = b.build(ctx);
        assertSame(LinuxDirectBoot.EntryState.RESET_VECTOR, entries.get(0));
        assertTrue(entries.get(0).resetVector());
        org.xenj.hypervisor.internal.exec.CpuEnvironment env = platform[0].environment(0);
        assertEquals(image[image.length - 16] & 0xff, env.mmioRead(0xfffffff0L, 1), "the reset vector's byte");
        assertEquals(image[0] & 0xff, env.mmioRead(0xfffd0000L, 1), "the image starts at 4 GiB - 192 KiB");
        env.mmioWrite(0xfffd0000L, 1, ~image[0] & 0xff);
        assertEquals(image[0] & 0xff, env.mmioRead(0xfffd0000L, 1), "the ROM ignores writes");
        for (int off : new int[] {0, 0x1234, 0x1ffff}) {
            assertEquals(image[0x10000 + off] & 0xff, ctx.memory.read8(0xe0000 + off), "the last 128 KiB at 0xE0000");
        }
        assertTrue(ctx.memory.cpuWriteProtected(0xc0) && ctx.memory.cpuWriteProtected(0xff), "PAM power-on: read-only");
        platform[0].setShadowRamWritable(0xf0000, 0x10000, true);
        assertTrue(!ctx.memory.cpuWriteProtected(0xf0) && ctx.memory.cpuWriteProtected(0xef));
        assertThrows(IllegalArgumentException.class, () -> platform[0].setShadowRamWritable(0xa0000, 0x1000, true));
        assertTrue(ctx.logs.stream().anyMatch(l -> l.contains("HVM BIOS boot: " + bios + " (192 KiB) at 0xfffd0000")),
                ctx.logs.toString());
        guest.destroy();

        Files.write(bios, new byte[0x12345]);
        HypervisorException e = assertThrows(HypervisorException.class, () -> b.build(context(DomainConfig.builder("fw2")
                .raw(java.util.Map.of(BiosFirmware.BIOS_PATH_OVERRIDE, bios.toString())))));
        assertTrue(e.getMessage().contains("64 KiB blocks"), e.getMessage());
    }
}
