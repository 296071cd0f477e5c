package org.xenj.hvm.qemudm.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.dom0.block.internal.BlockImagesService;
import org.xenj.hvm.qemudm.internal.ide.Piix3Ide;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.api.SnapshotInfo;
import org.xenj.hypervisor.internal.builder.HvmGuestBuilder;
import org.xenj.hypervisor.internal.domain.CoreConfig;
import org.xenj.hypervisor.internal.domain.HypervisorCore;
import org.xenj.hypervisor.internal.domain.Plugins;
import org.xenj.hypervisor.spi.DiskBranching;
import org.xenj.hypervisor.spi.IoHandler;
import org.xenj.sched.credit.internal.CreditSchedulerType;

/**
 * The VM state tree with a writable disk: an HVM domain with qemu-dm's PIIX3 IDE on a raw image,
 * whose sectors are written and read through the IDE ports exactly as a guest's PIO driver does
 * (task file, WRITE/READ SECTORS, 256 data words, FLUSH CACHE) while the domain is paused — the
 * guest's own disk writes are the data. Snapshots branch the disk into qcow2 overlays, reverts
 * discard what came after, a clone runs on its own overlay over the common image; qemu-img is the
 * oracle for the images (check, compare, info --backing-chain).
 */
class DiskSnapshotTest {

    private static final int BSY = 0x80, DRQ = 0x08, ERR = 0x01;
    private static final byte BASE = 0x11;

    @TempDir
    Path dir;

    /** The block layer's branching with a switch that fails overlay creation as a full disk does. */
    static final class FullDiskSwitch implements DiskBranching {
        final DiskBranching real;
        volatile boolean full;

        FullDiskSwitch(DiskBranching real) {
            this.real = real;
        }

        @Override
        public WritableDisk writable(String spec) {
            return real.writable(spec);
        }

        @Override
        public String retarget(String spec, Path image) {
            return real.retarget(spec, image);
        }

        @Override
        public void createOverlay(Path overlay, Path backing, String format) throws IOException {
            if (full) {
                throw new IOException(overlay + ": No space left on device");
            }
            real.createOverlay(overlay, backing, format);
        }

        @Override
        public void check(Path image, String format) throws IOException {
            real.check(image, format);
        }

        @Override
        public Path backingFile(Path image) throws IOException {
            return real.backingFile(image);
        }
    }

    /**
     * The block layer with writes that take {@code slowMillis} while it is set (a slow disk): a
     * guest write is then still on the IDE executor when a snapshot pauses the domain.
     */
    static final class SlowWrites implements org.xenj.dom0.block.api.BlockImages {
        final BlockImagesService real;
        volatile int slowMillis;
        final java.util.concurrent.atomic.AtomicInteger slowWritesDone = new java.util.concurrent.atomic.AtomicInteger();

        SlowWrites(BlockImagesService real) {
            this.real = real;
        }

        @Override
        public org.xenj.dom0.block.api.BlockDevice open(Path path, org.xenj.dom0.block.api.ImageFormat format, boolean readOnly)
                throws IOException {
            org.xenj.dom0.block.api.BlockDevice b = real.open(path, format, readOnly);
            return (org.xenj.dom0.block.api.BlockDevice) java.lang.reflect.Proxy.newProxyInstance(getClass().getClassLoader(),
                    new Class<?>[] {org.xenj.dom0.block.api.BlockDevice.class}, (proxy, m, args) -> {
                        int slow = slowMillis;
                        if (m.getName().equals("write") && slow > 0) {
                            Thread.sleep(slow);
                        }
                        try {
                            return m.invoke(b, args);
                        } catch (java.lang.reflect.InvocationTargetException e) {
                            throw e.getCause();
                        } finally {
                            if (m.getName().equals("write") && slow > 0) {
                                slowWritesDone.incrementAndGet();
                            }
                        }
                    });
        }

        @Override
        public void create(Path path, org.xenj.dom0.block.api.ImageFormat format, long size, String backing,
                org.xenj.dom0.block.api.ImageFormat backingFormat) throws IOException {
            real.create(path, format, size, backing, backingFormat);
        }

        @Override
        public org.xenj.dom0.block.api.ImageFormat probe(Path path) throws IOException {
            return real.probe(path);
        }

        @Override
        public Path backingFile(Path path) throws IOException {
            return real.backingFile(path);
        }
    }

