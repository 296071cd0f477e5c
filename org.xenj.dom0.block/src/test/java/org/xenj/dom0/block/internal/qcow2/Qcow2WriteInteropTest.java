package org.xenj.dom0.block.internal.qcow2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.xenj.dom0.block.api.BlockDevice;
import org.xenj.dom0.block.api.ImageFormat;
import org.xenj.dom0.block.internal.BlockImagesService;
import org.xenj.dom0.block.internal.QemuImg;
import org.xenj.dom0.block.internal.TestImages;

/**
 * xenj writes (random offsets and lengths, overwrites, partial clusters, L2 and refcount-table
 * growth, discards); then qemu-img check must find no errors and no leaks, and qemu-img compare
 * must find the image identical to a raw file holding the expected bytes.
 */
class Qcow2WriteInteropTest {

    @TempDir
    Path dir;

    private BlockImagesService images;

    @BeforeEach
    void setUp() {
        QemuImg.assumeAvailable();
        images = new BlockImagesService();
    }

    @AfterEach
    void tearDown() {
        if (images != null) {
            images.close();
        }
    }

    /** Random writes and discards applied to the image and to {@code expected}. */
    private static void storm(BlockDevice d, byte[] expected, long seed, int ops, int maxLen, boolean discardZeroes)
            throws IOException {
        Random r = new Random(seed);
        for (int i = 0; i < ops; i++) {
            int len = 1 + r.nextInt(maxLen);
            int off = r.nextInt(expected.length - len + 1);
            if (r.nextInt(8) == 0) {
                off &= ~511;
            }
            if (discardZeroes && r.nextInt(10) == 0) {
                d.discard(off, len);
                // Whole clusters inside the range read as zeros from now on; the model learns them by reading.
                byte[] now = new byte[len];
                d.read(off, ByteBuffer.wrap(now));
                for (int k = 0; k < len; k++) {
                    if (now[k] != expected[off + k]) {
                        assertEquals(0, now[k], "discard may only turn bytes to zeros");
                    }
                }
                System.arraycopy(now, 0, expected, off, len);
                continue;
            }
            byte[] data = new byte[len];
            r.nextBytes(data);
            d.write(off, ByteBuffer.wrap(data));
            System.arraycopy(data, 0, expected, off, len);
        }
    }

    private void checkAndCompare(Path img, byte[] expected) throws IOException {
        String check = QemuImg.ok("qemu-img", "check", img.toString());
        assertTrue(check.contains("No errors were found on the image."), check);
        assertTrue(!check.contains("leaked"), check);
        Path raw = TestImages.writeRaw(dir.resolve("expected-" + img.getFileName() + ".raw"), expected);
        String compare = QemuImg.ok("qemu-img", "compare", "-f", "raw", "-F", "qcow2", raw.toString(), img.toString());
        assertTrue(compare.contains("Images are identical."), compare);
        System.out.println("[interop] " + img.getFileName() + ": qemu-img check: "
                + check.strip().replace('\n', ' ') + " | qemu-img compare: " + compare.strip());
    }

    @ParameterizedTest(name = "qemu-img image compat={0} cluster_size={1}")
    @CsvSource({"1.1,512", "0.10,512", "1.1,65536", "0.10,4096", "1.1,4096"})
    void writesIntoQemuMadeImages(String compat, int clusterSize) throws IOException {
        int size = 6 << 20;
        Path img = dir.resolve("q" + compat + "-" + clusterSize + ".qcow2");
        QemuImg.ok("qemu-img", "create", "-q", "-f", "qcow2", "-o", "compat=" + compat + ",cluster_size=" + clusterSize,
                img.toString(), String.valueOf(size));
        byte[] expected = new byte[size];
        try (BlockDevice d = images.open(img, ImageFormat.QCOW2, false)) {
            storm(d, expected, clusterSize + compat.length(), 400, 3 * clusterSize + 5000, true);
            d.flush();
            assertArrayEquals(expected, TestImages.readAll(d));
        }
        checkAndCompare(img, expected);
        // Reopen: what xenj wrote reads back after close, and a second session keeps it consistent.
        try (BlockDevice d = images.open(img, ImageFormat.QCOW2, false)) {
            assertArrayEquals(expected, TestImages.readAll(d));
            storm(d, expected, 99, 100, 20000, true);
        }
        checkAndCompare(img, expected);
    }

