package org.xenj.hvm.qemudm.boot;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.SnapshotInfo;
import org.xenj.hypervisor.internal.builder.HvmGuestBuilder;
import org.xenj.hypervisor.internal.domain.CoreConfig;
import org.xenj.hypervisor.internal.domain.HypervisorCore;
import org.xenj.hypervisor.internal.domain.Plugins;
import org.xenj.hvm.qemudm.internal.QemuDeviceModel;
import org.xenj.sched.credit.internal.CreditSchedulerType;

/**
 * The VM state tree on a real machine: Debian's SeaBIOS on qemu-dm's PC (UART, PS/2, PIT, RTC,
 * VGA, IDE, PCI) in a 256 MiB HVM domain. A snapshot at SeaBIOS's boot-menu prompt; SeaBIOS runs
 * on to "No bootable device."; a revert puts it back at the prompt, where ESC typed on the serial
 * console opens the boot menu — which only the prompt's code, memory, timers and UART state
 * together can do. A clone of the same snapshot runs on by itself to "No bootable device." on its
 * own console while the original sits in its menu.
 */
class SeaBiosSnapshotTest {

    @TempDir
    Path dir;

    @Test
    void revertGoesBackToTheBootMenuPromptAndACloneRunsOnFromIt() throws Exception {
        Assumptions.assumeTrue(Files.isReadable(SeaBiosBootTest.BIOS), "Debian's seabios package is not installed");
        Plugins plugins = new Plugins();
        plugins.addScheduler(new CreditSchedulerType());
        plugins.addBuilder(new HvmGuestBuilder());
        plugins.addDeviceModel(new QemuDeviceModel());
        try (HypervisorCore xen = new HypervisorCore(CoreConfig.parse("600M", 2, "32M", "credit"), plugins)) {
            xen.configureSnapshots(dir.toString());
            Domain d = xen.create(DomainConfig.builder("bios").type(DomainType.HVM).memoryMiB(256)
                    .raw(Map.of("boot_menu", "1", "xen_platform_pci", "0")).build());
            try (LinuxBootTest.Console c = new LinuxBootTest.Console(xen.console(d.id()))) {
                int prompt = c.waitFor("Press ESC for boot menu.", 0, 120_000);
                assertTrue(prompt >= 0, "no boot-menu prompt:\n" + c.text() + "\n" + String.join("\n", xen.dmesg()));
                long t0 = System.nanoTime();
                SnapshotInfo s = xen.snapshotCreate(d.id(), "menu");
                long create = System.nanoTime() - t0;
                int none = c.waitFor("No bootable device.", prompt, 120_000);
                assertTrue(none >= 0, "SeaBIOS did not run on after the snapshot:\n" + c.text());

                xen.pause(d.id());
                t0 = System.nanoTime();
                SnapshotInfo r = xen.snapshotRevert(d.id(), "menu");
                long revert = System.nanoTime() - t0;
                int mark = c.text().length();
                c.access.write("\u001b".getBytes(StandardCharsets.US_ASCII)); // waits in the reverted UART until the guest runs
                xen.unpause(d.id());
                int menu = c.waitFor("Select boot device:", mark, 120_000);
                assertTrue(menu >= 0, "after the revert ESC did not open the boot menu:\n" + c.text().substring(none) + "\n"
                        + String.join("\n", xen.dmesg()));

                t0 = System.nanoTime();
                Domain clone = xen.cloneDomain(d.id(), "menu", "bios-clone");
                long cloned = System.nanoTime() - t0;
                assertNotEquals(d.uuid(), clone.uuid());
                try (LinuxBootTest.Console cc = new LinuxBootTest.Console(xen.console(clone.id()))) {
                    int cloneNone = cc.waitFor("No bootable device.", 0, 120_000);
                    assertTrue(cloneNone >= 0, "the clone did not run on from the prompt:\n" + cc.text() + "\n"
                            + String.join("\n", xen.dmesg()));
                }
                System.out.printf("[seabios-snapshot] 256 MiB: snapshot-create %.1f ms (paused %.1f ms, %d bytes), revert %.1f ms"
                        + " (paused %.1f ms), clone %.1f ms%n", create / 1e6, s.pausedNanos() / 1e6, s.bytes(), revert / 1e6,
                        r.pausedNanos() / 1e6, cloned / 1e6);
                xen.dmesg().stream().filter(l -> l.contains("snapshot") || l.contains("restored from") || l.contains("cloned"))
                        .forEach(l -> System.out.println("[seabios-snapshot] " + l));
            }
        }
    }
}
