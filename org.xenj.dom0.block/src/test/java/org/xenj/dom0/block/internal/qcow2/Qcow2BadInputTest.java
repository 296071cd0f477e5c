package org.xenj.dom0.block.internal.qcow2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.dom0.block.api.BlockDevice;
import org.xenj.dom0.block.api.BlockImageException;
import org.xenj.dom0.block.api.ImageFormat;
import org.xenj.dom0.block.internal.BlockImagesService;

/** Corrupt and unsupported qcow2 images: refused at open, or the bad request fails, always with a clear message. */
class Qcow2BadInputTest {

    private static final int CS = 512;

    @TempDir
    Path dir;

    private BlockImagesService images;

    @BeforeEach
    void setUp() {
        images = new BlockImagesService();
    }

    @AfterEach
    void tearDown() {
        images.close();
    }

    /** A 1 MiB image with 512-byte clusters and some data written (so it has L2 tables and data clusters). */
    private Path image(String name) throws IOException {
        Path p = dir.resolve(name);
        Qcow2Creator.create(p, 1 << 20, null, null, 9);
        try (BlockDevice d = images.open(p, ImageFormat.QCOW2, false)) {
            d.write(0, ByteBuffer.wrap(new byte[] {1, 2, 3}));
            d.write(100_000, ByteBuffer.wrap(new byte[] {4}));
        }
        return p;
    }