    @ParameterizedTest(name = "refcount_bits={0}")
    @CsvSource({"1", "2", "4", "8", "32", "64"})
    void everyRefcountWidthStaysExact(int refcountBits) throws IOException {
        int size = 4 << 20;
        Path img = dir.resolve("rc" + refcountBits + ".qcow2");
        QemuImg.ok("qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=512,refcount_bits=" + refcountBits,
                img.toString(), String.valueOf(size));
        byte[] expected = new byte[size];
        try (BlockDevice d = images.open(img, ImageFormat.QCOW2, false)) {
            storm(d, expected, refcountBits, 300, 20_000, true);
        }
        checkAndCompare(img, expected);
    }

    @Test
    void cleanImageWithTheLazyRefcountsCompatibleBitIsServedWithExactRefcounts() throws IOException {
        int size = 2 << 20;
        Path img = dir.resolve("lazy.qcow2");
        QemuImg.ok("qemu-img", "create", "-q", "-f", "qcow2", "-o", "lazy_refcounts=on,cluster_size=4096",
                img.toString(), String.valueOf(size));
        byte[] expected = new byte[size];
        try (BlockDevice d = images.open(img, ImageFormat.QCOW2, false)) {
            storm(d, expected, 77, 100, 10_000, true);
        }
        checkAndCompare(img, expected);
    }

    @Test
    void xenjCreatedImageGrowsItsRefcountTable() throws IOException {
        // 512-byte clusters: one refcount-table cluster covers 64 blocks x 256 clusters = 8 MiB of file.
        int size = 24 << 20;
        Path img = dir.resolve("grow.qcow2");
        Qcow2Creator.create(img, size, null, null, 9);
        byte[] expected = new byte[size];
        try (BlockDevice d = images.open(img, ImageFormat.QCOW2, false)) {
            storm(d, expected, 5, 600, 64 << 10, true);
            assertArrayEquals(expected, TestImages.readAll(d));
        }
        assertTrue(Files.size(img) > 8 << 20, "the file outgrew the first refcount table");
        checkAndCompare(img, expected);
    }

    @Test
    void xenjCreatedImageWithDefaultsPassesCheck() throws IOException {
        int size = 64 << 20;
        Path img = dir.resolve("default.qcow2");
        images.create(img, ImageFormat.QCOW2, size, null, null);
        String info = QemuImg.ok("qemu-img", "info", img.toString());
        assertTrue(info.contains("virtual size: 64 MiB"), info);
        byte[] expected = new byte[size];
        try (BlockDevice d = images.open(img, ImageFormat.QCOW2, false)) {
            storm(d, expected, 11, 200, 200_000, true);
        }
        checkAndCompare(img, expected);
    }

