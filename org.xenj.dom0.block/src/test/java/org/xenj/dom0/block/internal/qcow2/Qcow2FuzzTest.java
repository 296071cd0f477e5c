package org.xenj.dom0.block.internal.qcow2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.dom0.block.api.BlockDevice;
import org.xenj.dom0.block.api.ImageFormat;
import org.xenj.dom0.block.internal.BlockImagesService;
import org.xenj.dom0.block.internal.QemuImg;
import org.xenj.dom0.block.internal.TestImages;

/**
 * Mutated qcow2 headers and tables, opened read-only and read-write, read across, written and
 * discarded. Every outcome must be a clean open or an {@link IOException} (the API's declared
 * failure); anything else — a runtime exception, an error, a hang (the timeout) — is an internal
 * error. {@code -Dxenj.block.fuzz.iterations=1000000} for the long run.
 */
class Qcow2FuzzTest {

    private static final int ITERATIONS = Integer.getInteger("xenj.block.fuzz.iterations", 10_000);
    private static final long SEED = Long.getLong("xenj.block.fuzz.seed", 0x9c0f2L);

    @TempDir
    Path tmp;

    private final List<byte[]> corpus = new ArrayList<>();

    @Test
    void mutatedImagesNeverCauseInternalErrors() {
        // A hang is an internal error too: about 3.5 ms per mutation here, so 20 ms each is generous.
        assertTimeoutPreemptively(Duration.ofMillis(ITERATIONS * 20L + 120_000), this::fuzz);
    }

