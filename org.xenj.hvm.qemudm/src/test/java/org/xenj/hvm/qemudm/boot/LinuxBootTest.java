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
import org.xenj.dom0.block.internal.BlockImagesService;
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
 * ends each domain with {@code poweroff -f} (on_poweroff=destroy removes it). Domain 0 is also saved
 * and restored twice (issue 15): mid-boot with {@code -p} (then destroyed by hand) and in the
 * middle of a loop of 24 {@code dd | md5sum}; each time a copy of the image with one flipped byte
 * must be refused with nothing created, and after the restore every md5 must be right.
 * The last domain (with one vCPU, at least two domains) is not booted directly: Debian's SeaBIOS
 * starts it from an ext4 disk with extlinux ({@link Ext4FirmwareBoot}, issue 14's firmware boot
 * 3(c)), which costs no boot of its own; {@code -Dxenj.boot.ext4=false} boots it directly.
 * Runs only when
 * {@code -Dxenj.guest.dir=DIR} names the built guest (tests/boot-linux.sh sets it): a boot takes
 * minutes, too long for the unit-test suite.
 */
class LinuxBootTest {

    static final String COMMAND = "uname -a; cat /proc/cpuinfo; echo ok | md5sum\n";
    static final String PROMPT = "~ # ";
    /** As examples/debian.cfg boots it. */
    static final String CMDLINE = System.getProperty("xenj.boot.cmdline", "console=ttyS0 cryptomgr.notests nokaslr");
    /**
     * vCPUs of the last domain (the others have one): {@code -Dxenj.boot.smp.vcpus=2} boots it SMP
     * (INIT/SIPI, MP table) and the /proc/cpuinfo check below then wants that many processors.
     */
    static final int LAST_DOMAIN_VCPUS = Integer.getInteger("xenj.boot.smp.vcpus", 1);

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

