package org.xenj.hypervisor.internal.builder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.api.ShutdownReason;
import org.xenj.hypervisor.internal.exec.Guest;
import org.xenj.hypervisor.internal.exec.VCpuExecutor.RunExit;
import org.xenj.hypervisor.internal.platform.FakeGuestContext;
import org.xenj.hypervisor.internal.testsupport.TestCores;

/**
 * {@code type="pvh"} end to end on a tiny guest: it is entered at its PHYS32_ENTRY with EBX at the
 * start_info magic (it checks, and says so on Xen's debug port), with Xen's ABI and no device
 * model; a kernel or configuration xenj cannot run is refused by {@code create}, leaving no domain.
 */
class PvhGuestBuilderTest {

    @TempDir
    Path dir;

    private DomainConfig config(byte[] kernel, int vcpus) throws Exception {
        Path k = dir.resolve("vmlinux");
        Files.write(k, kernel);
        return DomainConfig.builder("pvh").type(DomainType.PVH).memoryMiB(8).vcpus(vcpus).kernel(k.toString()).build();
    }

    @Test
    void theGuestStartsAtPhys32EntryWithStartInfoInEbx() throws Exception {
        FakeGuestContext ctx = new FakeGuestContext(config(PvhImages.bzImage(PvhImages.xz(PvhImages.good()), PvhImages.good().length), 1));
        Guest guest = new PvhGuestBuilder().build(ctx);
        try {
            RunExit exit = guest.executor(0).run(System.nanoTime() + TimeUnit.SECONDS.toNanos(20));
            String log = String.join("\n", ctx.logs);
            assertEquals(RunExit.SHUTDOWN, exit, log);
            assertEquals(List.of(ShutdownReason.POWEROFF), ctx.shutdowns, log);
            assertTrue(log.contains("PHYS32_ENTRY 0x100000, kernel 0x100000-0x101000, no module, start_info 0x7000, 8 MiB RAM,"
                    + " no device model"), log);
            assertTrue(log.contains("debug port: pvh ok"), log);
            assertFalse(guest.usesDeviceModel(new org.xenj.hypervisor.internal.testsupport.NullDeviceModel()));
        } finally {
            guest.destroy();
        }
    }

    @Test
    void whatCannotRunIsRefusedAtCreateNeverLeftPaused() throws Exception {
        try (TestCores.Fixture fx = TestCores.start(1)) {
            fx.plugins().addBuilder(new PvhGuestBuilder());
            int before = fx.core().list().size();
            byte[] noEntry = PvhImages.elf(0x100000, new byte[0], PvhImages.Seg.at(0x100000, new byte[4096]));
            assertRefused(fx, config(noEntry, 1), "PVH kernel " + dir.resolve("vmlinux") + ": no XEN_ELFNOTE_PHYS32_ENTRY note");
            assertRefused(fx, config(new byte[] {1, 2, 3}, 1), "neither an ELF kernel nor a bzImage");
            assertRefused(fx, config(PvhImages.good(), 2), "PVH domains have one vCPU here");
            assertRefused(fx, DomainConfig.builder("pvh").type(DomainType.PVH).memoryMiB(8).kernel("/nonexistent/vmlinux").build(),
                    "kernel file not found: /nonexistent/vmlinux");
            assertEquals(before, fx.core().list().size(), "no domain is left behind");
            assertTrue(fx.core().info().xenCaps().contains("pvh-3.0-x86_32"), fx.core().info().xenCaps());
        }
    }

    private static void assertRefused(TestCores.Fixture fx, DomainConfig c, String why) {
        HypervisorException e = assertThrows(HypervisorException.class, () -> fx.core().create(c));
        assertTrue(e.getMessage().contains(why), e.getMessage());
    }
}
