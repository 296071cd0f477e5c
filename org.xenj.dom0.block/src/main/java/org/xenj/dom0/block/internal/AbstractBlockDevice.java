package org.xenj.dom0.block.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

import org.xenj.dom0.block.api.BlockDevice;
import org.xenj.dom0.block.api.BlockImageException;
import org.xenj.dom0.block.api.ImageFormat;

/**
 * What every format shares: range and state checks before the format sees a request (so a bad
 * offset from a guest is an {@link IOException}, never an arithmetic surprise), the asynchronous
 * variants on the block layer's executor, and releasing the writer claim on close.
 */
public abstract class AbstractBlockDevice implements BlockDevice {

    private final Path path;
    private final ImageFormat format;
    private final boolean readOnly;
    private final Executor executor;
    private final Runnable claim;
    private volatile boolean closed;

    protected AbstractBlockDevice(Path path, ImageFormat format, boolean readOnly, Executor executor, Runnable claim) {
        this.path = path;
        this.format = format;
        this.readOnly = readOnly;
        this.executor = executor;
        this.claim = claim;
    }

    @Override
    public Path path() {
        return path;
    }

    @Override
    public ImageFormat format() {
        return format;
    }

    @Override
    public boolean readOnly() {
        return readOnly;
    }

    @Override
    public final void read(long offset, ByteBuffer dst) throws IOException {
        checkRange(offset, dst.remaining());
        if (dst.hasRemaining()) {
            doRead(offset, dst);
        }
    }

    @Override
    public final void write(long offset, ByteBuffer src) throws IOException {
        checkWritable();
        checkRange(offset, src.remaining());
        if (src.hasRemaining()) {
            doWrite(offset, src);
        }
    }

    @Override
    public final void flush() throws IOException {
        checkOpen();
        if (!readOnly) {
            doFlush();
        }
    }

    @Override
    public final void discard(long offset, long length) throws IOException {
        checkWritable();
        checkRange(offset, length);
        if (length > 0) {
            doDiscard(offset, length);
        }
    }

    @Override
    public CompletableFuture<Void> readAsync(long offset, ByteBuffer dst) {
        return async(() -> read(offset, dst));
    }

    @Override
    public CompletableFuture<Void> writeAsync(long offset, ByteBuffer src) {
        return async(() -> write(offset, src));
    }

    @Override
    public CompletableFuture<Void> flushAsync() {
        return async(this::flush);
    }

    @Override
    public CompletableFuture<Void> discardAsync(long offset, long length) {
        return async(() -> discard(offset, length));
    }

    @Override
    public final void close() throws IOException {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        try {
            doClose();
        } finally {
            claim.run();
        }
    }

    protected abstract void doRead(long offset, ByteBuffer dst) throws IOException;

    protected abstract void doWrite(long offset, ByteBuffer src) throws IOException;

    protected abstract void doFlush() throws IOException;

    protected abstract void doDiscard(long offset, long length) throws IOException;

    protected abstract void doClose() throws IOException;

    protected final void checkOpen() throws BlockImageException {
        if (closed) {
            throw new BlockImageException(path + ": image is closed");
        }
    }

    private void checkWritable() throws BlockImageException {
        checkOpen();
        if (readOnly) {
            throw new BlockImageException(path + ": image is open read-only");
        }
    }

    private void checkRange(long offset, long length) throws BlockImageException {
        checkOpen();
        if (offset < 0 || length < 0 || offset > size() || length > size() - offset) {
            throw new BlockImageException(path + ": request [" + offset + ", +" + length + ") is outside the disk (size "
                    + size() + ")");
        }
    }

    private interface IoAction {
        void run() throws IOException;
    }

    private CompletableFuture<Void> async(IoAction action) {
        try {
            return CompletableFuture.runAsync(() -> {
                try {
                    action.run();
                } catch (IOException e) {
                    throw new CompletionException(e);
                }
            }, executor);
        } catch (RejectedExecutionException e) {
            return CompletableFuture.failedFuture(new BlockImageException(path + ": block layer is stopping", e));
        }
    }
}
