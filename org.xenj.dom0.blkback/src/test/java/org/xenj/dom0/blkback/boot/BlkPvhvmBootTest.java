package org.xenj.dom0.blkback.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.dom0.block.internal.BlockImagesService;
import org.xenj.dom0.blkback.api.VirtualDisk;
import org.xenj.dom0.blkback.internal.BlkbackService;
import org.xenj.hvm.qemudm.internal.QemuDeviceModel;
import org.xenj.hypervisor.api.ConsoleAccess;
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
 * The real oracle for blkback: Debian's 686-pae kernel as a PVHVM guest ({@code xen_platform_pci=1})
 * with Linux's own xen-blkfront module, booted once. xvda is a raw ext4 image made by the host's
 * {@code mkfs.ext4}, xvdb a qcow2 overlay ({@code qemu-img create -f qcow2 -b base.raw -F raw})
 * on a raw ext4 backing file. Through the serial console the guest mounts both, writes a text
 * file and 1 MiB of random bytes (whose md5sum it prints), syncs and unmounts; xvdc is
 * hot-plugged (it must appear in /sys/block and /dev), written, and detached (it must go away).
 * After poweroff the host checks: {@code e2fsck -fn} clean on every file system, {@code debugfs}
 * reads back exactly what the guest wrote, {@code qemu-img check} clean on the overlay, and the
 * backing file byte-identical to before. Runs only with {@code -Dxenj.pvhvm.dir=DIR}
 * (tests/blk-pvhvm.sh); skips, saying why, without mkfs.ext4/e2fsck/debugfs/qemu-img.
 */
class BlkPvhvmBootTest {

    static final String PROMPT = "~ # ";
    static final String CMDLINE = System.getProperty("xenj.boot.cmdline", "console=ttyS0 cryptomgr.notests nokaslr");
    /**
     * Module options busybox's modprobe takes from the kernel command line: a 4-page ring
     * (Linux's default is one page) and indirect requests of up to 256 segments (default 32), so
     * Linux's own blkfront drives blkback's multi-page ring and largest indirect requests.
     */
    static final String BLKFRONT_OPTIONS = "xen_blkfront.max_ring_page_order=2 xen_blkfront.max_indirect_segments=256";
    static final String TEXT_A = "written by xen-blkfront on xvda";
    static final String TEXT_B = "written by xen-blkfront on xvdb (qcow2)";
    static final String TEXT_C = "hot-plugged xvdc";

    @TempDir
    Path tmp;