    @Test
    void snapshotsBranchTheDiskRevertDiscardsLaterWritesAndACloneDivergesOnItsOwnOverlay() throws Exception {
        Path base = dir.resolve("base.raw");
        try (RandomAccessFile f = new RandomAccessFile(base.toFile(), "rw")) {
            f.setLength(1 << 20);
            f.write(fill(BASE, 16 * 512));
        }
        Path snapRoot = dir.resolve("snapshots");
        BlockImagesService images = new BlockImagesService();
        SlowWrites slow = new SlowWrites(images);
        QemuDeviceModel dm = new QemuDeviceModel(slow);
        FullDiskSwitch branching = new FullDiskSwitch(new QemuDiskBranching(images));
        Plugins plugins = new Plugins();
        plugins.addScheduler(new CreditSchedulerType());
        plugins.addBuilder(new HvmGuestBuilder());
        plugins.addDeviceModel(dm);
        plugins.addDiskBranching(branching);
        List<String> figures = new ArrayList<>();
        try (HypervisorCore xen = new HypervisorCore(CoreConfig.parse("300M", 2, "32M", "credit"), plugins)) {
            xen.configureSnapshots(snapRoot.toString());
            Domain d = xen.create(DomainConfig.builder("disky").type(DomainType.HVM).memoryMiB(32).kernel(spinKernel().toString())
                    .disks(List.of("format=raw, vdev=hda, access=rw, target=" + base)).build());
            xen.pause(d.id()); // the test is the guest's disk driver from here on
            int id = d.id();

            writeSector(dm, id, 1, (byte) 'A', true);
            // a write still on the IDE executor (400 ms slow disk) when the snapshot pauses the domain: drained into the
            // old image before the switch, not lost, not repeated (the overlay reads it through from there)
            slow.slowMillis = 400;
            writeSector(dm, id, 2, (byte) 'P', false);
            long t0 = System.nanoTime();
            SnapshotInfo s1 = xen.snapshotCreate(id, "s1");
            slow.slowMillis = 0;
            assertEquals(1, slow.slowWritesDone.get(), "the slow write finished once, inside the snapshot (the pause drained it)");
            figures.add(String.format("snapshot-create with a disk and a 400 ms write in flight: %.1f ms (paused %.1f ms)",
                    (System.nanoTime() - t0) / 1e6, s1.pausedNanos() / 1e6));
            Path o1 = target(xen, id);
            figures.add("a fresh overlay: " + Files.size(o1) + " bytes; du: " + run("du", "-k", o1.toString()).strip());
            assertTrue(o1.startsWith(snapRoot) && o1.getFileName().toString().matches("disk-hda-[0-9a-f]{8}\\.qcow2"), o1.toString());
            assertTrue(xen.lookup(id).orElseThrow().config().disks().get(0).contains("format=qcow2"),
                    "the domain's disk now names its overlay: " + xen.lookup(id).orElseThrow().config().disks());
            assertFalse(Files.getPosixFilePermissions(base).contains(PosixFilePermission.OWNER_WRITE), "the snapshot's image is read-only");
            assertSector(base, 1, (byte) 'A');
            assertSector(base, 2, (byte) 'P'); // the in-flight write landed before the switch
            assertTrue(s1.pausedNanos() >= 200_000_000L, "the pause covered the drain: " + s1.pausedNanos() / 1e6 + " ms");
            String chain = qemuImg("info", "--backing-chain", "-U", o1.toString());
            assertTrue(chain.contains("backing file: " + base), chain);
            figures.add("qemu-img info --backing-chain " + o1.getFileName() + ":\n" + chain.strip());

            writeSector(dm, id, 1, (byte) 'C', true);
            writeSector(dm, id, 3, (byte) 'D', true);
            assertEquals('C', readSector(dm, id, 1)[0]);
            assertEquals('P', readSector(dm, id, 2)[0], "read through the overlay from its backing image");
            t0 = System.nanoTime();
            SnapshotInfo s2 = xen.snapshotCreate(id, "s2");
            figures.add(String.format("snapshot-create with a disk, nothing in flight: %.1f ms (paused %.1f ms)",
                    (System.nanoTime() - t0) / 1e6, s2.pausedNanos() / 1e6));
            Path o2 = target(xen, id);
            assertNotEquals(o1, o2);
            writeSector(dm, id, 4, (byte) 'E', true);
            flush(dm, id);

            // bad input first, each refused with nothing changed
            branching.full = true;
            HypervisorException full = assertThrows(HypervisorException.class, () -> xen.snapshotCreate(id, "s3"));
            branching.full = false;
            assertTrue(full.getMessage().contains("No space left on device") && full.getMessage().contains("runs on its old image"),
                    full.getMessage());
            assertEquals(o2, target(xen, id), "the domain runs on its old overlay");
            assertEquals('E', readSector(dm, id, 4)[0]);
            assertEquals(List.of("s1", "s2"), xen.snapshots(id).stream().map(SnapshotInfo::name).toList());
            byte[] header = Files.readAllBytes(o1);
            Files.write(o1, new byte[] {0, 0, 0, 0}, java.nio.file.StandardOpenOption.WRITE); // the magic of s2's image
            HypervisorException damaged = assertThrows(HypervisorException.class, () -> xen.snapshotRevert(id, "s2"));
            assertTrue(damaged.getMessage().contains("unusable") && damaged.getMessage().contains("nothing was changed"),
                    damaged.getMessage());
            HypervisorException damagedClone = assertThrows(HypervisorException.class, () -> xen.cloneDomain(id, "s2", "bad-clone"));
            assertTrue(damagedClone.getMessage().contains("unusable") && damagedClone.getMessage().contains("nothing was created"),
                    damagedClone.getMessage());
            assertTrue(xen.lookup("bad-clone").isEmpty());
            Files.write(o1, header);
            plugins.removeDiskBranching(branching);
            HypervisorException none = assertThrows(HypervisorException.class, () -> xen.snapshotCreate(id, "s3"));
            assertTrue(none.getMessage().contains("no disk-branching service"), none.getMessage());
            plugins.addDiskBranching(branching);
            Path away = dir.resolve("away.raw");
            Files.move(base, away);
            HypervisorException missing = assertThrows(HypervisorException.class, () -> xen.snapshotRevert(id, "s1"));
            assertTrue(missing.getMessage().contains("no such file") || missing.getMessage().contains("does not exist"),
                    missing.getMessage());
            Files.move(away, base);
            assertEquals(o2, target(xen, id));
            assertEquals('E', readSector(dm, id, 4)[0], "the running branch is untouched by the refusals");

            t0 = System.nanoTime();
            SnapshotInfo r1 = xen.snapshotRevert(id, "s1");
            figures.add(String.format("snapshot-revert with a disk: %.1f ms (paused %.1f ms)", (System.nanoTime() - t0) / 1e6,
                    r1.pausedNanos() / 1e6));
            Path o3 = target(xen, id);
            assertFalse(Files.exists(o2), "the old running overlay (nothing refers to it) is deleted");
            assertTrue(Files.exists(o1), "s2's image is kept");
            assertEquals('A', readSector(dm, id, 1)[0], "written before s1");
            assertEquals('P', readSector(dm, id, 2)[0], "in flight at s1");
            assertEquals(BASE, readSector(dm, id, 3)[0], "written after s1: gone");
            assertEquals(BASE, readSector(dm, id, 4)[0], "written after s2: gone");
            assertTrue(qemuImg("compare", "-U", o3.toString(), base.toString()).contains("Images are identical"));
            writeSector(dm, id, 5, (byte) 'F', true);

            t0 = System.nanoTime();
            Domain c = xen.cloneDomain(id, "s2", "disky-clone");
            long cloneNanos = System.nanoTime() - t0;
            xen.pause(c.id());
            figures.add(String.format("clone from s2 with a disk: %.1f ms", cloneNanos / 1e6));
            Path oc = target(xen, c.id());
            assertTrue(oc.startsWith(snapRoot.resolve(c.uuid().toString())), oc + " in the clone's own tree");
            assertEquals('C', readSector(dm, c.id(), 1)[0]);
            assertEquals('P', readSector(dm, c.id(), 2)[0]);
            assertEquals('D', readSector(dm, c.id(), 3)[0]);
            assertEquals(BASE, readSector(dm, c.id(), 4)[0], "written after s2 on the original: not the clone's");
            assertEquals(BASE, readSector(dm, c.id(), 5)[0], "the original's branch after the revert: not the clone's");
            writeSector(dm, c.id(), 6, (byte) 'G', true);
            writeSector(dm, id, 6, (byte) 'H', true);
            flush(dm, c.id());
            flush(dm, id);
            assertEquals('G', readSector(dm, c.id(), 6)[0]);
            assertEquals('H', readSector(dm, id, 6)[0]);
            assertEquals('F', readSector(dm, id, 5)[0]);
            String cloneChain = qemuImg("info", "--backing-chain", "-U", oc.toString());
            assertTrue(cloneChain.contains("backing file: " + o1) && cloneChain.contains("backing file: " + base), cloneChain);
            assertTrue(qemuImg("compare", "-U", oc.toString(), o3.toString()).contains("mismatch"), "the branches diverged");
            Path expected = dir.resolve("expected.raw");
            Files.copy(base, expected);
            try (RandomAccessFile f = new RandomAccessFile(expected.toFile(), "rw")) {
                for (int[] s : new int[][] {{1, 'C'}, {3, 'D'}, {6, 'G'}}) {
                    f.seek(s[0] * 512L);
                    f.write(fill((byte) s[1], 512));
                }
            }
            assertTrue(qemuImg("compare", "-U", oc.toString(), expected.toString()).contains("Images are identical"),
                    "the clone's disk is s2's plus its own write");

            xen.snapshotDelete(id, "s2");
            assertTrue(Files.exists(o1), "s2's image backs the clone's overlay: kept");

            // a clone of the state now: its writable disk branches at a snapshot named for it
            t0 = System.nanoTime();
            Domain live = xen.cloneDomain(id, null, "live-clone");
            long liveNanos = System.nanoTime() - t0;
            xen.pause(live.id());
            figures.add(String.format("clone of the state now with a disk (through snapshot 'clone-live-clone'): %.1f ms",
                    liveNanos / 1e6));
            assertTrue(xen.snapshots(id).stream().anyMatch(s -> s.name().equals("clone-live-clone")),
                    xen.snapshots(id).toString());
            assertTrue(xen.dmesg().stream().anyMatch(l -> l.contains("(live-clone) cloned from") && l.contains("shared copy-on-write")),
                    "the clone shares the frames of the snapshot's pause: " + String.join("\n", xen.dmesg()));
            Path oLive = target(xen, live.id()), oOrig = target(xen, id);
            assertNotEquals(o3, oOrig, "the original goes on in a new overlay");
            assertNotEquals(oOrig, oLive);
            assertEquals('F', readSector(dm, live.id(), 5)[0], "the original's writes before the clone are the clone's too");
            assertEquals('H', readSector(dm, live.id(), 6)[0]);
            writeSector(dm, live.id(), 7, (byte) 'L', true);
            writeSector(dm, id, 7, (byte) 'M', true);
            flush(dm, live.id());
            flush(dm, id);
            assertEquals('L', readSector(dm, live.id(), 7)[0]);
            assertEquals('M', readSector(dm, id, 7)[0], "each branch writes its own overlay");
            String liveChain = qemuImg("info", "--backing-chain", "-U", oLive.toString());
            assertTrue(liveChain.contains("backing file: " + o3), liveChain);
            assertTrue(xen.lookup("live-clone2").isEmpty());
            Domain again = xen.cloneDomain(id, null, "live-clone2");
            assertTrue(xen.snapshots(id).stream().anyMatch(s -> s.name().equals("clone-live-clone2")));
            xen.destroy(again.id());
            xen.destroy(live.id());
            // the block layer reserves clusters ahead while an image is open (released at close): check them closed
            xen.dmesg().stream().filter(l -> l.contains("snapshot '") || l.contains("reverted") || l.contains("disks now")
                    || l.contains("cloned")).forEach(l -> figures.add(l.strip()));
            xen.destroy(c.id());
            xen.destroy(id);
            for (Path p : overlays(snapRoot)) {
                String check = qemuImg("check", "-U", p.toString());
                assertTrue(check.contains("No errors were found"), p + ": " + check);
                figures.add(p.getFileName() + " " + Files.size(p) + " bytes: " + check.lines().filter(l -> l.contains("allocated"))
                        .findFirst().orElse(check.strip()));
            }
        } finally {
            images.close();
        }
        figures.forEach(f -> System.out.println("[disk-snapshot] " + f));
    }

