package org.xenj.hvm.qemudm.boot;

import static org.junit.jupiter.api.Assertions.assertTrue;

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
}
