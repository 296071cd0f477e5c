package org.xenj.itest.guests;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.xenj.hvm.qemudm.internal.QemuDeviceModel;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.ShutdownAction;
import org.xenj.hypervisor.internal.builder.HvmGuestBuilder;
import org.xenj.hypervisor.internal.domain.CoreConfig;
import org.xenj.hypervisor.internal.domain.HypervisorCore;
import org.xenj.hypervisor.internal.domain.Plugins;
import org.xenj.sched.credit.internal.CreditSchedulerType;

/**
 * The bare PC alone with its stdvga and VNC console ({@link VgaConsoleChecks}), for working on the
 * display without the whole of {@link GuestDevicesBootTest} (which runs the same checks on its pc
 * guest). Runs only with {@code -Dxenj.vga.dir=<guest dir>} (a guest built by
 * scripts/build-guest.sh, which has bochs.ko); CI leaves it out to save a boot.
 */
class VgaBootTest {

    @Test
    void bochsDrmDrawsTty1AndVncShowsItAndTakesKeys() throws Exception {
        String dir = System.getProperty("xenj.vga.dir");
        assumeTrue(dir != null && !dir.isBlank(), "set -Dxenj.vga.dir to boot the pc guest alone with a VGA");
        Path guest = Path.of(dir);
        Path tmp = Files.createTempDirectory("xenj-vga-");
        Plugins plugins = new Plugins();
        plugins.addScheduler(new CreditSchedulerType());
        plugins.addBuilder(new HvmGuestBuilder());
        QemuDeviceModel qemuDm = new QemuDeviceModel(null, null);
        plugins.addDeviceModel(qemuDm);
        try (HypervisorCore xen = new HypervisorCore(CoreConfig.parse("256M", 1, "32M", "credit"), plugins)) {
            Domain pc = xen.create(DomainConfig.builder("vga").type(DomainType.HVM).memoryMiB(160)
                    .kernel(guest.resolve("bzImage").toString()).ramdisk(guest.resolve("initramfs.cpio.gz").toString())
                    .cmdline(GuestDevicesBootTest.CMDLINE).onPoweroff(ShutdownAction.DESTROY)
                    .raw(Map.of("xen_platform_pci", "0", "vga", "\"stdvga\"", "vnc", "1")).build());
            try (GuestShell sh = new GuestShell("vga", xen.console(pc.id()))) {
                long t0 = System.nanoTime();
                int prompt = sh.waitFor(GuestShell.PROMPT, 0, Long.getLong("xenj.boot.timeout", 1500) * 1000);
                assertTrue(prompt >= 0, "no prompt: " + sh.tail() + "\n" + String.join("\n", xen.dmesg()));
                System.out.printf("[vga] prompt after %.1f s%n", (System.nanoTime() - t0) / 1e9);
                VgaConsoleChecks checks = new VgaConsoleChecks(sh, qemuDm, pc.id(), tmp);
                checks.consoleOverVnc();
                checks.keysOverVnc();
                System.out.println(String.join("\n", xen.dmesg().stream().filter(l -> l.contains("qemu-dm")).toList()));
            }
        }
    }
}