    private static Path target(HypervisorCore xen, int id) {
        String spec = xen.lookup(id).orElseThrow().config().disks().get(0);
        return Path.of(spec.substring(spec.indexOf("target=") + 7).trim());
    }

    private static List<Path> overlays(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(p -> p.getFileName().toString().startsWith("disk-")).sorted().toList();
        }
    }

    /** A Multiboot flat image that spins at its entry (placed by the header's address fields). */
    private Path spinKernel() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(36).order(ByteOrder.LITTLE_ENDIAN);
        int magic = 0x1BADB002, flags = 0x00010000;
        b.putInt(magic).putInt(flags).putInt(-(magic + flags));
        b.putInt(0x100000).putInt(0x100000).putInt(0x100000 + 36).putInt(0).putInt(0x100000 + 32);
        b.put((byte) 0xeb).put((byte) 0xfe); // jmp $
        Path k = dir.resolve("spin.bin");
        Files.write(k, b.array());
        return k;
    }

    private static byte[] fill(byte v, int n) {
        byte[] b = new byte[n];
        java.util.Arrays.fill(b, v);
        return b;
    }

    private static void assertSector(Path raw, long lba, byte v) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(raw.toFile(), "r")) {
            byte[] b = new byte[512];
            f.seek(lba * 512);
            f.readFully(b);
            assertArrayEquals(fill(v, 512), b, "sector " + lba + " of " + raw);
        }
    }

    // ---- the guest's IDE driver: ata_piix's PIO path ----

    private static IoHandler cmd(QemuDeviceModel dm, int domid) {
        PcDevices p = dm.devices(domid);
        assertTrue(p != null && p.ide() != null, "d" + domid + " has no IDE controller");
        return p.ide().commandBlock(0);
    }

    private static int waitFor(QemuDeviceModel dm, int domid, int mask, int want) throws InterruptedException {
        Piix3Ide ide = dm.devices(domid).ide();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        int s;
        while (((s = ide.controlBlock(0).ioRead(0, 1)) & mask) != want) {
            if (System.nanoTime() > end) {
                throw new AssertionError("IDE status 0x" + Integer.toHexString(s));
            }
            Thread.sleep(0, 200_000);
        }
        return s;
    }

    private static void taskFile(IoHandler c, long lba, int command) {
        c.ioWrite(6, 1, 0xe0 | (int) (lba >> 24 & 0x0f));
        c.ioWrite(2, 1, 1);
        c.ioWrite(3, 1, (int) lba & 0xff);
        c.ioWrite(4, 1, (int) (lba >> 8) & 0xff);
        c.ioWrite(5, 1, (int) (lba >> 16) & 0xff);
        c.ioWrite(7, 1, command);
    }

    private static void writeSector(QemuDeviceModel dm, int domid, long lba, byte v, boolean wait) throws InterruptedException {
        waitFor(dm, domid, BSY, 0);
        IoHandler c = cmd(dm, domid);
        taskFile(c, lba, 0x30);
        waitFor(dm, domid, BSY | DRQ, DRQ);
        for (int i = 0; i < 256; i++) {
            c.ioWrite(0, 2, (v & 0xff) | (v & 0xff) << 8);
        }
        if (wait) {
            assertEquals(0, waitFor(dm, domid, BSY, 0) & ERR, "WRITE SECTORS failed");
        }
    }

    private static byte[] readSector(QemuDeviceModel dm, int domid, long lba) throws InterruptedException {
        waitFor(dm, domid, BSY, 0);
        IoHandler c = cmd(dm, domid);
        taskFile(c, lba, 0x20);
        int s = waitFor(dm, domid, BSY | DRQ, DRQ);
        assertEquals(0, s & ERR, "READ SECTORS failed");
        byte[] b = new byte[512];
        for (int i = 0; i < 512; i += 2) {
            int w = c.ioRead(0, 2);
            b[i] = (byte) w;
            b[i + 1] = (byte) (w >> 8);
        }
        byte first = b[0];
        for (byte x : b) {
            assertEquals(first, x, "sector " + lba + " is not one fill");
        }
        return b;
    }

    private static void flush(QemuDeviceModel dm, int domid) throws InterruptedException {
        waitFor(dm, domid, BSY, 0);
        IoHandler c = cmd(dm, domid);
        c.ioWrite(6, 1, 0xe0);
        c.ioWrite(7, 1, 0xe7);
        assertEquals(0, waitFor(dm, domid, BSY, 0) & ERR, "FLUSH CACHE failed");
    }

    private static String qemuImg(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("qemu-img"));
        cmd.addAll(List.of(args));
        return run(cmd.toArray(String[]::new));
    }

    private static String run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "qemu-img hung");
        return out;
    }
}