    private void fuzz() throws IOException {
        Path dir = Files.isDirectory(Path.of("/dev/shm")) ? Files.createTempDirectory(Path.of("/dev/shm"), "xenj-fuzz")
                : tmp;
        try (BlockImagesService images = new BlockImagesService()) {
            buildCorpus(images, dir);
            Random r = new Random(SEED);
            long opened = 0;
            long refusedAtOpen = 0;
            long ioErrorsAfterOpen = 0;
            List<String> internal = new ArrayList<>();
            Path img = dir.resolve("fuzz.qcow2");
            long start = System.nanoTime();
            for (int i = 0; i < ITERATIONS; i++) {
                byte[] base = corpus.get(r.nextInt(corpus.size()));
                byte[] mutated = mutate(base, r);
                Files.write(img, mutated);
                boolean readOnly = r.nextBoolean();
                BlockDevice d;
                try {
                    d = images.open(img, ImageFormat.QCOW2, readOnly);
                } catch (IOException e) {
                    refusedAtOpen++;
                    continue;
                } catch (Throwable t) {
                    if (internal.isEmpty()) {
                        t.printStackTrace(System.out);
                    }
                    internal.add("iteration " + i + " open: " + describe(t));
                    continue;
                }
                opened++;
                try (d) {
                    exercise(d, r, readOnly);
                } catch (IOException e) {
                    ioErrorsAfterOpen++;
                } catch (Throwable t) {
                    internal.add("iteration " + i + ": " + describe(t));
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            System.out.printf("[fuzz] qcow2: %d mutated images (seed %#x, corpus %d) in %.1f s: %d refused at open, "
                    + "%d opened (%d of them then failed a request with an I/O error), %d internal errors%n",
                    ITERATIONS, SEED, corpus.size(), seconds, refusedAtOpen, opened, ioErrorsAfterOpen, internal.size());
            internal.stream().limit(10).forEach(s -> System.out.println("[fuzz]   " + s));
            assertEquals(List.of(), internal.subList(0, Math.min(10, internal.size())));
        } finally {
            if (!dir.equals(tmp)) {
                try (var files = Files.list(dir)) {
                    for (Path f : (Iterable<Path>) files::iterator) {
                        Files.deleteIfExists(f);
                    }
                }
                Files.deleteIfExists(dir);
            }
        }
    }

    private static String describe(Throwable t) {
        StringBuilder sb = new StringBuilder(t.toString());
        for (StackTraceElement e : t.getStackTrace()) {
            if (e.getClassName().startsWith("org.xenj")) {
                sb.append(" at ").append(e);
                break;
            }
        }
        return sb.toString();
    }

    /** Reads across the start of the disk and at random places, then (read-write) writes and discards. */
    private static void exercise(BlockDevice d, Random r, boolean readOnly) throws IOException {
        long size = d.size();
        int span = (int) Math.min(size, 192 << 10);
        d.read(0, ByteBuffer.allocate(span));
        for (int k = 0; k < 4 && size > 0; k++) {
            long off = (r.nextLong() & Long.MAX_VALUE) % size;
            d.read(off, ByteBuffer.allocate((int) Math.min(size - off, 1 + r.nextInt(4096))));
        }
        if (readOnly || size == 0) {
            return;
        }
        for (int k = 0; k < 4; k++) {
            long off = r.nextBoolean() ? r.nextInt(span) : (r.nextLong() & Long.MAX_VALUE) % size;
            int len = (int) Math.min(size - off, 1 + r.nextInt(3000));
            byte[] data = new byte[len];
            r.nextBytes(data);
            d.write(off, ByteBuffer.wrap(data));
        }
        d.discard(0, Math.min(size, 4096));
        d.flush();
        d.read(0, ByteBuffer.allocate(span));
    }

    /** One to four mutations, mostly in the header and the metadata clusters right after it. */
    private static byte[] mutate(byte[] base, Random r) {
        byte[] m = base.clone();
        int n = 1 + r.nextInt(4);
        for (int k = 0; k < n; k++) {
            int where = r.nextInt(4) == 0 ? r.nextInt(m.length) : r.nextInt(Math.min(m.length, r.nextBoolean() ? 128 : 8192));
            switch (r.nextInt(5)) {
                case 0:
                    m[where] ^= (byte) (1 << r.nextInt(8));
                    break;
                case 1:
                    m[where] = (byte) r.nextInt(256);
                    break;
                case 2: {
                    int at = Math.min(where & ~3, m.length - 4);
                    ByteBuffer.wrap(m).putInt(at, interestingInt(r, m.length));
                    break;
                }
                case 3: {
                    int at = Math.min(where & ~7, m.length - 8);
                    ByteBuffer.wrap(m).putLong(at, interestingLong(r, m.length));
                    break;
                }
                default: {
                    // Re-point a likely table field of the header.
                    int[] fields = {8, 24, 40, 48, 64, 72};
                    ByteBuffer.wrap(m).putLong(fields[r.nextInt(fields.length)], interestingLong(r, m.length));
                }
            }
        }
        return m;
    }

    private static int interestingInt(Random r, int fileLength) {
        int[] v = {0, 1, -1, 2, 3, 7, 8, 9, 16, 21, 22, 63, 64, 512, 0x7fffffff, 0x80000000, fileLength, fileLength / 512};
        return r.nextBoolean() ? v[r.nextInt(v.length)] : r.nextInt();
    }

    private static long interestingLong(Random r, int fileLength) {
        long[] v = {0, 1, -1, 512, 1024, 4096, 65536, fileLength, fileLength - 512, fileLength + 512L, 1L << 40,
                Long.MAX_VALUE, 1L << 62, 3L << 62, 0x8000_0000_0000_0200L, 0x4000_0000_0000_0400L};
        return r.nextBoolean() ? v[r.nextInt(v.length)] : r.nextLong();
    }

    /** Small valid images: xenj-made v3 (512-byte clusters, data, a raw backing file), and qemu-made v2/compressed. */
    private void buildCorpus(BlockImagesService images, Path dir) throws IOException {
        Path plain = dir.resolve("c1.qcow2");
        Qcow2Creator.create(plain, 256 << 10, null, null, 9);
        fill(images, plain);
        corpus.add(Files.readAllBytes(plain));

        Files.write(dir.resolve("base.raw"), TestImages.content(1, 256 << 10));
        Path overlay = dir.resolve("c2.qcow2");
        Qcow2Creator.create(overlay, 256 << 10, "base.raw", ImageFormat.RAW, 9);
        fill(images, overlay);
        corpus.add(Files.readAllBytes(overlay));

        Path big = dir.resolve("c3.qcow2");
        Qcow2Creator.create(big, 1 << 20, null, null, 12);
        fill(images, big);
        corpus.add(Files.readAllBytes(big));

        if (QemuImg.run("qemu-img", "--version").exitCode() == 0) {
            Path raw = dir.resolve("src.raw");
            Files.write(raw, TestImages.content(2, 256 << 10));
            Path v2 = dir.resolve("c4.qcow2");
            QemuImg.ok("qemu-img", "convert", "-f", "raw", "-O", "qcow2", "-o", "compat=0.10,cluster_size=512",
                    raw.toString(), v2.toString());
            corpus.add(Files.readAllBytes(v2));
            Path compressed = dir.resolve("c5.qcow2");
            QemuImg.ok("qemu-img", "convert", "-c", "-f", "raw", "-O", "qcow2", "-o", "cluster_size=1024",
                    raw.toString(), compressed.toString());
            corpus.add(Files.readAllBytes(compressed));
        }
    }

    private static void fill(BlockImagesService images, Path p) throws IOException {
        try (BlockDevice d = images.open(p, ImageFormat.QCOW2, false)) {
            Random r = new Random(p.getFileName().toString().hashCode());
            for (int i = 0; i < 40; i++) {
                byte[] b = new byte[1 + r.nextInt(3000)];
                r.nextBytes(b);
                d.write(r.nextInt((int) d.size() - b.length), ByteBuffer.wrap(b));
            }
        }
    }
}
