package org.xenj.dom0.block.internal.qcow2;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.concurrent.Executor;

import org.xenj.dom0.block.api.BlockDevice;
import org.xenj.dom0.block.api.BlockImageException;
import org.xenj.dom0.block.api.ImageFormat;

/** Opens a qcow2 image over an open channel, with its backing chain. */
public final class Qcow2Opener {

    /** Opens a backing file read-only: supplied by the service, which tracks chains and claims. */
    public interface BackingOpener {
        BlockDevice open(Path path, ImageFormat format) throws IOException;
    }

    private Qcow2Opener() {
    }

    public static BlockDevice open(Path path, FileChannel ch, boolean readOnly, Executor executor, Runnable claim,
            BackingOpener backingOpener) throws IOException {
        String name = path.toString();
        Qcow2Header h = Qcow2Header.read(ch, name);
        if (!readOnly && h.markedCorrupt()) {
            throw Qcow2Header.corrupt(name, "is marked corrupt; it may only be opened read-only "
                    + "(repair it with qemu-img check -r all)");
        }
        BlockDevice backing = null;
        Path b = backingPath(path, h);
        if (b != null) {
            ImageFormat format = backingFormat(name, h.backingFormat);
            backing = backingOpener.open(b, format);
        }
        try {
            return new Qcow2Image(path, ch, h, backing, readOnly, executor, claim);
        } catch (IOException | RuntimeException e) {
            if (backing != null) {
                backing.close();
            }
            throw e;
        }
    }

    /** The backing file the header of the qcow2 image in {@code ch} names, resolved against the image's folder; null if none. */
    public static Path backingFile(Path path, FileChannel ch) throws IOException {
        return backingPath(path, Qcow2Header.read(ch, path.toString()));
    }

    private static Path backingPath(Path path, Qcow2Header h) throws BlockImageException {
        if (h.backingFile == null) {
            return null;
        }
        Path parent = path.toAbsolutePath().getParent();
        Path b;
        try {
            b = Path.of(h.backingFile);
        } catch (java.nio.file.InvalidPathException e) {
            throw Qcow2Header.corrupt(path.toString(), "backing file name \"" + h.backingFile + "\" is not a path");
        }
        return !b.isAbsolute() && parent != null ? parent.resolve(b) : b;
    }

    /** {@code null}: the header does not say; the service probes the file. */
    private static ImageFormat backingFormat(String name, String format) throws BlockImageException {
        if (format == null) {
            return null;
        }
        switch (format) {
            case "raw": return ImageFormat.RAW;
            case "qcow2": return ImageFormat.QCOW2;
            default:
                throw Qcow2Header.corrupt(name, "backing file format \"" + format + "\" is not supported (raw, qcow2)");
        }
    }
}
