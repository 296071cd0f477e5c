package org.xenj.hvm.qemudm.boot;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.xenj.dom0.block.internal.BlockImagesService;
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
 * Saves and restores the Debian guest with its console busy, Linux's own 8250 driver and tty layer
 * being the oracle: at the shell prompt a command line is typed and {@code xen:save -p} follows
 * after 0-40 ms (random, seeded), so the save catches the line anywhere between the UART's FIFO,
 * a raised or in-service IRQ 4, the 8250 handler, the tty layer, the shell and the answer on its
 * way out; the domain is destroyed, restored and unpaused, and the answer must come. Ten rounds,
 * one boot. Runs only with {@code -Dxenj.guest.dir} (a boot takes minutes); {@code
 * -Dxenj.consolerestore.rounds} changes the count.
 */
class ConsoleRestoreBootTest {

    @Test
    void theShellAnswersEveryLineTypedJustBeforeASave() throws Exception {
        String dir = System.getProperty("xenj.guest.dir");
        assumeTrue(dir != null && !dir.isBlank(), "set -Dxenj.guest.dir to run the Linux boot test");
        Path guest = Path.of(dir);
        int rounds = Integer.getInteger("xenj.consolerestore.rounds", 10);
        long timeoutMs = Long.getLong("xenj.boot.timeout", 1500) * 1000;
        Plugins plugins = new Plugins();
        plugins.addScheduler(new CreditSchedulerType());
        plugins.addBuilder(new HvmGuestBuilder());
        BlockImagesService blocks = new BlockImagesService();
        QemuDeviceModel qemu = new QemuDeviceModel(blocks);
        plugins.addDeviceModel(qemu);
        Path images = Files.createTempDirectory("xenj-console-restore");
        try (blocks; HypervisorCore xen = new HypervisorCore(CoreConfig.parse("330M", 1, "32M", "credit"), plugins)) {
            long t0 = System.nanoTime();
            Domain d = xen.create(DomainConfig.builder("debian-cr").type(DomainType.HVM).memoryMiB(256)
                    .kernel(guest.resolve("bzImage").toString()).ramdisk(guest.resolve("initramfs.cpio.gz").toString())
                    .cmdline(LinuxBootTest.CMDLINE).onPoweroff(ShutdownAction.DESTROY).build());
            LinuxBootTest.Console c = new LinuxBootTest.Console(xen.console(d.id()));
            assertTrue(c.waitFor(LinuxBootTest.PROMPT, 0, timeoutMs) >= 0, "no shell prompt:\n" + LinuxBootTest.tail(c.text()));
            System.out.printf("[console-restore] prompt after %.1f s%n", (System.nanoTime() - t0) / 1e9);
            SplittableRandom random = new SplittableRandom(Long.getLong("xenj.consolerestore.seed", 42));
            for (int k = 1; k <= rounds; k++) {
                int delayMs = random.nextInt(41);
                String answer = "R" + k + "-" + (k * 7);
                int from = c.text().length();
                c.access.write(("echo R" + k + "-$((" + k + "*7))\n").getBytes(StandardCharsets.US_ASCII));
                if (delayMs > 0) {
                    Thread.sleep(delayMs);
                }
                Path file = images.resolve("round" + k + ".save");
                xen.save(d.id(), file, true);
                xen.destroy(d.id());
                long end = System.currentTimeMillis() + 30_000;
                while (xen.lookup(d.id()).isPresent() && System.currentTimeMillis() < end) {
                    Thread.sleep(20);
                }
                String before = c.text().substring(from);
                c.close();
                Domain r = xen.restore(file, java.util.Map.of(), true);
                Files.delete(file);
                c = new LinuxBootTest.Console(xen.console(r.id()));
                xen.unpause(r.id());
                d = r;
                boolean answeredBefore = before.contains(answer);
                // the answer may have left before the save, or be split by it: what came out before and after together
                boolean answered = answeredBefore;
                for (long until = System.currentTimeMillis() + 120_000; !answered && System.currentTimeMillis() < until;) {
                    Thread.sleep(50);
                    answered = (before + c.text()).contains(answer);
                }
                int got = answered ? 0 : -1;
                System.out.printf("[console-restore] round %d: save %d ms after the line, answered %s%n", k, delayMs,
                        answeredBefore ? "before the save" : got >= 0 ? "after the restore" : "NEVER");
                if (got < 0) { // the report is only built on failure: it takes debug-keys and a second
                    org.junit.jupiter.api.Assertions.fail("round " + k + " (save " + delayMs + " ms after the line): no answer after"
                            + " the restore; before the save:\n" + before + "\nafter:\n" + LinuxBootTest.tail(c.text())
                            + LinuxBootTest.stuckReport(xen, qemu, r));
                }
                int after = c.text().length();
                c.access.write("echo ok | md5sum\n".getBytes(StandardCharsets.US_ASCII));
                if (c.waitFor("  -", after, 120_000) < 0) {
                    org.junit.jupiter.api.Assertions.fail("round " + k + ": the restored shell does not answer a new line:\n"
                            + LinuxBootTest.tail(c.text()) + LinuxBootTest.stuckReport(xen, qemu, r));
                }
            }
            c.access.write("poweroff -f\n".getBytes(StandardCharsets.US_ASCII));
            int id = d.id();
            long end = System.currentTimeMillis() + 120_000;
            while (xen.lookup(id).isPresent() && System.currentTimeMillis() < end) {
                Thread.sleep(50);
            }
            assertTrue(xen.lookup(id).isEmpty(), "poweroff -f did not destroy the domain");
            c.close();
            System.out.printf("[console-restore] %d rounds in %.1f s%n", rounds, (System.nanoTime() - t0) / 1e9);
        }
    }
}
