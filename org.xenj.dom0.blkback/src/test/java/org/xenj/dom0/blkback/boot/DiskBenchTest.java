package org.xenj.dom0.blkback.boot;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.dom0.block.internal.BlockImagesService;
import org.xenj.dom0.blkback.internal.BlkbackService;
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
 * bench/disk.sh: sequential write and read of 64 MiB with busybox {@code dd} (bs=1M, O_DIRECT when
 * busybox has it, else conv=fsync and drop_caches) in the same 686-pae guest, through
 * xen-blkfront on xenj's blkback, through ata_piix on xenj's PIIX3 IDE, and through QEMU TCG's IDE (ata_piix) and virtio-blk on the same
 * kind of raw image, measured in the same run. Prints MB/s (MiB per second of host wall time,
 * marker to marker). Runs only with {@code -Dxenj.bench.disk=DIR}.
 */
class DiskBenchTest {

    static final int MIB = 64;

    @TempDir
    Path tmp;

    @Test
    void sequentialDdThroughBlkfrontAndQemu() throws Exception {
        String dir = System.getProperty("xenj.bench.disk");
        assumeTrue(dir != null && !dir.isBlank(), "set -Dxenj.bench.disk=GUEST_DIR to run the disk benchmark");
        Path guest = Path.of(dir);
        Map<String, String> rows = new LinkedHashMap<>();
        String only = System.getProperty("xenj.bench.only", "");
        if (!only.equals("qemu")) {
            if (!only.equals("xenj-ide")) {
                rows.put("xenj xen-blkfront (PVHVM)", xenj(guest, true));
            }
            rows.put("xenj ata_piix (emulated IDE)", xenj(guest, false));
        }
        Path qemu = Path.of("/usr/bin/qemu-system-i386");
        if (only.startsWith("xenj")) {
            rows.put("QEMU", "not run (-Dxenj.bench.only=" + only + ")");
        } else if (Files.isExecutable(qemu)) {
            rows.put("QEMU TCG IDE (ata_piix)", qemu(guest, "ide", "/dev/sda", null));
            Path virtio = virtioInitramfs(guest);
            rows.put("QEMU TCG virtio-blk", virtio == null ? "n/a: no virtio modules in the kernel package"
                    : qemu(guest, "virtio", "/dev/vda", virtio));
        } else {
            rows.put("QEMU", "n/a: qemu-system-i386 not installed");
        }
        System.out.println("[disk-bench] 64 MiB sequential, busybox dd bs=1M; MB/s = MiB per second of host wall time"
                + " (this busybox's dd prints no rate, and a guest's clock under emulation is not the measure)");
        System.out.printf("[disk-bench] %-30s %s%n", "path", "write MB/s      read MB/s");
        rows.forEach((k, v) -> System.out.printf("[disk-bench] %-30s %s%n", k, v));
    }