    @ParameterizedTest(name = "parallel writers, cluster_size={0}")
    @CsvSource({"512", "4096", "65536"})
    void parallelWritersSharingClustersKeepTheImageConsistent(int clusterSize) throws Exception {
        int size = 8 << 20;
        int stripe = 10_007; // not a multiple of any cluster size: neighbouring stripes share clusters
        Path img = dir.resolve("par-" + clusterSize + ".qcow2");
        QemuImg.ok("qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=" + clusterSize, img.toString(),
                String.valueOf(size));
        byte[] expected = new byte[size];
        int threads = 8;
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
        try (BlockDevice d = images.open(img, ImageFormat.QCOW2, false)) {
            java.util.List<java.util.concurrent.CompletableFuture<Void>> all = new java.util.ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                all.add(java.util.concurrent.CompletableFuture.runAsync(() -> {
                    Random r = new Random(thread);
                    try {
                        // Thread t owns stripes t, t+8, t+16, ...; writes pieces of them in random order.
                        for (int i = 0; i < 300; i++) {
                            int s = thread + threads * r.nextInt(size / stripe / threads);
                            int off = s * stripe + r.nextInt(stripe / 2);
                            int len = 1 + r.nextInt(stripe - (off - s * stripe));
                            byte[] data = new byte[len];
                            r.nextBytes(data);
                            d.write(off, ByteBuffer.wrap(data));
                            synchronized (expected) {
                                System.arraycopy(data, 0, expected, off, len);
                            }
                        }
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }, pool));
            }
            java.util.concurrent.CompletableFuture.allOf(all.toArray(new java.util.concurrent.CompletableFuture[0]))
                    .get(120, java.util.concurrent.TimeUnit.SECONDS);
            assertArrayEquals(expected, TestImages.readAll(d));
        } finally {
            pool.shutdown();
        }
        checkAndCompare(img, expected);
    }

    @ParameterizedTest(name = "compressed image, compat={0}")
    @CsvSource({"1.1", "0.10"})
    void overwritingCompressedClustersCopiesThemOut(String compat) throws IOException {
        int size = 4 << 20;
        byte[] expected = TestImages.content(3, size);
        Path raw = TestImages.writeRaw(dir.resolve("c.raw"), expected);
        Path img = dir.resolve("c.qcow2");
        QemuImg.ok("qemu-img", "convert", "-c", "-f", "raw", "-O", "qcow2", "-o", "compat=" + compat,
                raw.toString(), img.toString());
        try (BlockDevice d = images.open(img, ImageFormat.QCOW2, false)) {
            storm(d, expected, 17, 150, 100_000, true);
            assertArrayEquals(expected, TestImages.readAll(d));
        }
        checkAndCompare(img, expected);
    }

    @ParameterizedTest(name = "backing format {0}")
    @CsvSource({"raw", "qcow2"})
    void overlayWritesLeaveTheBackingFileUntouched(String backingFormat) throws IOException {
        int size = 4 << 20;
        byte[] base = TestImages.content(21, size);
        Path raw = TestImages.writeRaw(dir.resolve("base.raw"), base);
        Path backing = raw;
        if (backingFormat.equals("qcow2")) {
            backing = dir.resolve("base.qcow2");
            QemuImg.ok("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw.toString(), backing.toString());
        }
        byte[] backingBefore = Files.readAllBytes(backing);
        Path img = dir.resolve("overlay.qcow2");
        images.create(img, ImageFormat.QCOW2, size, backing.getFileName().toString(),
                backingFormat.equals("raw") ? ImageFormat.RAW : ImageFormat.QCOW2);
        byte[] expected = base.clone();
        try (BlockDevice d = images.open(img, ImageFormat.QCOW2, false)) {
            storm(d, expected, 23, 300, 70_000, true);
            d.flush();
            assertArrayEquals(expected, TestImages.readAll(d));
        }
        assertArrayEquals(backingBefore, Files.readAllBytes(backing), "backing file changed");
        String check = QemuImg.ok("qemu-img", "check", img.toString());
        assertTrue(check.contains("No errors were found on the image."), check);
        Path exp = TestImages.writeRaw(dir.resolve("expected.raw"), expected);
        String compare = QemuImg.ok("qemu-img", "compare", "-f", "raw", "-F", "qcow2", exp.toString(), img.toString());
        assertTrue(compare.contains("Images are identical."), compare);
        System.out.println("[interop] overlay on " + backingFormat + ": qemu-img check: " + check.strip().replace('\n', ' ')
                + " | compare: " + compare.strip() + " | backing file byte-identical: "
                + Arrays.equals(backingBefore, Files.readAllBytes(backing)));
    }
}
