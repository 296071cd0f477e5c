package org.xenj.dom0.block.api;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

import org.osgi.annotation.versioning.ProviderType;

/**
 * An open disk image: a byte-addressed disk of {@link #size()} bytes in {@link #SECTOR_SIZE}-byte
 * sectors. All methods are thread-safe; independent requests proceed in parallel. The synchronous
 * methods block the calling thread on file I/O, so callers on a guest's vCPU thread use the
 * asynchronous ones, which run on the block layer's own executor. Every failure is an
 * {@link IOException} (often a {@link BlockImageException}); nothing else is thrown for bad
 * offsets, lengths or image contents.
 */
@ProviderType
public interface BlockDevice extends AutoCloseable {

    int SECTOR_SIZE = 512;

    Path path();

    ImageFormat format();

    /** Virtual size in bytes (a multiple of {@link #SECTOR_SIZE}). */
    long size();

    default int sectorSize() {
        return SECTOR_SIZE;
    }

    boolean readOnly();

    /** Fills {@code dst} (all its remaining bytes) from the disk at {@code offset}. */
    void read(long offset, ByteBuffer dst) throws IOException;

    /** Writes all remaining bytes of {@code src} at {@code offset}. Durable only after {@link #flush()}. */
    void write(long offset, ByteBuffer src) throws IOException;

    /** Forces data and metadata to stable storage: when it returns, every completed write is on disk. */
    void flush() throws IOException;

    /**
     * Tells the image the range is no longer needed. Advisory: the range may read back as before
     * or as zeros (qcow2 v3 and qcow2 without backing file: zeros for whole clusters).
     */
    void discard(long offset, long length) throws IOException;

    CompletableFuture<Void> readAsync(long offset, ByteBuffer dst);

    CompletableFuture<Void> writeAsync(long offset, ByteBuffer src);

    CompletableFuture<Void> flushAsync();

    CompletableFuture<Void> discardAsync(long offset, long length);

    /** Writes back what is pending and releases the file (and the writer claim on it). Idempotent. */
    @Override
    void close() throws IOException;
}