    private Path image(String name) throws Exception {
        Path p = tmp.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength((MIB + 16) * 1024L * 1024L);
        }
        return p;
    }

    /**
     * One guest on xenj as Karaf wires it (qemu-dm with the block layer): {@code pv} = xvda with the
     * Xen platform device (Linux unplugs the IDE disk, blkfront takes it); else hda on a bare PC.
     */
    private String xenj(Path guest, boolean pv) throws Exception {
        Path img = image(pv ? "xenj-pv.raw" : "xenj-ide.raw");
        BlockImagesService images = new BlockImagesService();
        Plugins plugins = new Plugins();
        plugins.addScheduler(new CreditSchedulerType());
        plugins.addBuilder(new HvmGuestBuilder());
        plugins.addDeviceModel(new QemuDeviceModel(images));
        plugins.addBackend(new BlkbackService(images), BlkbackService.KIND);
        try (HypervisorCore xen = new HypervisorCore(CoreConfig.parse("330M", 1, "32M", "credit"), plugins)) {
            DomainConfig cfg = DomainConfig.builder("bench").type(DomainType.HVM).memoryMiB(256)
                    .kernel(guest.resolve("bzImage").toString()).ramdisk(guest.resolve("initramfs.cpio.gz").toString())
                    .cmdline(GuestShell.CMDLINE).onPoweroff(ShutdownAction.DESTROY)
                    .disks(List.of("format=raw, vdev=" + (pv ? "xvda" : "hda") + ", access=rw, target=" + img))
                    .raw(Map.of("xen_platform_pci", pv ? "1" : "0")).build();
            Domain d = xen.create(cfg);
            try (GuestShell.XenConsole con = new GuestShell.XenConsole(xen.console(d.id()))) {
                assertTrue(con.waitFor(GuestShell.PROMPT, 0, 1_200_000) >= 0, "no prompt");
                String r = measure(con, pv ? "/dev/xvda" : "/dev/sda");
                con.write("poweroff -f\n");
                long end = System.currentTimeMillis() + 60_000;
                while (xen.lookup(d.id()).isPresent() && System.currentTimeMillis() < end) {
                    Thread.sleep(50);
                }
                xen.dmesg().stream().filter(l -> l.contains("wake-ups")).forEach(l -> System.out.println("[disk-bench] " + l));
                return r;
            }
        } finally {
            images.close();
        }
    }

    /** The virtio modules from the guest's kernel package, as a second cpio archive after the guest's initramfs. */
    private Path virtioInitramfs(Path guest) throws Exception {
        Path deb;
        try (var s = Files.list(guest.resolve("debs"))) {
            deb = s.filter(p -> p.getFileName().toString().startsWith("linux-image-")).findFirst().orElse(null);
        }
        if (deb == null) {
            return null;
        }
        Path x = tmp.resolve("kernel");
        run("dpkg-deb", "-x", deb.toString(), x.toString());
        Path root = tmp.resolve("virtio-root");
        Files.createDirectories(root.resolve("virtio"));
        List<String> names = List.of("virtio", "virtio_ring", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_pci", "virtio_blk");
        try (var s = Files.walk(x)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String n = p.getFileName().toString();
                for (String m : names) {
                    if (n.equals(m + ".ko")) {
                        Files.copy(p, root.resolve("virtio").resolve(n));
                    }
                }
            }
        }
        if (!Files.exists(root.resolve("virtio/virtio_blk.ko"))) {
            return null;
        }
        Path extra = tmp.resolve("virtio.cpio.gz");
        run("sh", "-c", "cd " + root + " && find virtio | cpio -o -H newc 2>/dev/null | gzip > " + extra);
        Path both = tmp.resolve("initramfs+virtio.cpio.gz");
        try (OutputStream o = Files.newOutputStream(both)) {
            Files.copy(guest.resolve("initramfs.cpio.gz"), o);
            Files.copy(extra, o);
        }
        return both;
    }

    private String qemu(Path guest, String iface, String dev, Path initrd) throws Exception {
        Path img = image("qemu-" + iface + ".raw");
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/qemu-system-i386", "-accel", "tcg", "-m", "256", "-nographic",
                "-no-reboot", "-kernel", guest.resolve("bzImage").toString(), "-initrd",
                (initrd != null ? initrd : guest.resolve("initramfs.cpio.gz")).toString(), "-append", GuestShell.CMDLINE,
                "-drive", "file=" + img + ",format=raw,if=" + iface));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        QemuShell sh = new QemuShell(p);
        try {
            assertTrue(sh.waitFor(GuestShell.PROMPT, 0, 600_000) >= 0, "QEMU guest: no prompt:\n"
                    + GuestShell.tail(sh.text()));
            if (initrd != null) {
                String ins = sh.command("ls /virtio; for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk; do "
                        + "insmod /virtio/$m.ko 2>&1; done; for i in $(seq 50); do [ -e " + dev + " ] && break; sleep 0.1; done", "insmod", 60);
                System.out.println("[disk-bench] virtio modules: " + ins.trim().replaceAll("\\s+", " "));
            }
            return measure(sh, dev);
        } finally {
            sh.write("poweroff -f\n");
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
    }

    /** Write then read 64 MiB; "w_host|w_guest   r_host|r_guest" in MiB/s. */
    private static String measure(GuestShell sh, String dev) throws Exception {
        String present = sh.command("[ -b " + dev + " ] && echo block-device-$((6*7))", "present", 30);
        if (!present.contains("block-device-42")) {
            return "n/a: " + dev + " did not appear in the guest";
        }
        String probe = sh.command("dd if=" + dev + " of=/dev/null bs=4096 count=1 iflag=direct 2>&1 && echo direct-ok-$((6*7))",
                "probe", 60);
        boolean direct = probe.contains("direct-ok-42");
        String wflag = direct ? "oflag=direct" : "conv=fsync";
        String rflag = direct ? "iflag=direct" : "";
        String ideInfo = "";
        if (dev.equals("/dev/sda")) { // ata_piix: the transfer mode it chose (bus-master DMA, not PIO) and its request size
            ideInfo = sh.command("dmesg | grep -o 'configured for [A-Za-z0-9/]*' | head -n1; echo max_sectors_kb=$(cat /sys/block/sda/queue/max_sectors_kb)"
                    + "; grep ata_piix /proc/interrupts | head -n1", "ide-before", 30);
        }
        long t0 = System.nanoTime();
        String w = sh.command("dd if=/dev/zero of=" + dev + " bs=1M count=" + MIB + " " + wflag + " 2>&1", "write", 900);
        double wHost = MIB / ((System.nanoTime() - t0) / 1e9);
        sh.command("sync; echo 3 > /proc/sys/vm/drop_caches", "drop", 120);
        t0 = System.nanoTime();
        String r = sh.command("dd if=" + dev + " of=/dev/null bs=1M count=" + MIB + " " + rflag + " 2>&1", "read", 900);
        double rHost = MIB / ((System.nanoTime() - t0) / 1e9);
        if (!ideInfo.isEmpty()) {
            String after = sh.command("grep ata_piix /proc/interrupts | head -n1", "ide-after", 30);
            System.out.println("[disk-bench] " + dev + " ata_piix: " + ideInfo.trim().replaceAll("\\s+", " ") + " | after the dd: "
                    + after.trim().replaceAll("\\s+", " "));
        }
        System.out.println("[disk-bench] " + dev + " dd write: " + w.trim().replaceAll("\\s+", " "));
        System.out.println("[disk-bench] " + dev + " dd read: " + r.trim().replaceAll("\\s+", " "));
        return String.format("%10.1f %15.1f      (%s)", wHost, rHost, direct ? "O_DIRECT" : "fsync + drop_caches");
    }

    private static void run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(300, TimeUnit.SECONDS) && p.exitValue() == 0, String.join(" ", cmd) + ": " + out);
    }

    /** QEMU's serial console on its stdio. */
    static final class QemuShell extends GuestShell {
        final Process process;
        final OutputStream in;

        QemuShell(Process p) {
            this.process = p;
            this.in = p.getOutputStream();
            Thread t = new Thread(() -> {
                byte[] buf = new byte[4096];
                try (InputStream out = p.getInputStream()) {
                    for (int n; (n = out.read(buf)) > 0;) {
                        collect(java.util.Arrays.copyOf(buf, n));
                    }
                } catch (Exception e) {
                    // process ended
                }
            }, "qemu-console");
            t.setDaemon(true);
            t.start();
        }

        @Override
        void write(byte[] b) throws Exception {
            in.write(b);
            in.flush();
        }

        @Override
        public void close() {
            process.destroyForcibly();
        }
    }
}
