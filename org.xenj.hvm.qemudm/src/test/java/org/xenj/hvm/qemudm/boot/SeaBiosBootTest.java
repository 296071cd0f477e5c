package org.xenj.hvm.qemudm.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;

/**
 * Debian's unmodified SeaBIOS started at the reset vector of an HVM domain without {@code kernel=}
 * and without disks: its banner, the boot-menu prompt and — ESC typed on the serial console,
 * which SeaBIOS's sercon reads as a key — the boot menu, then "No bootable device." on COM1.
 * QEMU ({@code qemu-system-i386 -bios bios.bin}, same fw_cfg sercon port) prints the same lines.
 */
class SeaBiosBootTest {

    static final Path BIOS = Path.of("/usr/share/seabios/bios.bin");

    @Test
    void seaBiosPrintsItsBannerAndMenuOnTheSerialConsoleAndFindsNothingToBoot() throws Exception {
        Assumptions.assumeTrue(Files.isReadable(BIOS), "Debian's seabios package is not installed (" + BIOS + ")");
        DomainConfig config = DomainConfig.builder("bios").type(DomainType.HVM).memoryMiB(32)
                .raw(Map.of("boot_menu", "1", "xen_platform_pci", "0")).build();
        boolean echo = Boolean.getBoolean("xenj.seabios.echo");
        try (DirectBootRunner r = new DirectBootRunner(config, echo ? System.out : new PrintStream(PrintStream.nullOutputStream()))) {
            r.start();
            int banner = r.waitFor("SeaBIOS (version", 0, 60_000);
            assertTrue(banner >= 0, "no SeaBIOS banner within 60 s:\n" + r.consoleText() + "\n" + r.log());
            int prompt = r.waitFor("Press ESC for boot menu.", banner, 30_000);
            assertTrue(prompt >= 0, "no boot-menu prompt:\n" + r.consoleText() + "\n" + r.log());
            r.type("\u001b");
            int menu = r.waitFor("Select boot device:", prompt, 30_000);
            Thread.sleep(2_500); // SeaBIOS takes ESC in the menu only after 1.5 s (guest time)
            r.type("\u001b"); // leave the (empty) menu
            int none = r.waitFor("No bootable device.", prompt, 60_000);
            System.out.printf("[seabios] console:%n%s%n", r.consoleText());
            assertTrue(menu >= 0, "ESC did not open the boot menu:\n" + r.consoleText() + "\n" + r.log());
            assertTrue(none >= 0, "no 'No bootable device.':\n" + r.consoleText() + "\n" + r.log());
            assertTrue(r.log().contains("HVM BIOS boot: " + BIOS), r.log());
        }
    }

    /**
     * {@code bios_path_override=}: guests/bios-test, a 64 KiB image, runs from the reset vector — its
     * first instruction fetched from the ROM at 0xFFFFFFF0, the rest from the alias at 0xF0000 —
     * finds the BIOS window ignoring stores at power-on, prints on COM1 and exits through
     * isa-debug-exit; QEMU's {@code -bios} runs the same image to the same lines and exit code.
     */
    @Test
    void anotherFirmwareImageStartsAtTheResetVectorAsInQemu() throws Exception {
        Path dir = Path.of("target", "bios-test").toAbsolutePath();
        Files.createDirectories(dir);
        Path image = dir.resolve("bios-test.bin");
        Path source = Path.of("..", "guests", "bios-test", "bios-test.asm").toAbsolutePath().normalize();
        Process nasm = new ProcessBuilder("nasm", "-f", "bin", "-o", image.toString(), source.toString())
                .redirectErrorStream(true).start();
        String out = new String(nasm.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(nasm.waitFor(60, TimeUnit.SECONDS) && nasm.exitValue() == 0, "nasm failed:\n" + out);
        DomainConfig config = DomainConfig.builder("bios-test").type(DomainType.HVM).memoryMiB(16)
                .raw(Map.of("bios_path_override", image.toString(), "debug_exit", "1", "xen_platform_pci", "0")).build();
        String console;
        Integer exit;
        try (DirectBootRunner r = new DirectBootRunner(config, new PrintStream(PrintStream.nullOutputStream()))) {
            r.start();
            assertTrue(r.waitForShutdown(60_000), "still running after 60 s:\n" + r.consoleText() + "\n" + r.log());
            console = r.consoleText();
            exit = r.exitCode();
            assertTrue(r.log().contains("HVM BIOS boot: " + image + " (64 KiB) at 0xffff0000"), r.log());
        }
        System.out.printf("[bios-test] xenj: exit %s%n%s", exit, console);
        assertTrue(console.contains("bios-test: reset vector reached, running at F000\r\n"), console);
        assertTrue(console.contains("bios-test: BIOS window read-only at power-on\r\n"), console);
        assertEquals(Integer.valueOf(0x43), exit);

        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/qemu-system-i386")),
                "qemu-system-i386 is not installed: xenj's run was checked on its own, not compared with QEMU");
        Process q = new ProcessBuilder("qemu-system-i386", "-nodefaults", "-bios", image.toString(), "-display", "none",
                "-serial", "stdio", "-monitor", "none", "-device", "isa-debug-exit,iobase=0xf4,iosize=4")
                .redirectErrorStream(true).start();
        boolean done = q.waitFor(60, TimeUnit.SECONDS);
        if (!done) {
            q.destroyForcibly();
        }
        String qemu = new String(q.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
        assertTrue(done, "QEMU did not end within 60 s:\n" + qemu);
        System.out.printf("[bios-test] QEMU: exit %d%n%s", q.exitValue(), qemu);
        assertEquals(qemu, console, "the same lines on QEMU's COM1");
        assertEquals(q.exitValue(), exit.intValue(), "the same exit code");
    }

    @Test
    void aFirmwareImageThatIsNoWholeNumberOf64KiBBlocksOrMissingIsRefusedWithTheReason() throws Exception {
        Path bad = Files.createTempFile("xenj-bios", ".bin");
        Files.write(bad, new byte[1000]);
        for (String[] c : new String[][] {{bad.toString(), "a whole number of 64 KiB blocks"},
                {"/nonexistent/bios.bin", "BIOS image (bios_path_override=, default /usr/share/seabios/bios.bin"}}) {
            DomainConfig config = DomainConfig.builder("bad-bios").type(DomainType.HVM).memoryMiB(16)
                    .raw(Map.of("bios_path_override", c[0])).build();
            try (DirectBootRunner r = new DirectBootRunner(config, new PrintStream(PrintStream.nullOutputStream()))) {
                org.xenj.hypervisor.api.HypervisorException e = org.junit.jupiter.api.Assertions.assertThrows(
                        org.xenj.hypervisor.api.HypervisorException.class, r::start);
                assertTrue(e.getMessage().contains(c[1]), e.getMessage());
            }
        }
        Files.delete(bad);
    }
}
