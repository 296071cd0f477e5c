package org.xenj.dom0.block.internal.raw;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.concurrent.Executor;

import org.xenj.dom0.block.api.BlockDevice;
import org.xenj.dom0.block.api.ImageFormat;
import org.xenj.dom0.block.internal.AbstractBlockDevice;
import org.xenj.dom0.block.internal.FileIo;

/**
 * A raw image: disk byte n is file byte n. Positional I/O only, so requests run in parallel and
 * holes stay holes (unwritten ranges read as zeros without being allocated). The size is fixed
 * at open (the file's length rounded down to a sector). Discard is a no-op: Java has no portable
 * hole punching, and discard is advisory.
 */
public final class RawImage extends AbstractBlockDevice {

    private final FileChannel ch;
    private final long size;

    public RawImage(Path path, FileChannel ch, boolean readOnly, Executor executor, Runnable claim) throws IOException {
        super(path, ImageFormat.RAW, readOnly, executor, claim);
        this.ch = ch;
        this.size = ch.size() / BlockDevice.SECTOR_SIZE * BlockDevice.SECTOR_SIZE;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    protected void doRead(long offset, ByteBuffer dst) throws IOException {
        FileIo.readZeroPadded(ch, dst, offset);
    }

    @Override
    protected void doWrite(long offset, ByteBuffer src) throws IOException {
        FileIo.writeFully(ch, src, offset);
    }

    @Override
    protected void doFlush() throws IOException {
        ch.force(true);
    }

    @Override
    protected void doDiscard(long offset, long length) {
        // Advisory; see the class comment.
    }

    @Override
    protected void doClose() throws IOException {
        try {
            if (!readOnly()) {
                ch.force(true);
            }
        } finally {
            ch.close();
        }
    }
}