        // issue 14, firmware boot 3(c): the last domain starts from SeaBIOS and extlinux on an ext4 disk (no boot of its own)
        Ext4FirmwareBoot ext4 = domains >= 2 && LAST_DOMAIN_VCPUS == 1 ? Ext4FirmwareBoot.make(guest) : null;
        int ext4Domain = ext4 == null ? -1 : domains - 1;
        if (domains < 2 || LAST_DOMAIN_VCPUS != 1) {
            System.out.println("[boot-linux] ext4 firmware boot SKIPPED: it takes the last of two or more one-vCPU domains ("
                    + domains + " domain(s), last with " + LAST_DOMAIN_VCPUS + " vCPUs)");
        }
        Plugins plugins = new Plugins();
        plugins.addScheduler(new CreditSchedulerType());
        plugins.addBuilder(new HvmGuestBuilder());
        BlockImagesService blocks = new BlockImagesService();
        QemuDeviceModel qemu = new QemuDeviceModel(blocks);
        plugins.addDeviceModel(qemu);
        int pcpus = Math.max(1, Math.min(domains, Runtime.getRuntime().availableProcessors()));
        try (blocks; HypervisorCore xen = new HypervisorCore(CoreConfig.parse(((long) domains * 260 + 64) + "M", pcpus, "32M", "credit"), plugins)) {
            long t0 = System.nanoTime();
            List<Domain> doms = new ArrayList<>();
            List<Console> consoles = new ArrayList<>();
            for (int i = 0; i < domains; i++) {
                DomainConfig cfg = i == ext4Domain ? ext4.config("debian" + i + "-ext4")
                        : DomainConfig.builder("debian" + i).type(DomainType.HVM).memoryMiB(256).kernel(guest.resolve("bzImage").toString())
                        .ramdisk(guest.resolve("initramfs.cpio.gz").toString()).vcpus(i == domains - 1 ? LAST_DOMAIN_VCPUS : 1)
                        .cmdline(CMDLINE).onPoweroff(ShutdownAction.DESTROY).build();
                Domain d = xen.create(cfg);
                doms.add(d);
                consoles.add(new Console(xen.console(d.id())));
            }
            String md5 = HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest("ok\n".getBytes(StandardCharsets.US_ASCII)));
            Path images = Files.createTempDirectory("xenj-save");
            if (SAVE_RESTORE) {
                // xl save -p mid-boot: the domain stays paused; destroyed by hand, then restored from the image
                Console c0 = consoles.get(0);
                assertTrue(c0.waitFor(MID_BOOT, 0, timeoutMs) >= 0, "domain 0 never printed '" + MID_BOOT + "'; console:\n" + tail(c0.text()));
                Domain restored = saveAndRestore(xen, doms.get(0), c0, images.resolve("mid-boot.save"), true);
                doms.set(0, restored);
                consoles.set(0, new Console(xen.console(restored.id())));
                xen.unpause(restored.id());
            }
            for (int i = 0; i < domains; i++) {
                Console c = consoles.get(i);
                int prompt = c.waitFor(PROMPT, 0, timeoutMs);
                assertTrue(prompt >= 0, "domain " + i + ": no shell prompt; console:\n" + tail(c.text()) + "\ndmesg:\n"
                        + String.join("\n", xen.dmesg()));
                System.out.printf("[boot-linux] domain %d: prompt after %.1f s%n", i, (System.nanoTime() - t0) / 1e9);
                c.access.write(COMMAND.getBytes(StandardCharsets.US_ASCII));
                int answer = c.waitFor(md5 + "  -", prompt, 300_000);
                String reply = c.text().substring(prompt);
                if (answer < 0) { // the report is only built on failure: it takes debug-keys and a second
                    org.junit.jupiter.api.Assertions.fail("domain " + i + ": md5sum did not answer " + md5 + "; console:\n"
                            + tail(reply) + stuckReport(xen, qemu, doms.get(i)));
                }
                assertTrue(reply.matches("(?s).*Linux \\S+ 6\\.\\d+\\S* .*"), "uname -a:\n" + tail(reply));
                assertTrue(reply.contains(" i686 ") || reply.contains(" i586 "), "uname machine:\n" + tail(reply));
                assertTrue(reply.contains("processor\t: 0") && reply.contains("vendor_id"), "/proc/cpuinfo:\n" + tail(reply));
                int vcpus = i == domains - 1 ? LAST_DOMAIN_VCPUS : 1;
                assertEquals(vcpus, reply.split("\nprocessor\t: ", -1).length - 1, "processors in /proc/cpuinfo of a domain with "
                        + vcpus + " vCPU(s):\n" + tail(reply));
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
            int ext4From = -1;
            if (ext4Domain >= 0) {
                // while domain 0 runs its workload below: the guest mounts the disk it booted from
                Console c = consoles.get(ext4Domain);
                Ext4FirmwareBoot.checkFirmware(c.text());
                ext4From = c.text().length();
                c.access.write(Ext4FirmwareBoot.COMMAND.getBytes(StandardCharsets.US_ASCII));
            }
            if (SAVE_RESTORE) {
                midWorkload(xen, qemu, doms, consoles, images);
            }
            if (ext4Domain >= 0) {
                Console c = consoles.get(ext4Domain);
                int done = c.waitFor("EXT4-42-UMOUNTED", ext4From, 300_000);
                String reply = c.text().substring(ext4From);
                assertTrue(done >= 0, "the ext4 domain's mount/umount did not answer:\n" + tail(reply));
                Ext4FirmwareBoot.checkAnswer(reply);
                System.out.println("[boot-linux] ext4 domain (SeaBIOS, extlinux on ext4):\n" + reply.lines()
                        .filter(l -> !l.isBlank()).map(l -> "[boot-linux]   " + l.strip()).collect(java.util.stream.Collectors.joining("\n")));
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
            blocks.close(); // the domains closed their disks when they were destroyed; nothing else writes the image
            if (ext4 != null) {
                ext4.checkImageAfterwards();
            }
            System.out.printf("[boot-linux] %d domains booted, answered and powered off in %.1f s%n", domains,
                    (System.nanoTime() - t0) / 1e9);
        }
    }

