package org.xenj.dom0.block.internal.qcow2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;

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

/** Images made by Debian's qemu-img and qemu-io read back byte for byte through xenj. */
class Qcow2ReadInteropTest {

    private static final int SIZE = 4 << 20;

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

    @ParameterizedTest(name = "qemu-img create compat={0}")
    @CsvSource({"0.10", "1.1"})
    void emptyImagesReadAsZeros(String compat) throws IOException {
        Path img = dir.resolve("empty.qcow2");
        QemuImg.ok("qemu-img", "create", "-q", "-f", "qcow2", "-o", "compat=" + compat, img.toString(), "3M");
        try (BlockDevice d = images.open(img, ImageFormat.QCOW2, true)) {
            assertEquals(3 << 20, d.size());
            assertEquals(-1, TestImages.firstDifference(new byte[3 << 20], TestImages.readAll(d)));
        }
    }

    @ParameterizedTest(name = "qemu-img convert compat={0} cluster_size={1} compressed={2}")
    @CsvSource({"0.10,65536,false", "1.1,65536,false", "1.1,512,false", "0.10,4096,false",
            "1.1,65536,true", "0.10,65536,true", "1.1,4096,true", "1.1,2097152,false"})
    void convertedFromRawReadsTheSameBytes(String compat, int clusterSize, boolean compressed) throws IOException {
        byte[] content = TestImages.content(clusterSize * 31L + (compressed ? 1 : 0), SIZE);
        Path raw = TestImages.writeRaw(dir.resolve("src.raw"), content);
        Path img = dir.resolve("conv.qcow2");
        String opts = "compat=" + compat + ",cluster_size=" + clusterSize;
        if (compressed) {
            QemuImg.ok("qemu-img", "convert", "-c", "-f", "raw", "-O", "qcow2", "-o", opts, raw.toString(), img.toString());
        } else {
            QemuImg.ok("qemu-img", "convert", "-f", "raw", "-O", "qcow2", "-o", opts, raw.toString(), img.toString());
        }
        try (BlockDevice d = images.open(img, ImageFormat.QCOW2, true)) {
            assertEquals(SIZE, d.size());
            assertEquals(-1, TestImages.firstDifference(content, TestImages.readAll(d)));
            // Unaligned reads that straddle clusters.
            int at = Math.min(clusterSize, SIZE / 2) - 333;
            byte[] part = new byte[Math.min(clusterSize + 777, SIZE / 4)];
            d.read(at, ByteBuffer.wrap(part));
            assertTrue(Arrays.equals(content, at, at + part.length, part, 0, part.length));
        }
    }

    @ParameterizedTest(name = "backing format {0}, overlay compat={1}")
    @CsvSource({"raw,1.1", "qcow2,1.1", "raw,0.10", "qcow2,0.10"})
    void overlayReadsThroughItsBackingFile(String backingFormat, String compat) throws IOException {
        byte[] content = TestImages.content(7, SIZE);
        Path raw = TestImages.writeRaw(dir.resolve("base.raw"), content);
        Path base = raw;
        if (backingFormat.equals("qcow2")) {
            base = dir.resolve("base.qcow2");
            QemuImg.ok("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw.toString(), base.toString());
        }
        Path overlay = dir.resolve("sub").resolve("overlay.qcow2");
        java.nio.file.Files.createDirectories(overlay.getParent());
        // A relative backing path: resolved against the overlay's directory, not the JVM's.
        QemuImg.ok("qemu-img", "create", "-q", "-f", "qcow2", "-o", "compat=" + compat, "-b", "../" + base.getFileName(),
                "-F", backingFormat, overlay.toString());
        String zeroWrite = compat.equals("1.1") ? "write -z 1m 128k" : "write -P 0 1m 128k";
        QemuImg.ok("qemu-io", "-c", "write -P 0xab 4096 10000", "-c", zeroWrite, "-c", "write -P 0x5c 3m 1m",
                overlay.toString());
        byte[] expected = content.clone();
        Arrays.fill(expected, 4096, 4096 + 10000, (byte) 0xab);
        Arrays.fill(expected, 1 << 20, (1 << 20) + (128 << 10), (byte) 0);
        Arrays.fill(expected, 3 << 20, 4 << 20, (byte) 0x5c);
        try (BlockDevice d = images.open(overlay, ImageFormat.QCOW2, true)) {
            assertEquals(-1, TestImages.firstDifference(expected, TestImages.readAll(d)));
        }
    }

    @Test
    void backingFileSmallerThanTheOverlayReadsZerosBeyondIt() throws IOException {
        byte[] content = TestImages.content(9, 1 << 20);
        Path raw = TestImages.writeRaw(dir.resolve("small.raw"), content);
        Path overlay = dir.resolve("big.qcow2");
        QemuImg.ok("qemu-img", "create", "-q", "-f", "qcow2", "-b", raw.toString(), "-F", "raw", overlay.toString(), "2M");
        byte[] expected = Arrays.copyOf(content, 2 << 20);
        try (BlockDevice d = images.open(overlay, ImageFormat.QCOW2, true)) {
            assertEquals(2 << 20, d.size());
            assertEquals(-1, TestImages.firstDifference(expected, TestImages.readAll(d)));
        }
    }
}
