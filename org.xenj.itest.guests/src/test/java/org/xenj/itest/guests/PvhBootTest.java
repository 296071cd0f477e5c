package org.xenj.itest.guests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.ShutdownAction;
import org.xenj.hypervisor.internal.builder.PvhGuestBuilder;
import org.xenj.hypervisor.internal.domain.CoreConfig;
import org.xenj.hypervisor.internal.domain.HypervisorCore;
import org.xenj.hypervisor.internal.domain.Plugins;
import org.xenj.sched.credit.internal.CreditSchedulerType;

/**
 * Debian's 686-pae kernel as a {@code type="pvh"} guest: the bzImage as Debian ships it (xenj
 * unpacks its xz ELF payload), entered at its PHYS32_ENTRY with hvm_start_info, no device model;
 * the busybox shell comes up on the PV console (hvc0) and tells what it sees: the command line it
 * was given, Linux's own "Xen PVH" boot messages (event delivery by the callback vector, grant
 * tables, the hvc0 console), and Xen under /sys/hypervisor; it has no PCI device. Runs with {@code -Dxenj.pvh.dir=DIR} naming a
 * build-guest.sh output with CONFIG_PVH=y (tests/guest-devices.sh passes its ./guest-pae).
 */
class PvhBootTest {

    static final String CMDLINE = "console=hvc0 cryptomgr.notests nokaslr xenj.pvh=1";

    @Test
    void debianBootsAsPvhToItsShellOnThePvConsole() throws Exception {
        String dir = System.getProperty("xenj.pvh.dir", "");
        assumeTrue(!dir.isBlank(), "set -Dxenj.pvh.dir to a 686-pae guest build (tests/guest-devices.sh does) to boot it as PVH");
        Path guest = Path.of(dir);
        assumeTrue(Files.isRegularFile(guest.resolve("bzImage")) && Files.isRegularFile(guest.resolve("initramfs.cpio.gz")),
                "no bzImage and initramfs.cpio.gz in " + guest + " (KERNEL_FLAVOUR=686-pae scripts/build-guest.sh builds them)");
        assumeTrue(!Files.isRegularFile(guest.resolve("config")) || Files.readString(guest.resolve("config")).contains("\nCONFIG_PVH=y"),
                guest + "/config has no CONFIG_PVH=y");
        long timeoutMs = Long.getLong("xenj.boot.timeout", 900) * 1000;
        Plugins plugins = new Plugins();
        plugins.addScheduler(new CreditSchedulerType());
        plugins.addBuilder(new PvhGuestBuilder());
        try (HypervisorCore xen = new HypervisorCore(CoreConfig.parse("200M", 1, "32M", "credit"), plugins)) {
            assertTrue(xen.info().xenCaps().contains("pvh-3.0-x86_32"), xen.info().xenCaps());
            long t0 = System.nanoTime();
            Domain d = xen.create(DomainConfig.builder("pvh").type(DomainType.PVH).memoryMiB(128)
                    .kernel(guest.resolve("bzImage").toString()).ramdisk(guest.resolve("initramfs.cpio.gz").toString())
                    .cmdline(CMDLINE).onPoweroff(ShutdownAction.DESTROY).build());
            try (GuestShell sh = new GuestShell("pvh", xen.console(d.id()))) {
                int prompt = sh.waitFor(GuestShell.PROMPT, 0, timeoutMs);
                assertTrue(prompt >= 0, "no shell prompt; console:\n" + sh.tail() + "\nhost log:\n" + String.join("\n", xen.dmesg()));
                double secs = (System.nanoTime() - t0) / 1e9;
                System.out.printf("[pvh] shell prompt on hvc0 after %.1f s%n", secs);
                String build = xen.dmesg().stream().filter(l -> l.contains("PVH boot")).findFirst().orElse("");
                System.out.println("[pvh] " + build);
                assertTrue(build.contains("PHYS32_ENTRY 0x10002e0"), build);

                String cmdline = sh.run("cat /proc/cmdline", 60);
                System.out.println("[pvh] /proc/cmdline:" + cmdline);
                assertTrue(cmdline.contains(CMDLINE), cmdline);
                String pvh = sh.run("dmesg | grep -i pvh", 60);
                System.out.println("[pvh] dmesg | grep -i pvh:" + pvh);
                assertTrue(pvh.contains("Booting kernel on Xen PVH"), pvh);
                String console = sh.run("cat /sys/class/tty/console/active /sys/hypervisor/type", 60);
                System.out.println("[pvh] console, hypervisor:" + console);
                assertEquals(List.of("hvc0", "xen"), console.strip().lines().map(String::strip).toList(), console);
                String xenLines = sh.run("dmesg | grep -i -e xen -e grant -e hvc | head -40", 60);
                System.out.println("[pvh] dmesg | grep -i -e xen -e grant -e hvc:" + xenLines);
                for (String seen : new String[] {"Xen version: 4.17.0-xenj", "Xen HVM callback vector for event delivery is enabled",
                        "printk: console [hvc0] enabled", "Grant table initialized"}) {
                    assertTrue(xenLines.contains(seen), "no '" + seen + "' in:" + xenLines);
                }
                String pci = sh.run("ls /sys/bus/pci/devices 2>/dev/null | wc -l", 60);
                assertEquals("0", pci.trim(), "a PVH guest has no PCI devices: " + pci);

                sh.powerOff();
                long end = System.currentTimeMillis() + 60_000;
                while (xen.lookup(d.id()).isPresent() && System.currentTimeMillis() < end) {
                    Thread.sleep(100);
                }
                assertTrue(xen.lookup(d.id()).isEmpty(), "poweroff -f did not end the domain; console:\n" + sh.tail());
            }
        }
    }
}
