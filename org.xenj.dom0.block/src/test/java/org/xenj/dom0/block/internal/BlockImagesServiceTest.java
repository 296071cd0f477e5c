package org.xenj.dom0.block.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.xenj.dom0.block.api.BlockDevice;
import org.xenj.dom0.block.api.BlockImageException;
import org.xenj.dom0.block.api.ImageFormat;

/** The service: one writer per image, shared readers, raw images, create, probe, async requests. */
class BlockImagesServiceTest {

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

    @ParameterizedTest
    @EnumSource(ImageFormat.class)
    void aSecondWriterIsRefusedReadersShare(ImageFormat format) throws IOException {
        Path p = dir.resolve("disk." + format.xlName());
        images.create(p, format, 1 << 20, null, null);
        Path link = Files.createSymbolicLink(dir.resolve("alias"), p);
        try (BlockDevice w = images.open(p, format, false);
                BlockDevice r1 = images.open(p, format, true);
                BlockDevice r2 = images.open(link, format, true)) {
            BlockImageException e = assertThrows(BlockImageException.class, () -> images.open(link, format, false));
            assertTrue(e.getMessage().contains("already open for writing"), e.getMessage());
            w.write(0, ByteBuffer.wrap(new byte[] {42}));
            ByteBuffer b = ByteBuffer.allocate(1);
            r2.read(0, b);
            assertEquals(format == ImageFormat.RAW ? 42 : b.get(0), b.get(0));
        }
        images.open(p, format, false).close(); // the claim is released on close
    }

    @Test
    void theBackingFileOfAnOpenImageCannotBeWritten() throws IOException {
        Path base = dir.resolve("base.raw");
        images.create(base, ImageFormat.RAW, 1 << 20, null, null);
        Path top = dir.resolve("top.qcow2");
        images.create(top, ImageFormat.QCOW2, 1 << 20, "base.raw", ImageFormat.RAW);
        try (BlockDevice d = images.open(top, ImageFormat.QCOW2, false)) {
            BlockImageException e = assertThrows(BlockImageException.class, () -> images.open(base, ImageFormat.RAW, false));
            assertTrue(e.getMessage().contains("backing file of an open image"), e.getMessage());
            images.open(base, ImageFormat.RAW, true).close();
        }
        try (BlockDevice w = images.open(base, ImageFormat.RAW, false)) {
            BlockImageException e = assertThrows(BlockImageException.class, () -> images.open(top, ImageFormat.QCOW2, true));
            assertTrue(e.getMessage().contains("while it is open for writing"), e.getMessage());
        }
    }

    @Test
    void rawImagesAreSparseAndReadOnlyIsEnforced() throws IOException {
        Path p = dir.resolve("sparse.raw");
        images.create(p, ImageFormat.RAW, 1L << 30, null, null);
        assertEquals(1L << 30, Files.size(p));
        assertTrue((Long) Files.getAttribute(p, "unix:size") == 1L << 30);
        try (BlockDevice d = images.open(p, ImageFormat.RAW, false)) {
            byte[] data = TestImages.content(5, 100_000);
            d.write(123_456_789, ByteBuffer.wrap(data));
            d.flush();
            byte[] back = new byte[data.length];
            d.read(123_456_789, ByteBuffer.wrap(back));
            assertArrayEquals(data, back);
            d.discard(0, 4096); // advisory, accepted
        }
        try (BlockDevice d = images.open(p, ImageFormat.RAW, true)) {
            assertTrue(d.readOnly());
            assertThrows(BlockImageException.class, () -> d.write(0, ByteBuffer.allocate(1)));
            assertThrows(BlockImageException.class, () -> d.discard(0, 512));
        }
        assertThrows(BlockImageException.class, () -> images.create(p, ImageFormat.RAW, 512, null, null));
        assertThrows(BlockImageException.class, () -> images.create(dir.resolve("odd"), ImageFormat.RAW, 1000, null, null));
    }

