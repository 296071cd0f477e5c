package org.xenj.dom0.block.internal.qcow2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.dom0.block.api.BlockDevice;
import org.xenj.dom0.block.api.ImageFormat;
import org.xenj.dom0.block.internal.BlockImagesService;
import org.xenj.dom0.block.internal.QemuImg;

/**
 * kill -9 during a write storm: afterwards qemu-img check finds no corruption (leaked clusters
 * are allowed: a killed writer cannot give back its reserved clusters), and every slot whose
 * flush was acknowledged reads back exactly. Slots are 7000 bytes at 7000-byte strides, so they
 * straddle the 512-byte clusters, and are written in a scrambled order to spread allocation.
 */
class Qcow2CrashTest {

    static final int SLOT = 7000;

    @TempDir
    Path dir;

    static int slots(long size) {
        return (int) (size / SLOT);
    }

    /** The n-th slot written: a fixed permutation (a stride coprime with the slot count). */
    static int slotAt(int n, int slots) {
        int stride = 7919;
        while (gcd(stride, slots) != 1) {
            stride++;
        }
        return (int) ((long) n * stride % slots);
    }

    private static int gcd(int a, int b) {
        return b == 0 ? a : gcd(b, a % b);
    }

    static byte[] slotData(int slot) {
        byte[] b = new byte[SLOT];
        new Random(slot * 31L + 7).nextBytes(b);
        return b;
    }

    /**
     * The state a writer killed inside a reservation leaves: the batch's refcounts written, the
     * file not yet grown over it (found by blkback's kill -9 test, BlkbackCrashTest, when the
     * re-attached image was written again). The next writer must not allocate those clusters a
     * second time: before the fix they ended with refcount 2 and one reference, which qemu-img
     * check calls corruption.
     */
    @Test
    void refcountsPastTheEndOfTheFileAreNotHandedOutTwice() throws Exception {
        QemuImg.assumeAvailable();
        Path empty = dir.resolve("empty.qcow2");
        Qcow2Creator.create(empty, 16 << 20, null, null, 12);
        byte[] cluster = new byte[4096];
        new Random(9).nextBytes(cluster);
        // How long the file is with one cluster written and nothing reserved.
        Path closed = dir.resolve("closed.qcow2");
        java.nio.file.Files.copy(empty, closed);
        try (BlockImagesService images = new BlockImagesService();
                BlockDevice d = images.open(closed, ImageFormat.QCOW2, false)) {
            d.write(0, ByteBuffer.wrap(cluster));
        }
        long used = java.nio.file.Files.size(closed);
        // The same write, copied while open (the rest of the batch reserved: refcount 1), cut at that length.
        Path killed = dir.resolve("killed.qcow2");
        java.nio.file.Files.copy(empty, killed);
        try (BlockImagesService images = new BlockImagesService();
                BlockDevice d = images.open(killed, ImageFormat.QCOW2, false)) {
            d.write(0, ByteBuffer.wrap(cluster));
            d.flush();
            java.nio.file.Files.copy(killed, dir.resolve("snapshot.qcow2"));
        }
        Path cut = dir.resolve("snapshot.qcow2");
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(cut, java.nio.file.StandardOpenOption.WRITE)) {
            assertTrue(ch.size() > used, "the open image had clusters reserved past " + used);
            ch.truncate(used);
        }
        QemuImg.Result before = QemuImg.run("qemu-img", "check", cut.toString());
        assertTrue(before.exitCode() == 0 || before.exitCode() == 3, before.output());
        try (BlockImagesService images = new BlockImagesService();
                BlockDevice d = images.open(cut, ImageFormat.QCOW2, false)) {
            for (int i = 1; i <= 40; i++) {
                d.write(i * 4096L * 3, ByteBuffer.wrap(cluster));
            }
        }
        QemuImg.Result after = QemuImg.run("qemu-img", "check", cut.toString());
        assertTrue((after.exitCode() == 0 || after.exitCode() == 3) && !after.output().contains("ERROR"),
                "qemu-img check exit " + after.exitCode() + ":\n" + after.output());
        try (BlockImagesService images = new BlockImagesService();
                BlockDevice d = images.open(cut, ImageFormat.QCOW2, true)) {
            byte[] back = new byte[4096];
            for (int i = 0; i <= 40; i++) {
                d.read(i * 4096L * 3, ByteBuffer.wrap(back));
                assertArrayEquals(cluster, back, "cluster " + i);
            }
        }
        System.out.println("[crash] refcounts past the end of the file: before " + before.output().strip().replace('\n', ' ')
                + " | after 40 more writes: exit " + after.exitCode() + ": " + after.output().strip().replace('\n', ' '));
    }

    @Test
    void killDashNineLeavesAConsistentImageWithEveryFlushedWrite() throws Exception {
        QemuImg.assumeAvailable();
        Random r = new Random(42);
        for (int round = 0; round < 4; round++) {
            Path img = dir.resolve("crash" + round + ".qcow2");
            Qcow2Creator.create(img, 16 << 20, null, null, round % 2 == 0 ? 9 : 12);
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                    CrashWriter.class.getName(), img.toString()).redirectErrorStream(true).start();
            int flushed = 0;
            long killAfterMs = 300 + r.nextInt(1500);
            try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line = out.readLine();
                assertTrue("ready".equals(line), "child said: " + line);
                long deadline = System.nanoTime() + killAfterMs * 1_000_000;
                while (System.nanoTime() < deadline && (line = out.readLine()) != null) {
                    if (line.startsWith("flushed ")) {
                        flushed = Integer.parseInt(line.substring(8));
                    } else if (line.equals("done")) {
                        break;
                    }
                }
                p.destroyForcibly(); // SIGKILL: no shutdown hooks, no close()
                p.waitFor(30, TimeUnit.SECONDS);
            }
            QemuImg.Result check = QemuImg.run("qemu-img", "check", img.toString());
            // 0: clean; 3: leaked clusters only. 2 would be corruption, 1 a check failure.
            assertTrue(check.exitCode() == 0 || check.exitCode() == 3, "qemu-img check exit " + check.exitCode()
                    + ":\n" + check.output());
            assertTrue(!check.output().contains("ERROR"), check.output());
            try (BlockImagesService images = new BlockImagesService();
                    BlockDevice d = images.open(img, ImageFormat.QCOW2, true)) {
                int slots = slots(d.size());
                for (int n = 0; n < flushed; n++) {
                    int slot = slotAt(n, slots);
                    byte[] back = new byte[SLOT];
                    d.read((long) slot * SLOT, ByteBuffer.wrap(back));
                    assertArrayEquals(slotData(slot), back, "flushed slot " + slot + " (write " + n + ")");
                }
            }
            System.out.println("[crash] round " + round + ": killed after " + killAfterMs + " ms, " + flushed
                    + " slots acknowledged flushed and all read back; qemu-img check exit " + check.exitCode() + ": "
                    + check.output().strip().replace('\n', ' '));
        }
    }
}