    @Test
    void linuxBlkfrontReadsAndWritesRawAndQcow2AndHotplugs() throws Exception {
        String dir = System.getProperty("xenj.pvhvm.dir");
        assumeTrue(dir != null && !dir.isBlank(), "set -Dxenj.pvhvm.dir to run the blkfront boot test");
        for (String tool : List.of("mkfs.ext4", "e2fsck", "debugfs", "qemu-img")) {
            assumeTrue(onPath(tool), tool + " is not installed (scripts/setup-debian.sh installs it)");
        }
        Path guest = Path.of(dir);
        assertTrue(Files.isRegularFile(guest.resolve("bzImage")), "no bzImage in " + guest);
        long timeoutMs = Long.getLong("xenj.boot.timeout", 1200) * 1000;

        Path a = mkfs("a.raw", 64);
        Path base = mkfs("base.raw", 64);
        Path b = tmp.resolve("b.qcow2");
        run(60, "qemu-img", "create", "-q", "-f", "qcow2", "-b", base.toString(), "-F", "raw", b.toString());
        Path c = mkfs("c.raw", 16);
        String baseSum = sha256(base);

        BlockImagesService images = new BlockImagesService();
        BlkbackService blkback = new BlkbackService(images);
        Plugins plugins = new Plugins();
        plugins.addScheduler(new CreditSchedulerType());
        plugins.addBuilder(new HvmGuestBuilder());
        plugins.addDeviceModel(new QemuDeviceModel());
        plugins.addBackend(blkback, BlkbackService.KIND);
        String md5a;
        String md5b;
        try (HypervisorCore xen = new HypervisorCore(CoreConfig.parse("330M", 1, "32M", "credit"), plugins)) {
            long t0 = System.nanoTime();
            DomainConfig cfg = DomainConfig.builder("blk").type(DomainType.HVM).memoryMiB(256)
                    .kernel(guest.resolve("bzImage").toString()).ramdisk(guest.resolve("initramfs.cpio.gz").toString())
                    .cmdline(CMDLINE + " " + BLKFRONT_OPTIONS).onPoweroff(ShutdownAction.DESTROY)
                    .disks(List.of("format=raw, vdev=xvda, access=rw, target=" + a,
                            "format=qcow2, vdev=xvdb, access=rw, target=" + b))
                    .raw(Map.of("xen_platform_pci", "1")).build();
            Domain d = xen.create(cfg);
            try (Console con = new Console(xen.console(d.id()))) {
                int prompt = con.waitFor(PROMPT, 0, timeoutMs);
                assertTrue(prompt >= 0, "no shell prompt; console:\n" + tail(con.text()) + "\ndmesg:\n" + String.join("\n", xen.dmesg()));
                System.out.printf("[blk-pvhvm] prompt after %.1f s%n", (System.nanoTime() - t0) / 1e9);

                String disks = con.command("for i in $(seq 100); do [ -e /sys/block/xvdb ] && break; sleep 0.1; done; "
                        + "cat /proc/partitions; dmesg | grep -i -E 'blkfront|xvd|vbd'", "disks", 120);
                System.out.println("[blk-pvhvm] guest sees:\n" + disks);
                if (!disks.contains("xvda") || !disks.contains("xvdb")) {
                    System.out.println("[blk-pvhvm] host dmesg:\n" + String.join("\n", xen.dmesg()));
                    System.out.println("[blk-pvhvm] guest xenbus view:\n" + con.command(
                            "ls -lR /sys/bus/xen/devices/ 2>&1 | head -40; for f in /sys/bus/xen/devices/*/state /sys/bus/xen/devices/*/nodename; "
                                    + "do echo $f $(cat $f); done; dmesg | tail -40", "dbg", 60));
                }
                assertTrue(disks.contains("xvda") && disks.contains("xvdb"), "xen-blkfront did not bring up xvda and xvdb:\n" + disks);

                String write = con.command("mkdir -p /mnt/a /mnt/b && mount -t ext4 /dev/xvda /mnt/a && mount -t ext4 /dev/xvdb /mnt/b && "
                        + "echo '" + TEXT_A + "' > /mnt/a/file && echo '" + TEXT_B + "' > /mnt/b/file && "
                        + "dd if=/dev/urandom of=/mnt/a/big bs=64k count=16 2>/dev/null && cp /mnt/a/big /mnt/b/big && "
                        + "md5sum /mnt/a/big /mnt/b/big && sync && umount /mnt/a && umount /mnt/b && echo mounted-wrote-unmounted-$((6*7))", "write", 300);
                System.out.println("[blk-pvhvm] mount/write/umount:\n" + write);
                assertTrue(write.contains("mounted-wrote-unmounted-42"), "mount/write/umount failed:\n" + write + "\n" + tail(con.text())
                        + "\nhost dmesg:\n" + String.join("\n", xen.dmesg()));
                md5a = md5Of(write, "/mnt/a/big");
                md5b = md5Of(write, "/mnt/b/big");
                assertEquals(md5a, md5b, "cp changed the bytes?");

                // hot-plug: as xl block-attach
                VirtualDisk vd = blkback.attach(d.id(), "format=raw, vdev=xvdc, access=rw, target=" + c);
                System.out.println("[blk-pvhvm] attached " + vd);
                String hp = con.command("for i in $(seq 200); do [ -e /sys/block/xvdc ] && break; sleep 0.1; done; ls /sys/block; ls -l /dev/xvdc; "
                        + "mkdir -p /mnt/c && mount -t ext4 /dev/xvdc /mnt/c && echo '" + TEXT_C + "' > /mnt/c/file && sync && umount /mnt/c "
                        + "&& echo xvdc-written-$((6*7))", "hotplug", 120);
                System.out.println("[blk-pvhvm] after block-attach:\n" + hp);
                assertTrue(hp.contains("xvdc-written-42") && hp.contains("/dev/xvdc"), "xvdc did not appear or could not be used:\n" + hp
                        + "\nhost dmesg:\n" + String.join("\n", xen.dmesg()));
                List<VirtualDisk> listed = blkback.list(d.id());
                listed.forEach(v -> System.out.println("[blk-pvhvm] block-list: " + v));
                assertEquals(3, listed.size(), "block-list: " + listed);
                assertTrue(listed.stream().allMatch(v -> v.backendState() == 4 && v.frontendState() == 4), "not all connected: " + listed);

                blkback.detach(d.id(), "xvdc", false);
                String gone = con.command("for i in $(seq 100); do [ -e /sys/block/xvdc ] || break; sleep 0.1; done; ls /sys/block; [ -e /sys/block/xvdc ] || echo xvdc-absent-$((6*7))", "detach", 60);
                System.out.println("[blk-pvhvm] after block-detach: " + gone.replaceAll("\\s+", " "));
                assertTrue(gone.contains("xvdc-absent-42"), "xvdc still there after block-detach:\n" + gone);
                assertEquals(2, blkback.list(d.id()).size());

                con.write("poweroff -f\n".getBytes(StandardCharsets.US_ASCII));
                long end = System.currentTimeMillis() + 120_000;
                while (xen.lookup(d.id()).isPresent() && System.currentTimeMillis() < end) {
                    Thread.sleep(50);
                }
                assertTrue(xen.lookup(d.id()).isEmpty(), "poweroff -f did not end the domain");
            }
            xen.dmesg().stream().filter(l -> l.contains("vbd")).forEach(l -> System.out.println("[blk-pvhvm] " + l.trim()));
            // Linux's blkfront used the paths we advertise: ext4's journal commits are flushes
            // (feature-flush-cache), and 1 MiB of sequential writeback goes out as indirect requests.
            String xvda = xen.dmesg().stream().filter(l -> l.contains("vbd xvda: disconnected")).findFirst().orElse("");
            assertTrue(xvda.contains("flush-diskcache") && xvda.contains("indirect") && xvda.contains("0 refused or failed"),
                    "xvda was not served flushes and indirect requests without errors: " + xvda);
            String connected = xen.dmesg().stream().filter(l -> l.contains("vbd xvda: connected")).findFirst().orElse("");
            assertTrue(connected.contains("x86_32-abi, ring of 128 on 4 page(s)"), "blkfront did not use a 4-page ring: " + connected);
            System.out.printf("[blk-pvhvm] booted, checked and powered off in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        } finally {
            images.close();
        }

        // host side: the real tools read what the guest wrote
        fsck(a);
        assertEquals(TEXT_A + "\n", run(60, "debugfs", "-R", "cat /file", a.toString()));
        assertEquals(md5a, md5OfFile(dump(a, "/big")));
        String check = run(60, "qemu-img", "check", b.toString());
        System.out.println("[blk-pvhvm] qemu-img check: " + check.replaceAll("\\s+", " "));
        assertTrue(check.contains("No errors were found"), check);
        Path bRaw = tmp.resolve("b-out.raw");
        run(120, "qemu-img", "convert", "-O", "raw", b.toString(), bRaw.toString());
        fsck(bRaw);
        assertEquals(TEXT_B + "\n", run(60, "debugfs", "-R", "cat /file", bRaw.toString()));
        assertEquals(md5a, md5OfFile(dump(bRaw, "/big")));
        assertEquals(baseSum, sha256(base), "the qcow2 overlay's backing file changed");
        fsck(c);
        assertEquals(TEXT_C + "\n", run(60, "debugfs", "-R", "cat /file", c.toString()));
        System.out.println("[blk-pvhvm] host: e2fsck -fn clean on xvda, xvdb (converted) and xvdc; debugfs reads back the guest's "
                + "files (md5 " + md5a + "); qemu-img check clean; backing file unchanged (sha256 " + baseSum.substring(0, 16) + "...)");
    }

    private Path mkfs(String name, int mib) throws Exception {
        Path p = tmp.resolve(name);
        try (var f = new java.io.RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(mib * 1024L * 1024L);
        }
        run(60, "mkfs.ext4", "-q", "-F", p.toString());
        return p;
    }

    private static void fsck(Path p) throws Exception {
        String out = run(60, "e2fsck", "-fn", p.toString());
        System.out.println("[blk-pvhvm] e2fsck -fn " + p.getFileName() + ": " + out.trim().replaceAll("\\s+", " "));
    }

    private Path dump(Path image, String file) throws Exception {
        Path out = tmp.resolve(image.getFileName() + file.replace('/', '_'));
        run(60, "debugfs", "-R", "dump " + file + " " + out, image.toString());
        return out;
    }

    private static String md5Of(String text, String file) {
        for (String line : text.split("\r?\n")) {
            String l = line.trim();
            if (l.endsWith(file) && l.length() > 32 && l.substring(0, 32).matches("[0-9a-f]{32}")) {
                return l.substring(0, 32);
            }
        }
        throw new AssertionError("no md5sum of " + file + " in:\n" + text);
    }

    private static String md5OfFile(Path p) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(Files.readAllBytes(p)));
    }

    private static String sha256(Path p) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (var in = Files.newInputStream(p)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0;) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static boolean onPath(String tool) {
        for (String d : (System.getenv("PATH") + ":/usr/sbin:/sbin").split(":")) {
            if (Files.isExecutable(Path.of(d, tool))) {
                return true;
            }
        }
        return false;
    }

    /** Runs a host tool; fails the test on a non-zero exit. Returns stdout. */
    private static String run(int seconds, String... cmd) throws Exception {
        List<String> c = new ArrayList<>(List.of(cmd));
        if (!onPath(cmd[0]) || !Files.isExecutable(Path.of(cmd[0]))) {
            for (String d : List.of("/usr/sbin", "/sbin", "/usr/bin")) {
                if (Files.isExecutable(Path.of(d, cmd[0]))) {
                    c.set(0, d + "/" + cmd[0]);
                }
            }
        }
        Process p = new ProcessBuilder(c).redirectErrorStream(false).start();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Thread t = new Thread(() -> {
            try {
                p.getErrorStream().transferTo(err);
            } catch (IOException e) {
                // ignored
            }
        });
        t.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(seconds, TimeUnit.SECONDS), String.join(" ", cmd) + " did not finish");
        t.join();
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + " failed: " + out + err.toString(StandardCharsets.UTF_8));
        return out;
    }

    static String tail(String s) {
        return s.length() <= 4000 ? s : "..." + s.substring(s.length() - 4000);
    }

    /** A domain's console seen from the toolstack side: write commands, wait for markers. */
    static final class Console extends GuestShell {
        final ConsoleAccess access;
        final AutoCloseable subscription;

        Console(ConsoleAccess access) {
            this.access = access;
            this.subscription = access.attach(this::collect);
        }

        @Override
        void write(byte[] b) {
            access.write(b);
        }

        @Override
        public void close() throws Exception {
            subscription.close();
        }
    }
}
