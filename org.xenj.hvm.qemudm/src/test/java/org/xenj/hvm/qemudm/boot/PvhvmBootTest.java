package org.xenj.hvm.qemudm.boot;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.ShutdownAction;
import org.xenj.hypervisor.internal.builder.HvmGuestBuilder;
import org.xenj.hypervisor.internal.domain.CoreConfig;
import org.xenj.hypervisor.internal.domain.HypervisorCore;
import org.xenj.hypervisor.internal.domain.Plugins;
import org.xenj.hvm.qemudm.internal.QemuDeviceModel;
import org.xenj.sched.credit.internal.CreditSchedulerType;

/**
 * Boots Debian's 686-pae kernel (CONFIG_XEN_PVHVM=y; {@code KERNEL_FLAVOUR=686-pae
 * scripts/build-guest.sh}) as an HVM guest and checks that it found Xen through our ABI: its log
 * must say "Hypervisor detected: Xen HVM", "Xen version 4.17.", "Booting paravirtualized kernel
 * on Xen HVM" and "NX (Execute Disable) protection: active", it must reach the busybox shell, bytes written to port 0xe9 from the shell must
 * reach the domain's log, at least one event upcall must have arrived as the callback vector
 * ("HYP" in /proc/interrupts), xenbus must have had events from our xenstore (HVM_PARAM_STORE_*),
 * the guest's PCI core must list the Xen platform device (5853:0001, class 0xff8000) with its
 * xen-platform-pci driver bound to 00:03.0 and the unplug handshake in its dmesg,
 * and the hypercall summary logged when the domain goes must show
 * add_to_physmap of shared_info (memory_op cmd 7), VCPUOP_register_vcpu_info (vcpu_op cmd 10) and
 * HVMOP_set_param (hvm_op cmd 0, the callback vector).
 * Runs only with {@code -Dxenj.pvhvm.dir=DIR} (tests/boot-pvhvm.sh sets it): a boot takes minutes.
 */
class PvhvmBootTest {

    static final String PROMPT = "~ # ";

