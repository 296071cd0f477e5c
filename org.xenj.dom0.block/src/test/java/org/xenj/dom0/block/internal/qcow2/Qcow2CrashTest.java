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
