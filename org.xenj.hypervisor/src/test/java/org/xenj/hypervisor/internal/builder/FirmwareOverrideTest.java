package org.xenj.hypervisor.internal.builder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.api.ShutdownReason;
import org.xenj.hypervisor.internal.exec.Guest;
import org.xenj.hypervisor.internal.exec.VCpuExecutor.RunExit;
import org.xenj.hypervisor.internal.platform.FakeGuestContext;
import org.xenj.hypervisor.internal.testsupport.NullDeviceModel;

/**
 * {@code firmware_override=}: guests/fw-test (built from source) is loaded at its physical addresses
 * and entered like hvmloader; it checks its entry state itself and reports on Xen's debug port, then
 * powers off with cli; hlt. Bad images are refused at build time with the reason.
 */
class FirmwareOverrideTest {

    private static Path image;

    @TempDir
    Path dir;

    @BeforeAll
    static void buildImage() throws Exception {
        Path script = Path.of("..", "guests", "fw-test", "build.sh").toAbsolutePath().normalize();
        image = Path.of("target", "fw-test", "fw-test.elf").toAbsolutePath();
        Process p = new ProcessBuilder("sh", script.toString(), image.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "image build timed out");
        assertEquals(0, p.exitValue(), "building guests/fw-test failed (needs gcc -m32):\n" + out);
    }

    private static FakeGuestContext context(String firmware) {
        FakeGuestContext ctx = new FakeGuestContext(DomainConfig.builder("fw").memoryMiB(16)
                .raw(Map.of("firmware_override", firmware)).build());
        ctx.deviceModels.add(new NullDeviceModel());
        return ctx;
    }

    @Test
    void theImageRunsAsHvmloaderWould() {
        FakeGuestContext ctx = context(image.toString());
        Guest guest = new HvmGuestBuilder().build(ctx);
        try {
            RunExit exit = guest.executor(0).run(System.nanoTime() + TimeUnit.SECONDS.toNanos(20));
            String log = String.join("\n", ctx.logs);
            assertEquals(RunExit.SHUTDOWN, exit, log);
            assertEquals(List.of(ShutdownReason.POWEROFF), ctx.shutdowns, log);
            assertTrue(log.contains("HVM firmware_override " + image + ": entry 0x100000"), log);
            assertTrue(log.contains("debug port: fw-test: entered in flat 32-bit protected mode"), log);
            assertTrue(log.contains("debug port: fw-test: pe=1 pg=0 if=0 cs=0x10 ds=0x18 ok"), log);
        } finally {
            guest.destroy();
        }
    }

    @Test
    void badImagesAreRefusedWithTheReason() throws Exception {
        byte[] good = Files.readAllBytes(image);
        assertRefused(new byte[] {1, 2, 3}, "not an ELF file");
        byte[] bigEndian = good.clone();
        bigEndian[5] = 2;
        assertRefused(bigEndian, "not an ELF32 little-endian i386 image");
        byte[] entryOutside = good.clone();
        entryOutside[24] = 0; // entry 0x100000 -> 0x100000 still; move it below the segment
        entryOutside[25] = 0;
        entryOutside[26] = 0x0f;
        assertRefused(entryOutside, "entry point 0xf0000 is outside its loaded segments");
        byte[] highSegment = good.clone();
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(highSegment).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        int ph = b.getInt(28);
        b.putInt(ph + 12, 0x7ff0_0000); // p_paddr far above 16 MiB of RAM
        assertRefused(highSegment, "outside the domain's RAM");
        b.putInt(ph + 12, 0xA0000);
        assertRefused(highSegment, "overlaps the VGA/ROM window");
        assertRefused(null, "firmware_override file not found");
    }

    private void assertRefused(byte[] bytes, String why) throws Exception {
        Path f = dir.resolve("bad.elf");
        if (bytes == null) {
            Files.deleteIfExists(f);
        } else {
            Files.write(f, bytes);
        }
        HypervisorException e = assertThrows(HypervisorException.class, () -> new HvmGuestBuilder().build(context(f.toString())));
        assertTrue(e.getMessage().contains(why), e.getMessage());
    }
}