    /** Save/restore steps on domain 0 (on unless -Dxenj.boot.saverestore=false). */
    static final boolean SAVE_RESTORE = Boolean.parseBoolean(System.getProperty("xenj.boot.saverestore", "true"));
    /** A line the kernel prints about half-way through its boot: the mid-boot save point. */
    static final String MID_BOOT = System.getProperty("xenj.boot.midboot", "NET: Registered");
    static final int WORKLOAD_ROUNDS = 24;
    static final String WORKLOAD = "i=0; while [ $i -lt " + WORKLOAD_ROUNDS + " ]; do dd if=/dev/zero bs=64k count=32 2>/dev/null"
            + " | md5sum; i=$((i+1)); done; echo WL-$((6*7))-DONE\n";

    /**
     * Saves the domain (xl save, or save -p and then destroy), checks that the memory came back and
     * that a damaged copy of the image is refused with nothing created, and restores it paused.
     */
    static Domain saveAndRestore(HypervisorCore xen, Domain d, Console console, Path file, boolean leavePaused) throws Exception {
        long freeBefore = xen.info().freeMemoryKiB();
        org.xenj.hypervisor.api.SaveInfo info = xen.save(d.id(), file, leavePaused);
        System.out.printf("[boot-linux] saved %s (%s): %d bytes, %d pages + %d zero pages, paused %.1f ms, -p %s%n", d.name(),
                file.getFileName(), info.bytes(), info.pages(), info.zeroPages(), info.pausedNanos() / 1e6, leavePaused);
        assertEquals(Files.size(file), info.bytes(), "SaveInfo.bytes is the file's size");
        if (leavePaused) {
            assertEquals(org.xenj.hypervisor.api.DomainState.PAUSED, xen.lookup(d.id()).orElseThrow().state(), "save -p leaves it paused");
            xen.destroy(d.id());
        }
        long end = System.currentTimeMillis() + 30_000;
        while (xen.lookup(d.id()).isPresent() && System.currentTimeMillis() < end) {
            Thread.sleep(20);
        }
        assertTrue(xen.lookup(d.id()).isEmpty(), "the saved domain is gone");
        console.close();
        long free = xen.info().freeMemoryKiB();
        assertTrue(free >= freeBefore + 256 * 1024, "its memory is free again: " + freeBefore + " -> " + free + " KiB");
        // a damaged copy: one byte flipped in the middle of the pages
        Path bad = file.resolveSibling(file.getFileName() + ".damaged");
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length / 2] ^= 0x10;
        Files.write(bad, bytes);
        int domainsBefore = xen.list().size();
        org.xenj.hypervisor.api.HypervisorException refused = org.junit.jupiter.api.Assertions.assertThrows(
                org.xenj.hypervisor.api.HypervisorException.class, () -> xen.restore(bad, java.util.Map.of(), true));
        System.out.println("[boot-linux] damaged image refused: " + refused.getMessage());
        assertTrue(refused.getMessage().contains("checksum mismatch") && refused.getMessage().contains("nothing was created"),
                refused.getMessage());
        assertEquals(domainsBefore, xen.list().size(), "nothing created");
        assertEquals(free, xen.info().freeMemoryKiB(), "no memory taken");
        Files.delete(bad);
        long t0 = System.nanoTime();
        Domain r = xen.restore(file, java.util.Map.of(), true);
        System.out.printf("[boot-linux] restored %s as d%d in %.1f ms%n", r.name(), r.id(), (System.nanoTime() - t0) / 1e6);
        assertEquals(d.name(), r.name());
        assertEquals(d.uuid(), r.uuid(), "a restore keeps the UUID");
        String saved = "d" + d.id() + " (" + d.name() + ") saved to ", restoredLine = "d" + r.id() + " (" + r.name() + ") restored from ";
        xen.dmesg().stream().filter(l -> l.contains(saved) || l.contains(restoredLine)).forEach(l -> System.out.println("[boot-linux] " + l));
        return r;
    }

    /** Domain 0 runs a loop of md5sums; it is saved after the first answer and restored; every answer must be right. */
    static void midWorkload(HypervisorCore xen, QemuDeviceModel qemu, List<Domain> doms, List<Console> consoles, Path images)
            throws Exception {
        String expected = HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(new byte[64 * 1024 * 32]));
        Console c = consoles.get(0);
        int from = c.text().length();
        c.access.write(WORKLOAD.getBytes(StandardCharsets.US_ASCII));
        assertTrue(c.waitFor(expected + "  -", from, 300_000) >= 0, "the workload gave no md5; console:\n" + tail(c.text()));
        String before = c.text().substring(from);
        Domain r = saveAndRestore(xen, doms.get(0), c, images.resolve("mid-workload.save"), false);
        Console rc = new Console(xen.console(r.id()));
        xen.unpause(r.id());
        doms.set(0, r);
        consoles.set(0, rc);
        if (rc.waitFor("WL-42-DONE", 0, 300_000) < 0) {
            org.junit.jupiter.api.Assertions.fail("the workload did not finish after the restore; console:\n" + tail(rc.text())
                    + "\nbefore the save:\n" + tail(before) + stuckReport(xen, qemu, r));
        }
        String all = before + rc.text();
        long right = all.lines().filter(l -> l.strip().equals(expected + "  -")).count();
        long answers = all.lines().filter(l -> l.strip().matches("[0-9a-f]{32}  -")).count();
        long beforeSave = before.lines().filter(l -> l.strip().equals(expected + "  -")).count();
        System.out.printf("[boot-linux] workload: %d md5sums before the save, %d in all, %d right (expected %d x %s)%n", beforeSave,
                answers, right, WORKLOAD_ROUNDS, expected);
        assertEquals(WORKLOAD_ROUNDS, answers, "every round answered once:\n" + tail(all));
        assertEquals(WORKLOAD_ROUNDS, right, "every md5 right:\n" + tail(all));
        assertTrue(beforeSave < WORKLOAD_ROUNDS, "the save came mid-workload");
        int prompt = rc.text().length();
        rc.access.write("echo ok | md5sum\n".getBytes(StandardCharsets.US_ASCII));
        String okMd5 = HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest("ok\n".getBytes(StandardCharsets.US_ASCII)));
        if (rc.waitFor(okMd5 + "  -", prompt, 120_000) < 0) {
            org.junit.jupiter.api.Assertions.fail("the shell answers after the restore:\n" + tail(rc.text()) + stuckReport(xen, qemu, r));
        }
    }

    /**
     * What a domain that stopped answering its console looks like inside: COM1's registers and
     * line, then (xl debug-keys d) each vCPU's registers, IF and pending interrupt, the PIC, the
     * IOAPIC's lines and pins and each local APIC's IRR/ISR — whether the byte sits in the UART,
     * the interrupt in a controller, or the guest is elsewhere.
     */
    static String stuckReport(HypervisorCore xen, QemuDeviceModel qemu, Domain d) {
        StringBuilder b = new StringBuilder("\ndmesg:\n" + String.join("\n", xen.dmesg()));
        b.append("\nCOM1 of d").append(d.id()).append(": ").append(qemu.consoleUartState(d.id()));
        for (int round = 0; round < 2; round++) { // twice, a second apart: moving or stuck
            xen.clearDmesg();
            xen.debugKeys("d");
            b.append("\ndebug-keys d:\n").append(String.join("\n", xen.dmesg()));
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return b.toString();
    }

    static String tail(String s) {
        return s.length() <= 4000 ? s : "..." + s.substring(s.length() - 4000);
    }
}