    @Test
    void backingFileIsWhatTheHeaderNamesResolvedAsOpenResolvesIt() throws IOException {
        Path base = dir.resolve("base.raw");
        images.create(base, ImageFormat.RAW, 1 << 20, null, null);
        Path abs = dir.resolve("abs.qcow2");
        images.create(abs, ImageFormat.QCOW2, 1 << 20, base.toString(), ImageFormat.RAW);
        Path rel = dir.resolve("rel.qcow2");
        images.create(rel, ImageFormat.QCOW2, 1 << 20, "abs.qcow2", ImageFormat.QCOW2);
        assertEquals(base, images.backingFile(abs));
        assertEquals(abs, images.backingFile(rel), "relative to the image's folder");
        assertEquals(null, images.backingFile(base), "raw: none");
        Path plain = dir.resolve("plain.qcow2");
        images.create(plain, ImageFormat.QCOW2, 1 << 20, null, null);
        assertEquals(null, images.backingFile(plain));
        // qemu-img agrees where installed
        String info;
        try {
            info = QemuImg.run("qemu-img", "info", rel.toString()).output();
        } catch (IOException notInstalled) {
            info = null;
        }
        assertTrue(info == null || info.contains("backing file: abs.qcow2"), info);
        BlockImageException e = assertThrows(BlockImageException.class, () -> images.backingFile(dir.resolve("none.qcow2")));
        assertTrue(e.getMessage().contains("no such file"), e.getMessage());
        java.nio.file.Files.write(dir.resolve("junk.qcow2"), new byte[] {'Q', 'F', 'I', (byte) 0xfb, 0, 0, 0, 9});
        assertThrows(BlockImageException.class, () -> images.backingFile(dir.resolve("junk.qcow2")), "a damaged header");
    }

    @Test
    void probeKnowsQcow2ByItsMagic() throws IOException {
        Path q = dir.resolve("x.qcow2");
        images.create(q, ImageFormat.QCOW2, 1 << 20, null, null);
        Path r = dir.resolve("x.img");
        images.create(r, ImageFormat.RAW, 1 << 20, null, null);
        assertEquals(ImageFormat.QCOW2, images.probe(q));
        assertEquals(ImageFormat.RAW, images.probe(r));
        BlockImageException e = assertThrows(BlockImageException.class, () -> images.open(r, null, true));
        assertTrue(e.getMessage().contains("format must be given"), e.getMessage());
    }

    @Test
    void missingFileAndClosedDeviceAreClearErrors() throws IOException {
        BlockImageException e = assertThrows(BlockImageException.class,
                () -> images.open(dir.resolve("nope.img"), ImageFormat.RAW, true));
        assertTrue(e.getMessage().endsWith("nope.img: no such file"), e.getMessage());
        Path p = dir.resolve("c.qcow2");
        images.create(p, ImageFormat.QCOW2, 1 << 20, null, null);
        BlockDevice d = images.open(p, ImageFormat.QCOW2, false);
        d.close();
        d.close();
        assertTrue(assertThrows(BlockImageException.class, () -> d.read(0, ByteBuffer.allocate(1))).getMessage()
                .contains("closed"));
    }

    @ParameterizedTest
    @EnumSource(ImageFormat.class)
    void asyncRequestsRunInParallelOffTheCallersThread(ImageFormat format) throws Exception {
        Path p = dir.resolve("async." + format.xlName());
        int size = 8 << 20;
        images.create(p, format, size, null, null);
        Set<String> threads = ConcurrentHashMap.newKeySet();
        byte[] expected = new byte[size];
        try (BlockDevice d = images.open(p, format, false)) {
            List<CompletableFuture<Void>> writes = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                byte[] chunk = TestImages.content(i + 1000, 128 << 10);
                System.arraycopy(chunk, 0, expected, i * (128 << 10), chunk.length);
                writes.add(d.writeAsync(i * (128L << 10), ByteBuffer.wrap(chunk))
                        .thenRun(() -> threads.add(Thread.currentThread().getName())));
            }
            CompletableFuture.allOf(writes.toArray(new CompletableFuture[0])).get(60, TimeUnit.SECONDS);
            d.flushAsync().get(60, TimeUnit.SECONDS);
            byte[] back = new byte[size];
            List<CompletableFuture<Void>> reads = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                reads.add(d.readAsync(i * (512L << 10), ByteBuffer.wrap(back, i * (512 << 10), 512 << 10)));
            }
            CompletableFuture.allOf(reads.toArray(new CompletableFuture[0])).get(60, TimeUnit.SECONDS);
            assertArrayEquals(expected, back);
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> d.readAsync(size, ByteBuffer.allocate(1)).get(10, TimeUnit.SECONDS));
            assertTrue(e.getCause() instanceof BlockImageException, e.toString());
        }
        // A callback attached after completion runs on the attaching thread (main); every other one ran
        // on the thread that completed the request.
        String caller = Thread.currentThread().getName();
        threads.remove(caller);
        assertTrue(threads.stream().allMatch(t -> t.startsWith("xenj-block-")), threads.toString());
        assertTrue(threads.size() >= 2, "requests completed on more than one executor thread: " + threads);
    }
}
