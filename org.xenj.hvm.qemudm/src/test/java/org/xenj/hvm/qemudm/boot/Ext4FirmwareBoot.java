package org.xenj.hvm.qemudm.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.ShutdownAction;

/**
 * Issue 14's firmware boot 3(c), folded into {@link LinuxBootTest}'s last domain so that it costs
 * no boot of its own: the guest installed on an ext4 partition with extlinux
 * ({@code scripts/make-ext4-image.sh}), started by Debian's SeaBIOS from the PIIX3 IDE disk
 * ({@code boot="c"}, no {@code kernel=}). What only that path proves: extlinux's {@code SAY} line
 * on COM1, the kernel command line of {@code extlinux.conf} in {@code /proc/cmdline}, and the disk
 * the kernel came from mounted by the guest's own ext4 (ata_piix, sd_mod, ext4 from its initramfs),
 * written, unmounted — and afterwards {@code e2fsck -fn} on the host finds the file system clean and
 * {@code debugfs} reads what the guest wrote. Without root or a loop device the image cannot be made
 * ({@code make-ext4-image.sh} exits 77): the last domain then boots its kernel directly as before and
 * the test says so.
 */
final class Ext4FirmwareBoot {

    static final String MARK = "xenj.bootfs=extlinux-ext4";
    static final String SAY = "xenj: extlinux on ext4";
    /** Typed on the ext4 domain's shell once it answered the common checks. */
    static final String COMMAND = "cat /proc/cmdline; modprobe ext4; mkdir -p /mnt; mount -t ext4 /dev/sda1 /mnt"
            + " && cat /mnt/XENJ-EXT4 && ls /mnt/boot/extlinux && echo written-by-the-guest > /mnt/from-guest"
            + " && umount /mnt && echo EXT4-$((6*7))-UMOUNTED\n";
    /** The partition's offset in the image (LBA 2048), as make-ext4-image.sh lays it out. */
    static final long OFFSET = 2048 * 512L;

    final Path image;

    private Ext4FirmwareBoot(Path image) {
        this.image = image;
    }

    /**
     * Makes the image from the guest in {@code guest}; null (with the reason printed) when this
     * machine cannot (exit 77: no root, no loop device, no extlinux). Any other failure fails the test.
     */
    static Ext4FirmwareBoot make(Path guest) throws Exception {
        if (!Boolean.parseBoolean(System.getProperty("xenj.boot.ext4", "true"))) {
            System.out.println("[boot-linux] ext4 firmware boot: off (-Dxenj.boot.ext4=false); the last domain boots its kernel directly");
            return null;
        }
        Path out = Path.of("target", "ext4-image").toAbsolutePath();
        Path script = Path.of("..", "scripts", "make-ext4-image.sh").toAbsolutePath().normalize();
        Process p = new ProcessBuilder("bash", script.toString(), guest.toString(), out.toString()).redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "make-ext4-image.sh timed out");
        if (p.exitValue() == 77) {
            System.out.println("[boot-linux] ext4 firmware boot SKIPPED, the last domain boots its kernel directly: " + text.strip());
            return null;
        }
        assertEquals(0, p.exitValue(), "make-ext4-image.sh failed (needs extlinux e2fsprogs, root and a loop device):\n" + text);
        System.out.println("[boot-linux] " + text.strip());
        return new Ext4FirmwareBoot(out.resolve("ext4.img"));
    }

    /** The domain: SeaBIOS at the reset vector (no kernel), the image as the IDE primary master, boot from it. */
    DomainConfig config(String name) {
        return DomainConfig.builder(name).type(DomainType.HVM).memoryMiB(256)
                .disks(List.of("format=raw, vdev=hda, access=rw, target=" + image))
                .raw(Map.of("boot", "c", "xen_platform_pci", "0")).onPoweroff(ShutdownAction.DESTROY).build();
    }

    /** What SeaBIOS and extlinux printed before the kernel: the SAY line of extlinux.conf, and the kernel read from /boot on ext4. */
    static void checkFirmware(String raw) {
        String console = raw.replaceAll("\u001b\\[[0-9;]*[A-Za-z]", ""); // SeaBIOS's screen mirror positions its cursor
        assertTrue(console.contains("SeaBIOS (version"), "SeaBIOS's banner:\n" + LinuxBootTest.tail(console));
        assertTrue(console.contains("Booting from Hard Disk..."), LinuxBootTest.tail(console));
        assertTrue(console.contains(SAY), "extlinux.conf's SAY line:\n" + LinuxBootTest.tail(console));
        assertTrue(console.contains("Loading /boot/vmlinuz") && console.contains("Loading /boot/initrd.gz"),
                "extlinux loading the kernel and initrd from the ext4 /boot:\n" + LinuxBootTest.tail(console));
    }

    /** The answer to {@link #COMMAND}: the command line from extlinux.conf, the guest's ext4 mount of its boot disk. */
    static void checkAnswer(String reply) {
        assertTrue(reply.contains("EXT4-42-UMOUNTED"), "mount, write, umount of /dev/sda1 in the guest:\n" + LinuxBootTest.tail(reply));
        assertTrue(reply.lines().anyMatch(l -> l.contains("console=ttyS0") && l.contains(MARK) && !l.contains("cat /proc/cmdline")),
                "/proc/cmdline is extlinux.conf's APPEND:\n" + LinuxBootTest.tail(reply));
        assertTrue(reply.contains("xenj ext4 disk of "), "the marker file read by the guest:\n" + LinuxBootTest.tail(reply));
        assertTrue(reply.contains("ldlinux.sys") && reply.contains("extlinux.conf"), LinuxBootTest.tail(reply));
    }

    /** After the domain is gone and its disk closed: e2fsck -fn finds the partition clean, debugfs reads the guest's file. */
    void checkImageAfterwards() throws Exception {
        Path part = Files.createTempFile("xenj-ext4-part", ".img");
        try {
            try (RandomAccessFile in = new RandomAccessFile(image.toFile(), "r")) {
                byte[] b = new byte[(int) (in.length() - OFFSET)];
                in.seek(OFFSET);
                in.readFully(b);
                Files.write(part, b);
            }
            String fsck = run("e2fsck", "-fn", part.toString());
            System.out.println("[boot-linux] ext4 disk after the boot, e2fsck -fn: " + fsck.strip().replace("\n", " | "));
            assertTrue(fsck.startsWith("exit 0\n"), "e2fsck -fn finds the guest's ext4 clean:\n" + fsck);
            String cat = run("debugfs", "-R", "cat /from-guest", part.toString());
            System.out.println("[boot-linux] debugfs cat /from-guest: " + cat.lines().filter(l -> !l.startsWith("debugfs ")).toList());
            assertTrue(cat.contains("written-by-the-guest"), "what the guest wrote through ata_piix and ext4:\n" + cat);
        } finally {
            Files.deleteIfExists(part);
        }
    }

    private static String run(String tool, String... args) throws IOException, InterruptedException {
        Path bin = Files.isExecutable(Path.of("/usr/sbin", tool)) ? Path.of("/usr/sbin", tool) : Path.of("/sbin", tool);
        List<String> cmd = new java.util.ArrayList<>(List.of(bin.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), tool + " timed out");
        return "exit " + p.exitValue() + "\n" + out;
    }
}