    @Test
    void debianPaeKernelDetectsXenAndReachesTheShell() throws Exception {
        String dir = System.getProperty("xenj.pvhvm.dir");
        assumeTrue(dir != null && !dir.isBlank(), "set -Dxenj.pvhvm.dir to run the PVHVM boot test");
        Path guest = Path.of(dir);
        assertTrue(Files.isRegularFile(guest.resolve("bzImage")), "no bzImage in " + guest);
        long timeoutMs = Long.getLong("xenj.boot.timeout", 1200) * 1000;

        Plugins plugins = new Plugins();
        plugins.addScheduler(new CreditSchedulerType());
        plugins.addBuilder(new HvmGuestBuilder());
        plugins.addDeviceModel(new QemuDeviceModel());
        try (HypervisorCore xen = new HypervisorCore(CoreConfig.parse("330M", 1, "32M", "credit"), plugins)) {
            long t0 = System.nanoTime();
            DomainConfig cfg = DomainConfig.builder("pvhvm").type(DomainType.HVM).memoryMiB(256)
                    .kernel(guest.resolve("bzImage").toString()).ramdisk(guest.resolve("initramfs.cpio.gz").toString())
                    .cmdline(LinuxBootTest.CMDLINE).onPoweroff(ShutdownAction.DESTROY)
                    .raw(Map.of("xen_platform_pci", "1")).build();
            Domain d = xen.create(cfg);
            try (LinuxBootTest.Console c = new LinuxBootTest.Console(xen.console(d.id()))) {
                int prompt = c.waitFor(PROMPT, 0, timeoutMs);
                String boot = c.text();
                assertTrue(prompt >= 0, "no shell prompt; console:\n" + LinuxBootTest.tail(boot) + "\ndmesg:\n"
                        + String.join("\n", xen.dmesg()));
                System.out.printf("[boot-pvhvm] prompt after %.1f s%n", (System.nanoTime() - t0) / 1e9);
                for (String line : boot.split("\r?\n")) {
                    if (line.matches("(?i).*\\b(xen|hypervisor)\\b.*")) {
                        System.out.println("[boot-pvhvm] guest: " + line.trim());
                    }
                }
                assertTrue(boot.contains("Hypervisor detected: Xen HVM"), "no 'Hypervisor detected: Xen HVM':\n" + LinuxBootTest.tail(boot));
                assertTrue(boot.contains("Xen version 4.17."), "no 'Xen version 4.17.':\n" + LinuxBootTest.tail(boot));
                assertTrue(boot.contains("Booting paravirtualized kernel on Xen HVM"), "not booted as PVHVM:\n" + LinuxBootTest.tail(boot));
                // CPUID offers NX and EFER.NXE sticks: the PAE kernel turns no-execute protection on
                assertTrue(boot.contains("NX (Execute Disable) protection: active"), "no NX protection:\n" + LinuxBootTest.tail(boot));

                c.access.write("grep -E 'HYP|xen' /proc/interrupts; echo irqs-$((6*7))\n".getBytes(StandardCharsets.US_ASCII));
                int irqs = c.waitFor("irqs-42", prompt, 300_000);
                assertTrue(irqs >= 0, "shell did not answer:\n" + LinuxBootTest.tail(c.text()));
                String interrupts = c.text().substring(prompt, irqs);
                System.out.println("[boot-pvhvm] /proc/interrupts: " + interrupts.replaceAll("\\s+", " "));
                // XENFEAT_hvm_callback_vector: Linux set HVM_PARAM_CALLBACK_IRQ to its vector 0xf3, and
                // register_vcpu_info marked everything pending, so at least one upcall was delivered.
                java.util.regex.Matcher hyp = java.util.regex.Pattern.compile("HYP:\\s+(\\d+)").matcher(interrupts);
                assertTrue(hyp.find() && Long.parseLong(hyp.group(1)) >= 1, "no Xen callback interrupt delivered:\n" + interrupts);
                // HVM_PARAM_STORE_PFN/EVTCHN: xenbus talked to our xenstore over the ring and got events back
                java.util.regex.Matcher xenbus = java.util.regex.Pattern.compile("(\\d+)\\s+xen-dyn\\s+-event\\s+xenbus").matcher(interrupts);
                assertTrue(xenbus.find() && Long.parseLong(xenbus.group(1)) >= 1, "xenbus got no event:\n" + interrupts);

                // The Xen platform PCI device as the guest's own PCI core and xen-platform-pci driver see it
                c.access.write(("for d in /sys/bus/pci/devices/*; do echo \"pcidev $d $(cat $d/vendor):$(cat $d/device) "
                        + "class $(cat $d/class)\"; done; ls /sys/bus/pci/drivers/xen-platform-pci/; "
                        + "dmesg | grep -i -E 'xen.platform|unplug|grant table'; echo pci-$((6*7))\n").getBytes(StandardCharsets.US_ASCII));
                int pciEnd = c.waitFor("pci-42", irqs, 300_000);
                assertTrue(pciEnd >= 0, "shell did not answer:\n" + LinuxBootTest.tail(c.text()));
                String pci = c.text().substring(irqs, pciEnd);
                System.out.println("[boot-pvhvm] PCI and platform device:\n" + pci);
                assertTrue(pci.matches("(?s).*pcidev \\S+ 0x5853:0x0001 class 0xff8000.*"),
                        "no 5853:0001 in /sys/bus/pci/devices:\n" + pci);
                // the driver directory holds a link named after the bound device (0000:00:03.0)
                assertTrue(pci.matches("(?s).*0000:00:03\\.0.*"), "xen-platform-pci did not bind 00:03.0:\n" + pci);
                // its probe maps the grant table into the device's memory BAR and initialises it
                assertTrue(pci.contains("Grant table initialized"), "xen-platform-pci did not set up grant tables:\n" + pci);
                // The unplug handshake. Linux prints these only after port 0x10 gave the magic and port
                // 0x12 protocol version 1 (its "I/O protocol version" line is pr_debug, not in dmesg).
                assertTrue(pci.matches("(?s).*unplug emulated (NICs|disks).*"), "no unplug handshake in the guest's dmesg:\n" + pci);
                String hostLog = String.join("\n", xen.dmesg());
                assertTrue(hostLog.contains("xen-platform: guest PV driver product 3 (Linux)"), "no product number written:\n" + hostLog);
                assertTrue(hostLog.contains("xen-platform: guest unplugs emulated devices"), "no unplug mask written:\n" + hostLog);

                // Port 0xe9 (233) through /dev/port: a write at offset 233 is an OUT to Xen's debug
                // port. /dev/port advances the port with the offset, so one dd per byte.
                c.access.write(("ls -l /dev/port; for b in p v h v m '\\n'; do printf \"$b\" | "
                        + "dd of=/dev/port bs=1 seek=233 conv=notrunc; done; echo done-$((6*7))\n").getBytes(StandardCharsets.US_ASCII));
                assertTrue(c.waitFor("done-42", pciEnd, 300_000) >= 0, "shell did not answer:\n" + LinuxBootTest.tail(c.text()));
                assertTrue(waitForLog(xen, "debug port: pvhvm", 10_000), "port 0xe9 output is not in the domain's log:\n"
                        + String.join("\n", xen.dmesg()) + "\nconsole:\n" + LinuxBootTest.tail(c.text().substring(prompt)));

                c.access.write("poweroff -f\n".getBytes(StandardCharsets.US_ASCII));
                long end = System.currentTimeMillis() + 120_000;
                while (xen.lookup(d.id()).isPresent() && System.currentTimeMillis() < end) {
                    Thread.sleep(50);
                }
                assertTrue(xen.lookup(d.id()).isEmpty(), "poweroff -f did not end the domain");
            }
            List<String> log = xen.dmesg();
            String summary = log.stream().filter(l -> l.contains("Xen ABI: hypercall")).findFirst().orElse("");
            log.stream().filter(l -> l.contains("Xen ABI") || l.contains("debug port"))
                    .forEach(l -> System.out.println("[boot-pvhvm] " + l.trim()));
            // add_to_physmap twice: shared_info, and the grant frame xen-platform-pci put in its memory BAR
            assertTrue(summary.matches(".*hypercall 12: cmd 7 x[2-9].*"), "no add_to_physmap of shared_info and the grant frame:\n"
                    + String.join("\n", log));
            assertTrue(summary.contains("hypercall 24: cmd 10 x1"), "no VCPUOP_register_vcpu_info seen:\n" + String.join("\n", log));
            assertTrue(summary.matches(".*hypercall 34: cmd 0 x[1-9].*"), "no HVMOP_set_param (callback vector) seen:\n" + summary);
            System.out.printf("[boot-pvhvm] booted, checked and powered off in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        }
    }

    @Test
    void withXenPlatformPciZeroTheSameKernelSeesABarePc() throws Exception {
        String dir = System.getProperty("xenj.pvhvm.dir");
        assumeTrue(dir != null && !dir.isBlank(), "set -Dxenj.pvhvm.dir to run the PVHVM boot test");
        Path guest = Path.of(dir);
        long timeoutMs = Long.getLong("xenj.boot.timeout", 1200) * 1000;
        Plugins plugins = new Plugins();
        plugins.addScheduler(new CreditSchedulerType());
        plugins.addBuilder(new HvmGuestBuilder());
        plugins.addDeviceModel(new QemuDeviceModel());
        try (HypervisorCore xen = new HypervisorCore(CoreConfig.parse("330M", 1, "32M", "credit"), plugins)) {
            long t0 = System.nanoTime();
            DomainConfig cfg = DomainConfig.builder("bare").type(DomainType.HVM).memoryMiB(256)
                    .kernel(guest.resolve("bzImage").toString()).ramdisk(guest.resolve("initramfs.cpio.gz").toString())
                    .cmdline(LinuxBootTest.CMDLINE).onPoweroff(ShutdownAction.DESTROY)
                    .raw(Map.of("xen_platform_pci", "0")).build();
            Domain d = xen.create(cfg);
            try (LinuxBootTest.Console c = new LinuxBootTest.Console(xen.console(d.id()))) {
                int prompt = c.waitFor(PROMPT, 0, timeoutMs);
                String boot = c.text();
                assertTrue(prompt >= 0, "no shell prompt; console:\n" + LinuxBootTest.tail(boot));
                System.out.printf("[boot-pvhvm] xen_platform_pci=0: prompt after %.1f s, Xen %s%n", (System.nanoTime() - t0) / 1e9,
                        boot.contains("Xen") ? "mentioned" : "not mentioned");
                assertFalse(boot.contains("Hypervisor detected"), "the kernel found a hypervisor:\n" + LinuxBootTest.tail(boot));
                assertFalse(boot.contains("Xen HVM"), "the kernel found Xen:\n" + LinuxBootTest.tail(boot));
                c.access.write("cat /sys/bus/pci/devices/*/vendor; echo pci-$((6*7))\n".getBytes(StandardCharsets.US_ASCII));
                int pciEnd = c.waitFor("pci-42", prompt, 300_000);
                assertTrue(pciEnd >= 0, "shell did not answer:\n" + LinuxBootTest.tail(c.text()));
                String vendors = c.text().substring(prompt, pciEnd);
                System.out.println("[boot-pvhvm] xen_platform_pci=0: PCI vendors " + vendors.replaceAll("\\s+", " "));
                assertTrue(vendors.contains("0x8086"), "the guest sees no PCI bus at all:\n" + vendors);
                assertFalse(vendors.contains("0x5853"), "the platform device is present with xen_platform_pci=0:\n" + vendors);
                c.access.write("poweroff -f\n".getBytes(StandardCharsets.US_ASCII));
                long end = System.currentTimeMillis() + 120_000;
                while (xen.lookup(d.id()).isPresent() && System.currentTimeMillis() < end) {
                    Thread.sleep(50);
                }
                assertTrue(xen.lookup(d.id()).isEmpty(), "poweroff -f did not end the domain");
            }
            assertFalse(xen.dmesg().stream().anyMatch(l -> l.contains("Xen ABI")), "no Xen state was built");
        }
    }

    private static boolean waitForLog(HypervisorCore xen, String text, long millis) throws InterruptedException {
        long end = System.currentTimeMillis() + millis;
        while (System.currentTimeMillis() < end) {
            if (xen.dmesg().stream().anyMatch(l -> l.contains(text))) {
                return true;
            }
            Thread.sleep(50);
        }
        return false;
    }
}
