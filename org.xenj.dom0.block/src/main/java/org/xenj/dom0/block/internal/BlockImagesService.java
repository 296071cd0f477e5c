package org.xenj.dom0.block.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.xenj.dom0.block.api.BlockDevice;
import org.xenj.dom0.block.api.BlockImageException;
import org.xenj.dom0.block.api.BlockImages;
import org.xenj.dom0.block.api.ImageFormat;
import org.xenj.dom0.block.internal.OpenFiles.Use;
import org.xenj.dom0.block.internal.qcow2.Qcow2Creator;
import org.xenj.dom0.block.internal.qcow2.Qcow2Opener;
import org.xenj.dom0.block.internal.raw.RawImage;

/**
 * The block layer's service: opens images with their backing chains, enforces one writer per
 * image, and owns the I/O executor the asynchronous requests run on (daemon threads, never a
 * guest's vCPU thread).
 */
@Component(service = BlockImages.class)
public final class BlockImagesService implements BlockImages, AutoCloseable {

    /** Longer chains are almost certainly a loop through names the canonical path check missed. */
    static final int MAX_BACKING_DEPTH = 16;
    private static final byte[] QCOW2_MAGIC = {'Q', 'F', 'I', (byte) 0xfb};

    private final OpenFiles openFiles = new OpenFiles();
    private final ExecutorService executor;

    public BlockImagesService() {
        AtomicInteger n = new AtomicInteger();
        ThreadFactory threads = r -> {
            Thread t = new Thread(r, "xenj-block-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        executor = Executors.newFixedThreadPool(Math.max(4, Runtime.getRuntime().availableProcessors() * 2), threads);
    }

    @Deactivate
    @Override
    public void close() {
        executor.shutdown();
    }

    @Override
    public BlockDevice open(Path path, ImageFormat format, boolean readOnly) throws IOException {
        if (format == null) {
            // Never guess a guest disk's format: a guest that writes a qcow2 header into its raw disk
            // would otherwise get it reinterpreted (with a backing file of its choosing) next time.
            throw new BlockImageException(path + ": the image format must be given (raw or qcow2)");
        }
        return open(path, format, readOnly ? Use.READER : Use.WRITER, new ArrayDeque<>());
    }

    private BlockDevice open(Path path, ImageFormat format, Use use, Deque<Path> chain) throws IOException {
        Path canonical;
        try {
            canonical = path.toRealPath();
        } catch (NoSuchFileException e) {
            throw new BlockImageException(chain.isEmpty() ? path + ": no such file"
                    : chain.peekLast() + ": backing file " + path + " does not exist");
        }
        if (chain.contains(canonical)) {
            throw new BlockImageException(chain.peekFirst() + ": backing file chain loops back to " + canonical);
        }
        if (chain.size() > MAX_BACKING_DEPTH) {
            throw new BlockImageException(chain.peekFirst() + ": backing file chain deeper than " + MAX_BACKING_DEPTH);
        }
        boolean readOnly = use != Use.WRITER;
        Runnable claim = openFiles.claim(canonical, use);
        FileChannel ch = null;
        try {
            ch = readOnly ? FileChannel.open(canonical, StandardOpenOption.READ)
                    : FileChannel.open(canonical, StandardOpenOption.READ, StandardOpenOption.WRITE);
            ImageFormat f = format != null ? format : probe(ch);
            if (f == ImageFormat.RAW) {
                return new RawImage(path, ch, readOnly, executor, claim);
            }
            chain.addLast(canonical);
            return Qcow2Opener.open(path, ch, readOnly, executor, claim,
                    (b, bf) -> open(b, bf, Use.BACKING, chain));
        } catch (IOException | RuntimeException e) {
            if (ch != null) {
                ch.close();
            }
            claim.run();
            throw e;
        }
    }

    @Override
    public void create(Path path, ImageFormat format, long sizeBytes, String backingFile, ImageFormat backingFormat)
            throws IOException {
        if (sizeBytes < 0 || sizeBytes % BlockDevice.SECTOR_SIZE != 0) {
            throw new BlockImageException(path + ": size " + sizeBytes + " is not a multiple of "
                    + BlockDevice.SECTOR_SIZE);
        }
        try {
            if (format == ImageFormat.RAW) {
                if (backingFile != null) {
                    throw new BlockImageException(path + ": a raw image cannot have a backing file");
                }
                try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                    if (sizeBytes > 0) {
                        FileIo.writeFully(ch, ByteBuffer.allocate(1), sizeBytes - 1); // sparse
                    }
                }
            } else {
                Qcow2Creator.create(path, sizeBytes, backingFile, backingFormat, Qcow2Creator.DEFAULT_CLUSTER_BITS);
            }
        } catch (FileAlreadyExistsException e) {
            throw new BlockImageException(path + ": already exists");
        }
    }

    @Override
    public ImageFormat probe(Path path) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            return probe(ch);
        }
    }

    @Override
    public Path backingFile(Path path) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            return probe(ch) == ImageFormat.QCOW2 ? Qcow2Opener.backingFile(path, ch) : null;
        } catch (NoSuchFileException e) {
            throw new BlockImageException(path + ": no such file");
        }
    }

    private static ImageFormat probe(FileChannel ch) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(4);
        if (FileIo.readFully(ch, b, 0) && java.util.Arrays.equals(b.array(), QCOW2_MAGIC)) {
            return ImageFormat.QCOW2;
        }
        return ImageFormat.RAW;
    }
}
