package org.xenj.hvm.qemudm.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.xenj.dom0.block.internal.BlockImagesService;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hvm.qemudm.internal.QemuDeviceModel;

/**
 * Firmware boot from the PIIX3 IDE: Debian's SeaBIOS loads syslinux from a FAT16 disk image
 * ({@code boot="c"}) or isolinux from an ISO9660 CD ({@code boot="d"}), which load the guest's
 * bzImage and initramfs through BIOS int 13h; Linux then finds its shell on COM1. The images come
 * from {@code scripts/make-bios-images.sh} over the guest of {@code -Dxenj.guest.dir} (skipped
 * without it, as {@link LinuxBootTest} is). Minutes on the shared host: run by
 * {@code tests/boot-linux.sh} after {@link LinuxBootTest}, not by the unit-test suite.
 */
class BiosDiskBootTest {

    static Path images;
    static final String CMDLINE = "console=ttyS0 cryptomgr.notests nokaslr";

    @BeforeAll
    static void buildImages() throws Exception {
        String dir = System.getProperty("xenj.guest.dir");
        Assumptions.assumeTrue(dir != null && !dir.isBlank(), "set -Dxenj.guest.dir to run the BIOS disk boot test");
        Assumptions.assumeTrue(Files.isReadable(SeaBiosBootTest.BIOS), "Debian's seabios package is not installed");
        images = Path.of("target", "bios-images").toAbsolutePath();
        Path script = Path.of("..", "scripts", "make-bios-images.sh").toAbsolutePath().normalize();
        // the CD's kernel also writes its messages to the VGA console (tty0), the disk's only to COM1 as before
        Process p = new ProcessBuilder("bash", script.toString(), dir, images.toString(), CMDLINE, "console=tty0 " + CMDLINE)
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "make-bios-images.sh timed out");
        assertEquals(0, p.exitValue(), "make-bios-images.sh failed (needs dosfstools mtools syslinux isolinux xorriso):\n" + out);
    }

    /** One medium's boot: its domain, the loader banner it prints, and what the test measured. */
    static final class Boot implements AutoCloseable {
        final String medium;
        final String loader;
        final BlockImagesService blocks = new BlockImagesService();
        final QemuDeviceModel qemuDm = new QemuDeviceModel(blocks);
        final DirectBootRunner runner;
        /** The CD's screen over VNC; null for the disk, which has no VGA. */
        BiosScreenChecks screen;
        double loaderS = -1, promptS = -1;
        long promptInstructions;

        Boot(String medium) {
            this.medium = medium;
            this.loader = medium.equals("disk") ? "SYSLINUX 6.04" : "ISOLINUX 6.04";
            String disk = medium.equals("disk")
                    ? "format=raw, vdev=hda, access=rw, target=" + images.resolve("disk.img")
                    : "format=raw, vdev=hdc, access=ro, devtype=cdrom, target=" + images.resolve("cd.iso");
            // the CD's domain has a screen: stdvga (the VGA BIOS as its option ROM) and a VNC console
            Map<String, String> raw = medium.equals("disk") ? Map.of("boot", "c", "xen_platform_pci", "0")
                    : Map.of("boot", "d", "xen_platform_pci", "0", "vga", "\"stdvga\"", "vnc", "1");
            DomainConfig config = DomainConfig.builder("bios-" + medium).type(DomainType.HVM).memoryMiB(256)
                    .disks(List.of(disk)).raw(raw).build();
            boolean echo = Boolean.getBoolean("xenj.seabios.echo");
            runner = new DirectBootRunner(config, echo ? System.out : new PrintStream(PrintStream.nullOutputStream()),
                    qemuDm);
        }

        @Override
        public void close() throws Exception {
            if (screen != null) {
                screen.close();
            }
            runner.close();
            blocks.close();
        }
    }

    /**
     * The syslinux disk ({@code boot="c"}, hda) and the isolinux CD ({@code boot="d"}, hdc) boot at
     * the same time, one vCPU thread each, so the two boots cost about one boot's wall time on two cores.
     * The CD's domain has a stdvga and a VNC console: {@link BiosScreenChecks} reads SeaBIOS's and
     * isolinux's text on it while isolinux loads the kernel, and Linux's console once the shell is up.
     */
    @Test
    void seaBiosBootsLinuxFromTheIdeDiskAndFromTheCdToTheShell() throws Exception {
        long timeoutMs = Long.getLong("xenj.boot.timeout", 900) * 1000;
        long t0 = System.nanoTime();
        String linuxScreen;
        try (Boot disk = new Boot("disk"); Boot cd = new Boot("cd")) {
            for (Boot b : List.of(disk, cd)) {
                b.runner.start();
                if (Boolean.getBoolean("xenj.seabios.trace")) {
                    traceEvery5s(b.runner, t0);
                }
            }
            // the CD first: its screen must be read before its kernel's console scrolls the firmware's lines away
            // (tens of seconds later at least: isolinux loads 7.6 MB through int 13h, then the kernel decompresses)
            for (Boot b : List.of(cd, disk)) {
                DirectBootRunner r = b.runner;
                int banner = r.waitFor(b.loader, 0, timeoutMs);
                assertTrue(banner >= 0, b.medium + ": no " + b.loader + " banner:\n" + r.consoleText() + "\n" + r.log());
                b.loaderS = (System.nanoTime() - t0) / 1e9;
            }
            cd.screen = new BiosScreenChecks(cd.medium, cd.qemuDm.display(1));
            String firmwareScreen = cd.screen.firmwareScreen(cd.loader);
            for (Boot b : List.of(disk, cd)) {
                DirectBootRunner r = b.runner;
                int linux = r.waitFor("Linux version", 0, timeoutMs);
                assertTrue(linux >= 0, b.medium + ": the kernel did not start:\n" + tail(r.consoleText()) + "\n" + r.log());
                int prompt = r.waitFor(LinuxBootTest.PROMPT, linux, timeoutMs);
                assertTrue(prompt >= 0, b.medium + ": no shell prompt:\n" + tail(r.consoleText()) + "\n" + r.log());
                b.promptS = (System.nanoTime() - t0) / 1e9;
                b.promptInstructions = r.cpuExecutor() == null ? -1 : r.cpuExecutor().instructionCount();
                r.type("echo bios-$((6*7))\n");
                int answer = r.waitFor("bios-42", prompt, 120_000);
                assertTrue(answer >= 0, b.medium + ": the shell did not answer:\n" + tail(r.consoleText()));
                String text = r.consoleText();
                assertTrue(text.contains("SeaBIOS (version"), "SeaBIOS's banner on the console:\n" + tail(text));
                assertTrue(text.contains(b.medium.equals("disk") ? "Booting from Hard Disk..." : "Booting from DVD/CD..."),
                        tail(text));
                assertTrue(r.log().contains("HVM BIOS boot: " + SeaBiosBootTest.BIOS), r.log());
            }
            linuxScreen = cd.screen.linuxScreen(cd.runner);
            String qemu = qemuSerialUntilTheKernel(images.resolve("disk.img"));
            if (qemu != null) {
                String mine = disk.runner.consoleText();
                assertEquals(seaBiosPart(qemu), seaBiosPart(mine),
                        "COM1 from SeaBIOS's banner to the boot loader's first line, byte for byte as on QEMU");
                assertEquals(loaderMessages(qemu), loaderMessages(mine),
                        "the boot loader's messages up to the kernel's EDD probe, in the same order as on QEMU:\n--- QEMU\n"
                                + firmwarePart(qemu) + "\n--- xenj\n" + firmwarePart(mine));
                System.out.printf("[bios-boot] disk: SeaBIOS output identical to QEMU's (%d bytes), then the same %d boot loader"
                        + " messages in the same order %s%n", seaBiosPart(qemu).length(), loaderMessages(qemu).size(),
                        loaderMessages(qemu));
            }
            for (Boot b : List.of(disk, cd)) {
                System.out.printf("[bios-boot] %s: %s after %.1f s, shell prompt after %.1f s (both boots at once), "
                        + "%.2f G guest instructions to the prompt; load average %.1f%n", b.medium, b.loader, b.loaderS, b.promptS,
                        b.promptInstructions / 1e9, java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                                .getSystemLoadAverage());
            }
            System.out.printf("[bios-boot] cd's VNC screen: firmware: %s; Linux: %s%n", firmwareScreen, linuxScreen);
        }
    }

    /** From SeaBIOS's banner up to the kernel's "Probing EDD" (the firmware and boot loader's output). */
    static String firmwarePart(String console) {
        int from = console.indexOf("SeaBIOS (version");
        int to = console.indexOf("Probing EDD", Math.max(from, 0));
        return from < 0 || to < 0 ? console : console.substring(from, to);
    }

    /** From SeaBIOS's banner to the boot loader's first output: only SeaBIOS writes to COM1 until then. */
    static String seaBiosPart(String console) {
        String firmware = firmwarePart(console);
        int loader = firmware.indexOf("LINUX ");
        return loader < 0 ? firmware : firmware.substring(0, firmware.lastIndexOf('\n', loader) + 1);
    }

    private static final java.util.regex.Pattern CSI = java.util.regex.Pattern.compile("\u001b\\[[0-9;]*[A-Za-z]");
    private static final java.util.regex.Pattern LOADER_LINE = java.util.regex.Pattern
            .compile("(?:SYS|ISO)LINUX [^\n]*? et al|Loading [A-Za-z0-9_-]+(?:\\.[a-z]+)?");

    /**
     * The boot loader's messages in order, each once. SeaBIOS's serial console mirrors the text screen onto COM1
     * with cursor-positioning escapes, flushed from its timer, so where the escapes fall depends on when the timer
     * fires (CI saw {@code "Loading\e[05;07H\e[05;08H vmlinuz"} and {@code "L\r\e[05;02Hoading vmlinuz"}): the messages
     * are compared, not the bytes. The
     * disk's syslinux does not write COM1 itself (no SERIAL line): a second writer's bytes were cut into by the
     * mirror's flushes at random points, on QEMU as on xenj.
     */
    static List<String> loaderMessages(String console) {
        // the mirror's flush may also return the cursor (CR) inside a word before positioning it (ci38: "L\r\e[05;02Hoading")
        String plain = CSI.matcher(firmwarePart(console)).replaceAll("").replace("\r", "");
        java.util.LinkedHashSet<String> seen = new java.util.LinkedHashSet<>();
        java.util.regex.Matcher m = LOADER_LINE.matcher(plain);
        while (m.find()) {
            seen.add(m.group());
        }
        return List.copyOf(seen);
    }

    /**
     * The oracle: QEMU with the same machine as the domain (i440FX, the image as IDE primary master,
     * no other devices, SeaBIOS's serial console on 0x3F8, boot from the disk), COM1 read until the
     * kernel's setup code prints "Probing EDD"; null (and the comparison skipped) without QEMU.
     */
    static String qemuSerialUntilTheKernel(Path image) throws Exception {
        if (!Files.isExecutable(Path.of("/usr/bin/qemu-system-i386"))) {
            System.out.println("[bios-boot] qemu-system-i386 not installed: no comparison with QEMU");
            return null;
        }
        Path sercon = Files.createTempFile("xenj-sercon", ".bin");
        Files.write(sercon, new byte[] {(byte) 0xf8, 0x03});
        Process q = new ProcessBuilder("qemu-system-i386", "-nodefaults", "-M", "pc", "-m", "256", "-display", "none",
                "-serial", "stdio", "-monitor", "none", "-no-reboot", "-fw_cfg", "name=etc/sercon-port,file=" + sercon,
                "-drive", "file=" + image + ",format=raw,if=ide,snapshot=on", "-boot", "c").redirectErrorStream(true).start();
        StringBuilder out = new StringBuilder();
        Thread reader = new Thread(() -> {
            try (java.io.InputStream in = q.getInputStream()) {
                int c;
                while ((c = in.read()) >= 0) {
                    synchronized (out) {
                        out.append((char) c);
                    }
                }
            } catch (java.io.IOException e) {
                // process ended
            }
        });
        reader.setDaemon(true);
        reader.start();
        long end = System.currentTimeMillis() + 120_000;
        try {
            while (System.currentTimeMillis() < end) {
                synchronized (out) {
                    if (out.indexOf("Probing EDD") >= 0) {
                        return out.toString();
                    }
                }
                Thread.sleep(50);
            }
            synchronized (out) {
                throw new AssertionError("QEMU did not reach the kernel within 120 s:\n" + out);
            }
        } finally {
            q.destroyForcibly();
            q.waitFor(10, TimeUnit.SECONDS);
            Files.deleteIfExists(sercon);
        }
    }

    /** Diagnosis (-Dxenj.seabios.trace=true): CS:EIP, CR0 and the instruction count every 5 s. */
    static void traceEvery5s(DirectBootRunner r, long t0) {
        org.xenj.hypervisor.internal.cpu.Cpu cpu = r.cpuExecutor().cpu();
        Thread t = new Thread(() -> {
            while (true) {
                System.out.printf("[trace] %.0f s cs=%04x eip=%08x cr0=%08x insns=%d%n", (System.nanoTime() - t0) / 1e9,
                        cpu.getSegSelector(org.xenj.hypervisor.internal.cpu.Cpu.CS), cpu.getEip(), cpu.getCr0(),
                        cpu.instructionCount());
                try {
                    Thread.sleep(5000);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "bios-trace");
        t.setDaemon(true);
        t.start();
    }

    static String tail(String s) {
        return s.length() > 4000 ? s.substring(s.length() - 4000) : s;
    }
}
