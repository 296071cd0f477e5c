package org.xenj.hvm.qemudm.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.ConsoleAccess;
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
 * Boots the default Debian guest (scripts/build-guest.sh) in {@code xenj.boot.domains} domains at
 * once (default 2) through the hypervisor core ({@code Hypervisor.create}, credit scheduler, HVM
 * builder, qemu-dm), waits for each busybox prompt, types
 * {@code uname -a; cat /proc/cpuinfo; echo ok | md5sum} on each console, checks the answers, and
 * ends each domain with {@code poweroff -f} (on_poweroff=destroy removes it). Runs only when
 * {@code -Dxenj.guest.dir=DIR} names the built guest (tests/boot-linux.sh sets it): a boot takes
 * minutes, too long for the unit-test suite.
 */
class LinuxBootTest {

    static final String COMMAND = "uname -a; cat /proc/cpuinfo; echo ok | md5sum\n";
    static final String PROMPT = "~ # ";
    /** As examples/debian.cfg boots it. */
    static final String CMDLINE = System.getProperty("xenj.boot.cmdline", "console=ttyS0 cryptomgr.notests nokaslr");

    /** A domain's console as seen from the toolstack side. */
    static final class Console implements AutoCloseable {
        final ConsoleAccess access;
        final ByteArrayOutputStream seen = new ByteArrayOutputStream();
        final AutoCloseable subscription;

        Console(ConsoleAccess access) {
            this.access = access;
            this.subscription = access.attach(this::collect);
        }

        private synchronized void collect(byte[] b) {
            seen.write(b, 0, b.length);
        }

        synchronized String text() {
            return seen.toString(StandardCharsets.ISO_8859_1);
        }

        int waitFor(String s, int from, long millis) throws InterruptedException {
            long end = System.currentTimeMillis() + millis;
            while (System.currentTimeMillis() < end) {
                int i = text().indexOf(s, from);
                if (i >= 0) {
                    return i;
                }
                Thread.sleep(50);
            }
            return -1;
        }

        @Override
        public void close() throws Exception {
            subscription.close();
        }
    }

    @Test
    void bootsToTheShellAnswersAndPowersOff() throws Exception {
        String dir = System.getProperty("xenj.guest.dir");
        assumeTrue(dir != null && !dir.isBlank(), "set -Dxenj.guest.dir to run the Linux boot test");
        Path guest = Path.of(dir);
        assertTrue(Files.isRegularFile(guest.resolve("bzImage")), "no bzImage in " + guest);
        long timeoutMs = Long.getLong("xenj.boot.timeout", 1500) * 1000;
        int domains = Integer.getInteger("xenj.boot.domains", 2);

        Plugins plugins = new Plugins();
        plugins.addScheduler(new CreditSchedulerType());
        plugins.addBuilder(new HvmGuestBuilder());
        plugins.addDeviceModel(new QemuDeviceModel());
        int pcpus = Math.max(1, Math.min(domains, Runtime.getRuntime().availableProcessors()));
        try (HypervisorCore xen = new HypervisorCore(CoreConfig.parse(((long) domains * 260 + 64) + "M", pcpus, "32M", "credit"), plugins)) {
            long t0 = System.nanoTime();
            List<Domain> doms = new ArrayList<>();
            List<Console> consoles = new ArrayList<>();
            for (int i = 0; i < domains; i++) {
                DomainConfig cfg = DomainConfig.builder("debian" + i).type(DomainType.HVM).memoryMiB(256)
                        .kernel(guest.resolve("bzImage").toString()).ramdisk(guest.resolve("initramfs.cpio.gz").toString())
                        .cmdline(CMDLINE).onPoweroff(ShutdownAction.DESTROY).build();
                Domain d = xen.create(cfg);
                doms.add(d);
                consoles.add(new Console(xen.console(d.id())));
            }
            String md5 = HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest("ok\n".getBytes(StandardCharsets.US_ASCII)));
            for (int i = 0; i < domains; i++) {
                Console c = consoles.get(i);
                int prompt = c.waitFor(PROMPT, 0, timeoutMs);
                assertTrue(prompt >= 0, "domain " + i + ": no shell prompt; console:\n" + tail(c.text()) + "\ndmesg:\n"
                        + String.join("\n", xen.dmesg()));
                System.out.printf("[boot-linux] domain %d: prompt after %.1f s%n", i, (System.nanoTime() - t0) / 1e9);
                c.access.write(COMMAND.getBytes(StandardCharsets.US_ASCII));
                int answer = c.waitFor(md5 + "  -", prompt, 300_000);
                String reply = c.text().substring(prompt);
                assertTrue(answer >= 0, "domain " + i + ": md5sum did not answer " + md5 + "; console:\n" + tail(reply));
                assertTrue(reply.matches("(?s).*Linux \\S+ 6\\.\\d+\\S* .*"), "uname -a:\n" + tail(reply));
                assertTrue(reply.contains(" i686 ") || reply.contains(" i586 "), "uname machine:\n" + tail(reply));
                assertTrue(reply.contains("processor\t: 0") && reply.contains("vendor_id"), "/proc/cpuinfo:\n" + tail(reply));
                // the domain clock: CPUID reports the TSC frequency, so the kernel knows it without calibrating
                assertTrue(reply.matches("(?s).*cpu MHz\\s*: [1-9][0-9]*\\.[0-9]+.*"), "cpu MHz not calibrated:\n" + tail(reply));
                if (i == 0) {
                    int from = reply.indexOf("processor\t: 0");
                    System.out.println("[boot-linux] /proc/cpuinfo:\n" + reply.substring(from, reply.lastIndexOf(md5)));
                    System.out.println("[boot-linux] guest clock lines:");
                    c.text().substring(0, prompt).lines()
                            .filter(l -> l.matches(".*(tsc|TSC|clocksource|BogoMIPS|Calibrating|APIC timer|calibrat).*"))
                            .forEach(l -> System.out.println("[boot-linux]   " + l.strip()));
                }
            }
            for (int i = 0; i < domains; i++) {
                consoles.get(i).access.write("poweroff -f\n".getBytes(StandardCharsets.US_ASCII));
            }
            for (Domain d : doms) {
                int id = d.id();
                long end = System.currentTimeMillis() + 120_000;
                while (xen.lookup(id).isPresent() && System.currentTimeMillis() < end) {
                    Thread.sleep(50);
                }
                assertTrue(xen.lookup(id).isEmpty(), "poweroff -f did not destroy domain " + id + " (on_poweroff=destroy); dmesg:\n"
                        + String.join("\n", xen.dmesg()));
            }
            for (Console c : consoles) {
                c.close();
            }
            assertEquals(1, xen.list().size(), "only Domain-0 is left");
            System.out.printf("[boot-linux] %d domains booted, answered and powered off in %.1f s%n", domains,
                    (System.nanoTime() - t0) / 1e9);
        }
    }

    static String tail(String s) {
        return s.length() <= 4000 ? s : "..." + s.substring(s.length() - 4000);
    }
}
