package org.xenj.hvm.qemudm.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.ShutdownReason;

/**
 * A Multiboot kernel booted as {@code type="hvm"} with {@code kernel=}, {@code ramdisk=} (its one
 * module) and {@code debug_exit=1}: guests/mb-test, built from source as an ELF and as a flat
 * binary placed by the header's address fields, checks its entry state and the information
 * structure itself, prints what it found on COM1 and ends its domain through isa-debug-exit with
 * the number of failed checks (exit code 2n+1). The oracle is QEMU: where qemu-system-i386 is
 * installed the same kernel, module and command line run there with
 * {@code -device isa-debug-exit,iobase=0xf4,iosize=4} and must print the same verdicts, command
 * line, module string and module checksum, and exit with the same code. (Memory sizes and where
 * the module lands differ between the two machines by design: QEMU keeps the top of RAM for ACPI.)
 */
class MultibootBootTest {

    static Path dir;
    static Path module;
    static long moduleSum;

    @BeforeAll
    static void build() throws Exception {
        dir = Path.of("target", "mb-test").toAbsolutePath();
        Path script = Path.of("..", "guests", "mb-test", "build.sh").toAbsolutePath().normalize();
        Process p = new ProcessBuilder("sh", script.toString(), dir.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "build timed out");
        assertEquals(0, p.exitValue(), "building guests/mb-test failed (needs gcc -m32 and objcopy):\n" + out);
        byte[] data = new byte[12_345];
        new SplittableRandom(1234).nextBytes(data);
        module = dir.resolve("module.bin");
        Files.write(module, data);
        for (byte b : data) {
            moduleSum += b & 0xff;
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"mb-test.elf", "mb-test.bin"})
    void theKernelFindsWhatTheSpecificationPromisesAndExitsWithItsVerdict(String image) throws Exception {
        String kernel = dir.resolve(image).toString();
        DomainConfig config = DomainConfig.builder("mb").type(DomainType.HVM).memoryMiB(32).kernel(kernel)
                .ramdisk(module.toString()).cmdline("hello multiboot").raw(Map.of("debug_exit", "1")).build();
        String console;
        Integer exit;
        try (DirectBootRunner r = new DirectBootRunner(config, new PrintStream(PrintStream.nullOutputStream()))) {
            r.start();
            assertTrue(r.waitForShutdown(60_000), "still running after 60 s:\n" + r.consoleText() + "\n" + r.log());
            console = r.consoleText();
            exit = r.exitCode();
            System.out.printf("[multiboot] %s on xenj: exit code %s%n%s%n", image, exit, console);
            assertEquals(ShutdownReason.POWEROFF, r.shutdownReason(), r.log());
            assertTrue(r.log().contains("HVM multiboot: " + kernel), r.log());
            assertTrue(r.log().contains("isa-debug-exit at 0xf4-0xf7"), r.log());
        }
        assertEquals(Integer.valueOf(1), exit, "exit code 2n+1 for n failed checks:\n" + console);
        assertTrue(console.contains("result failures=00000000"), console);
        assertTrue(console.contains("cmdline=" + kernel + " hello multiboot\n"), console);
        assertTrue(console.contains("mem_lower=0000027f "), "639 KiB below the EBDA:\n" + console);
        assertTrue(console.contains(String.format("mem_upper=%08x ", 31 << 10)), "31 MiB above 1 MiB:\n" + console);
        assertTrue(console.contains(String.format("sum=%08x string=%s\n", moduleSum, module)), console);
        assertTrue(verdicts(console).size() >= 10, "every check reported:\n" + console);

        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/qemu-system-i386")),
                "qemu-system-i386 is not installed: xenj's run was checked on its own, not compared with QEMU");
        Qemu q = qemu(kernel);
        System.out.printf("[multiboot] %s on QEMU: exit code %d%n%s%n", image, q.exit, q.console);
        assertEquals(q.exit, exit.intValue(), "QEMU and xenj end with the same code");
        assertEquals(verdicts(q.console), verdicts(console), "the same checks pass and fail on QEMU and xenj");
        for (String key : List.of("cmdline=", "mods_count=", "sum=", "string=", "result failures=", "mem_lower=")) {
            assertEquals(field(q.console, key), field(console, key), key + " on QEMU and xenj");
        }
    }

    record Qemu(int exit, String console) {
    }

    private static Qemu qemu(String kernel) throws Exception {
        Process p = new ProcessBuilder("qemu-system-i386", "-kernel", kernel, "-initrd", module.toString(), "-append",
                "hello multiboot", "-m", "32", "-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-serial", "stdio",
                "-display", "none", "-monitor", "none", "-nodefaults", "-no-reboot").redirectErrorStream(true).start();
        boolean done = p.waitFor(60, TimeUnit.SECONDS);
        if (!done) {
            p.destroyForcibly();
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
        assertTrue(done, "QEMU did not end within 60 s:\n" + out);
        return new Qemu(p.exitValue(), out);
    }

    /** The "ok x" / "FAIL x" lines, in order. */
    static List<String> verdicts(String console) {
        List<String> v = new ArrayList<>();
        for (String line : console.split("\n")) {
            if (line.startsWith("ok ") || line.startsWith("FAIL ")) {
                v.add(line.trim());
            }
        }
        return v;
    }

    /** From {@code key} to the end of its field (the next space after a hex value, or the line's end for strings). */
    static String field(String console, String key) {
        for (String line : console.split("\n")) {
            int i = line.indexOf(key);
            if (i >= 0) {
                String rest = line.substring(i + key.length());
                return key.equals("cmdline=") || key.equals("string=") ? rest : rest.split(" ")[0];
            }
        }
        return null;
    }
}
