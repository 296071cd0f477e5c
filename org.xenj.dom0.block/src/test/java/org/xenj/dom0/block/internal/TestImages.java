package org.xenj.dom0.block.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import org.xenj.dom0.block.api.BlockDevice;

/** Content generators and whole-disk readers for the block tests. */
public final class TestImages {

    private TestImages() {
    }

    /**
     * Known pseudo-random content with the shapes that matter to qcow2: random data, all-zero
     * stretches (which converters leave unallocated), short runs.
     */
    public static byte[] content(long seed, int size) {
        Random r = new Random(seed);
        byte[] b = new byte[size];
        int pos = 0;
        while (pos < size) {
            int run = Math.min(size - pos, 512 * (1 + r.nextInt(300)));
            if (r.nextInt(3) != 0) {
                for (int i = 0; i < run; i++) {
                    b[pos + i] = (byte) r.nextInt(r.nextBoolean() ? 256 : 4); // some compressible
                }
            }
            pos += run;
        }
        return b;
    }

    public static byte[] readAll(BlockDevice d) throws IOException {
        byte[] b = new byte[(int) d.size()];
        d.read(0, ByteBuffer.wrap(b));
        return b;
    }

    public static Path writeRaw(Path file, byte[] content) throws IOException {
        Files.write(file, content);
        return file;
    }

    /** Index of the first differing byte, or -1. */
    public static int firstDifference(byte[] a, byte[] b) {
        int n = Math.min(a.length, b.length);
        for (int i = 0; i < n; i++) {
            if (a[i] != b[i]) {
                return i;
            }
        }
        return a.length == b.length ? -1 : n;
    }
}
