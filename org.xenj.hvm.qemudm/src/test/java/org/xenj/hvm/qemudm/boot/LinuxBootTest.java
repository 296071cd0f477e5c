package org.xenj.hvm.qemudm.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.ShutdownReason;

/**
 * Boots the default Debian guest (scripts/build-guest.sh) to its busybox prompt, runs
 * {@code uname -a; cat /proc/cpuinfo; echo ok | md5sum}, checks the answers and powers off.
 * Runs only when {@code -Dxenj.guest.dir=DIR} names the built guest (tests/boot-linux.sh sets
 * it): a boot takes minutes, too long for the unit-test suite.
 */
class LinuxBootTest {

    static final String COMMAND = "uname -a; cat /proc/cpuinfo; echo ok | md5sum\n";

    @Test
    void bootsToTheShellAnswersAndPowersOff() throws Exception {
        String dir = System.getProperty("xenj.guest.dir");
        assumeTrue(dir != null && !dir.isBlank(), "set -Dxenj.guest.dir to run the Linux boot test");
        Path guest = Path.of(dir);
        assertTrue(Files.isRegularFile(guest.resolve("bzImage")), "no bzImage in " + guest);
        long timeoutMs = Long.getLong("xenj.boot.timeout", 1200) * 1000;
        DomainConfig cfg = DomainConfig.builder("boot-test").type(DomainType.HVM).memoryMiB(256)
                .kernel(guest.resolve("bzImage").toString()).ramdisk(guest.resolve("initramfs.cpio.gz").toString())
                .cmdline("console=ttyS0").build();
        boolean echo = Boolean.getBoolean("xenj.boot.echo");
        try (DirectBootRunner vm = new DirectBootRunner(cfg, echo ? System.out : null)) {
            long t0 = System.nanoTime();
            vm.start();
            int prompt = vm.waitFor("~ # ", 0, timeoutMs);
            assertTrue(prompt >= 0, "no shell prompt; console so far:\n" + tail(vm.consoleText()));
            System.out.printf("[boot-linux] prompt after %.1f s%n", (System.nanoTime() - t0) / 1e9);

            vm.type(COMMAND);
            String md5 = HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest("ok\n".getBytes(StandardCharsets.US_ASCII)));
            int answer = vm.waitFor(md5 + "  -", prompt + 4, 300_000);
            String out = vm.consoleText();
            assertTrue(answer >= 0, "md5sum did not answer " + md5 + "; console:\n" + tail(out));
            String reply = out.substring(prompt);
            assertTrue(reply.contains("Linux (none) 6.") || reply.matches("(?s).*Linux \\S+ \\d+\\.\\d+.*"), "uname -a:\n" + tail(reply));
            assertTrue(reply.contains("i686") || reply.contains("i586") || reply.contains("i486"), "uname machine:\n" + tail(reply));
            assertTrue(reply.contains("processor\t: 0"), "/proc/cpuinfo:\n" + tail(reply));
            assertTrue(reply.contains("vendor_id"), "/proc/cpuinfo vendor:\n" + tail(reply));
            int cpuinfo = reply.indexOf("processor\t: 0");
            System.out.println("[boot-linux] /proc/cpuinfo:\n" + reply.substring(cpuinfo, reply.indexOf(md5)));

            vm.type("poweroff -f\n");
            assertTrue(vm.waitForShutdown(120_000), "poweroff -f did not end the domain; console:\n" + tail(vm.consoleText()));
            assertEquals(ShutdownReason.POWEROFF, vm.shutdownReason());
            System.out.printf("[boot-linux] powered off after %.1f s%n", (System.nanoTime() - t0) / 1e9);
        }
    }

    static String tail(String s) {
        return s.length() <= 4000 ? s : "..." + s.substring(s.length() - 4000);
    }
}