    private static void patch(Path p, long offset, ByteBuffer bytes) throws IOException {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
            ch.write(bytes.flip(), offset);
        }
    }

    private static void patchInt(Path p, long offset, int v) throws IOException {
        patch(p, offset, ByteBuffer.allocate(4).putInt(v));
    }

    private static void patchLong(Path p, long offset, long v) throws IOException {
        patch(p, offset, ByteBuffer.allocate(8).putLong(v));
    }

    private static long readLong(Path p, long offset) throws IOException {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(8);
            ch.read(b, offset);
            return b.getLong(0);
        }
    }

    private String refused(Path p, boolean readOnly) {
        BlockImageException e = assertThrows(BlockImageException.class, () -> images.open(p, ImageFormat.QCOW2, readOnly));
        assertTrue(e.getMessage().startsWith(p.toString()) || e.getMessage().contains(p.getFileName().toString()),
                e.getMessage());
        return e.getMessage();
    }

    @Test
    void badMagic() throws IOException {
        Path p = image("magic.qcow2");
        patchInt(p, 0, 0x12345678);
        assertTrue(refused(p, true).contains("bad magic"));
    }

    @Test
    void unsupportedVersion() throws IOException {
        Path p = image("v4.qcow2");
        patchInt(p, 4, 4);
        assertTrue(refused(p, true).contains("version 4 is not supported"));
    }

    @Test
    void clusterBitsOutOfRange() throws IOException {
        for (int bits : new int[] {0, 8, 22, 63, -1}) {
            Path p = image("cb" + bits + ".qcow2");
            patchInt(p, 20, bits);
            assertTrue(refused(p, true).contains("cluster_bits"), "cluster_bits " + bits);
        }
    }

    @Test
    void l1TablePastEndOfFile() throws IOException {
        Path p = image("l1eof.qcow2");
        patchLong(p, 40, 1L << 40);
        assertTrue(refused(p, true).contains("L1 table"));
        Path q = image("l1unaligned.qcow2");
        patchLong(q, 40, 3 * CS + 8);
        assertTrue(refused(q, true).contains("not a cluster boundary"));
    }

    @Test
    void absurdL1Size() throws IOException {
        Path p = image("l1huge.qcow2");
        patchInt(p, 36, -1);
        assertTrue(refused(p, true).contains("absurd"));
        Path q = image("l1small.qcow2");
        patchLong(q, 24, 1L << 50); // a virtual size the L1 table cannot map
        assertTrue(refused(q, true).contains("cannot map"));
    }

    @Test
    void refcountTablePastEndOfFileOrAbsurd() throws IOException {
        Path p = image("rt.qcow2");
        patchLong(p, 48, 1L << 45);
        assertTrue(refused(p, true).contains("refcount table"));
        Path q = image("rtc.qcow2");
        patchInt(q, 56, -1);
        assertTrue(refused(q, true).contains("refcount table"));
    }

    @Test
    void refcountOrderOutOfRange() throws IOException {
        Path p = image("ro.qcow2");
        patchInt(p, 96, 7);
        assertTrue(refused(p, true).contains("refcount_order 7"));
    }

    @Test
    void refcountsPastTheEndOfTheFileAreSkippedNotOverflowed() throws IOException {
        Path p = image("overflow.qcow2");
        // Refcount block 0 is cluster 2; claim every cluster past the end of the file already has
        // refcount 0xffff. Allocating one of them would overflow its refcount (and count it twice):
        // the allocator starts after the last counted cluster instead (what a writer killed inside a
        // reservation leaves behind, see Qcow2CrashTest).
        long fileClusters = java.nio.file.Files.size(p) / CS;
        ByteBuffer block = ByteBuffer.allocate(CS);
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            ch.read(block, 2 * CS);
        }
        for (long c = fileClusters; c < CS / 2; c++) {
            block.putShort((int) c * 2, (short) 0xffff);
        }
        block.position(CS);
        patch(p, 2 * CS, block);
        byte[] data = "past the counted clusters".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        try (BlockDevice d = images.open(p, ImageFormat.QCOW2, false)) {
            d.write(300_000, ByteBuffer.wrap(data));
            byte[] back = new byte[data.length];
            d.read(300_000, ByteBuffer.wrap(back));
            assertArrayEquals(data, back);
        }
        assertTrue(java.nio.file.Files.size(p) > (long) CS / 2 * CS, "allocated after the last counted cluster");
    }

    @Test
    void l2PointerPastEndOfFileOrUnalignedIsRefusedAtOpen() throws IOException {
        Path p = image("l2eof.qcow2");
        long l1 = readLong(p, 40);
        patchLong(p, l1, (1L << 40) | ClusterMap.COPIED);
        assertTrue(refused(p, true).contains("past the end of the file"));
        Path q = image("l2unaligned.qcow2");
        long l1q = readLong(q, 40);
        long l2 = readLong(q, l1q) & ClusterMap.OFFSET_MASK;
        patchLong(q, l1q, (l2 + CS / 2) | ClusterMap.COPIED);
        assertTrue(refused(q, true).contains("unaligned"));
    }

    @Test
    void dataClusterPointerPastEndOfFileFailsThatRead() throws IOException {
        Path p = image("dataeof.qcow2");
        long l1 = readLong(p, 40);
        long l2 = readLong(p, l1) & ClusterMap.OFFSET_MASK;
        patchLong(p, l2, (1L << 40) | ClusterMap.COPIED);
        patchLong(p, l2 + 8, 4 * CS + 100 | ClusterMap.COPIED); // unaligned; host cluster of guest cluster 1
        try (BlockDevice d = images.open(p, ImageFormat.QCOW2, true)) {
            IOException e = assertThrows(IOException.class, () -> d.read(0, ByteBuffer.allocate(10)));
            assertTrue(e.getMessage().contains("past the end of the file"), e.getMessage());
            e = assertThrows(IOException.class, () -> d.read(CS, ByteBuffer.allocate(10)));
            assertTrue(e.getMessage().contains("reserved bits") || e.getMessage().contains("unaligned"), e.getMessage());
            byte[] b = new byte[1];
            d.read(100_000, ByteBuffer.wrap(b)); // the rest of the disk still reads
            assertEquals(4, b[0]);
        }
    }

    @Test
    void dataPointersIntoMetadataAreNeverWrittenThrough() throws IOException {
        Path p = image("overlap.qcow2");
        long l1 = readLong(p, 40);
        long l2 = readLong(p, l1) & ClusterMap.OFFSET_MASK;
        long refTable = readLong(p, 48);
        // (Offset 0, the header, cannot be named: an entry of 0 means "unallocated".)
        long[] targets = {l1, l2, refTable, 2 * CS}; // L1, the L2 table itself, refcount table, refcount block 0
        String[] names = {"the L1 table", "an L2 table", "the refcount table", "a refcount block"};
        for (int i = 0; i < targets.length; i++) {
            patchLong(p, l2 + 8, targets[i] | ClusterMap.COPIED); // guest cluster 1
            byte[] before = java.nio.file.Files.readAllBytes(p);
            try (BlockDevice d = images.open(p, ImageFormat.QCOW2, false)) {
                IOException e = assertThrows(IOException.class, () -> d.write(CS + 10, ByteBuffer.wrap(new byte[20])));
                assertTrue(e.getMessage().contains("overlaps " + names[i]), e.getMessage());
            }
            assertArrayEquals(before, java.nio.file.Files.readAllBytes(p), "nothing written over " + names[i]);
        }
    }

    @Test
    void backingChainThatLoopsIsRefused() throws IOException {
        Path a = dir.resolve("a.qcow2");
        Path b = dir.resolve("b.qcow2");
        Qcow2Creator.create(a, 1 << 20, "b.qcow2", ImageFormat.QCOW2, 9);
        Qcow2Creator.create(b, 1 << 20, "./a.qcow2", ImageFormat.QCOW2, 9);
        assertTrue(refused(a, true).contains("loops back"));
        Path self = dir.resolve("self.qcow2");
        Qcow2Creator.create(self, 1 << 20, "self.qcow2", ImageFormat.QCOW2, 9);
        assertTrue(refused(self, false).contains("loops back"));
        // A refused open leaves nothing claimed: the files open normally once the loop is cut.
        Path ok = dir.resolve("ok.qcow2");
        Qcow2Creator.create(ok, 1 << 20, null, null, 9);
        images.open(ok, ImageFormat.QCOW2, false).close();
    }

    @Test
    void missingBackingFileIsRefused() throws IOException {
        Path a = dir.resolve("orphan.qcow2");
        Qcow2Creator.create(a, 1 << 20, "gone.raw", ImageFormat.RAW, 9);
        assertTrue(refused(a, true).contains("gone.raw does not exist"));
    }

    @Test
    void unsupportedFeaturesAreRefused() throws IOException {
        Path dirty = image("dirty.qcow2");
        patchLong(dirty, 72, 1);
        assertTrue(refused(dirty, true).contains("dirty"));
        Path unknown = image("unknown.qcow2");
        patchLong(unknown, 72, 1L << 40);
        assertTrue(refused(unknown, true).contains("unknown incompatible features 0x10000000000"));
        Path snap = image("snap.qcow2");
        patchInt(snap, 60, 2);
        assertTrue(refused(snap, true).contains("internal snapshot"));
        Path crypt = image("crypt.qcow2");
        patchInt(crypt, 32, 1);
        assertTrue(refused(crypt, true).contains("encrypted"));
        Path ext = image("extl2.qcow2");
        patchLong(ext, 72, 16);
        assertTrue(refused(ext, true).contains("extended L2"));
    }

    @Test
    void imageMarkedCorruptOpensReadOnlyOnly() throws IOException {
        Path p = image("corrupt.qcow2");
        patchLong(p, 72, 2);
        assertTrue(refused(p, false).contains("marked corrupt"));
        try (BlockDevice d = images.open(p, ImageFormat.QCOW2, true)) {
            byte[] b = new byte[3];
            d.read(0, ByteBuffer.wrap(b));
            assertArrayEquals(new byte[] {1, 2, 3}, b);
        }
    }

    @Test
    void corruptCompressedClusterFailsTheRead() throws IOException {
        Path p = image("deflate.qcow2");
        long l1 = readLong(p, 40);
        long l2 = readLong(p, l1) & ClusterMap.OFFSET_MASK;
        long data = readLong(p, l2) & ClusterMap.OFFSET_MASK;
        byte[] junk = new byte[CS];
        Arrays.fill(junk, (byte) 0xff);
        patch(p, data, ByteBuffer.allocate(CS).put(junk));
        // Compressed descriptor for 512-byte clusters: offset in bits 0..60, extra sector count in bit 61.
        patchLong(p, l2, ClusterMap.COMPRESSED | data);
        try (BlockDevice d = images.open(p, ImageFormat.QCOW2, true)) {
            IOException e = assertThrows(IOException.class, () -> d.read(0, ByteBuffer.allocate(10)));
            assertTrue(e.getMessage().contains("compressed cluster"), e.getMessage());
        }
    }

    @Test
    void requestsOutsideTheDiskAreIoErrors() throws IOException {
        Path p = image("range.qcow2");
        try (BlockDevice d = images.open(p, ImageFormat.QCOW2, false)) {
            assertThrows(BlockImageException.class, () -> d.read(1 << 20, ByteBuffer.allocate(1)));
            assertThrows(BlockImageException.class, () -> d.read(-1, ByteBuffer.allocate(1)));
            assertThrows(BlockImageException.class, () -> d.write(Long.MAX_VALUE, ByteBuffer.allocate(2)));
            assertThrows(BlockImageException.class, () -> d.discard(0, -5));
            assertThrows(BlockImageException.class, () -> d.discard((1 << 20) - 1, Long.MAX_VALUE));
        }
    }
}
