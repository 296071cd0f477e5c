package org.xenj.dom0.block.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/** Positional I/O that does the whole transfer (FileChannel may do less per call). */
public final class FileIo {

    private FileIo() {
    }

    /** Reads {@code dst.remaining()} bytes at {@code pos}; bytes past the end of the file read as zeros. */
    public static void readZeroPadded(FileChannel ch, ByteBuffer dst, long pos) throws IOException {
        long p = pos;
        while (dst.hasRemaining()) {
            int n = ch.read(dst, p);
            if (n < 0) {
                while (dst.hasRemaining()) {
                    dst.put((byte) 0);
                }
                return;
            }
            p += n;
        }
    }

    /** Reads {@code dst.remaining()} bytes at {@code pos}; returns false if the file ends first. */
    public static boolean readFully(FileChannel ch, ByteBuffer dst, long pos) throws IOException {
        long p = pos;
        while (dst.hasRemaining()) {
            int n = ch.read(dst, p);
            if (n < 0) {
                return false;
            }
            p += n;
        }
        return true;
    }

    public static void writeFully(FileChannel ch, ByteBuffer src, long pos) throws IOException {
        long p = pos;
        while (src.hasRemaining()) {
            p += ch.write(src, p);
        }
    }
}
