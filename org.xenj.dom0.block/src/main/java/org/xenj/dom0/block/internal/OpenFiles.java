package org.xenj.dom0.block.internal;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import org.xenj.dom0.block.api.BlockImageException;

/**
 * Which image files are open, by canonical path, and how: the rule that one image is never served
 * by two writers, and that a file some qcow2 image reads as its backing file is not written under
 * it. Plain readers (a shared CD-ROM image) never conflict. Owned by one {@link BlockImagesService}.
 */
final class OpenFiles {

    enum Use { WRITER, READER, BACKING }

    private static final class Counts {
        int writers;
        int readers;
        int backing;
        /** Who opened it for writing and when: named in the refusal of a second writer. */
        String writer;
    }

    private final Map<Path, Counts> open = new HashMap<>();

    /** Registers a use of {@code canonical}; the returned claim releases it (once). */
    synchronized Runnable claim(Path canonical, Use use) throws BlockImageException {
        Counts c = open.computeIfAbsent(canonical, p -> new Counts());
        if (use == Use.WRITER && c.writers > 0) {
            throw new BlockImageException(canonical + ": already open for writing (one image, one writer; opened " + c.writer + ")");
        }
        if (use == Use.WRITER && c.backing > 0) {
            throw new BlockImageException(canonical + ": is the backing file of an open image; writing it would "
                    + "corrupt that image");
        }
        if (use == Use.BACKING && c.writers > 0) {
            throw new BlockImageException(canonical + ": cannot be used as a backing file while it is open for writing");
        }
        switch (use) {
            case WRITER:
                c.writers++;
                c.writer = "by thread " + Thread.currentThread().getName() + " at " + java.time.Instant.now();
                break;
            case READER: c.readers++; break;
            default: c.backing++; break;
        }
        boolean[] released = {false};
        return () -> release(canonical, use, released);
    }

    private synchronized void release(Path canonical, Use use, boolean[] released) {
        if (released[0]) {
            return;
        }
        released[0] = true;
        Counts c = open.get(canonical);
        switch (use) {
            case WRITER: c.writers--; break;
            case READER: c.readers--; break;
            default: c.backing--; break;
        }
        if (c.writers == 0 && c.readers == 0 && c.backing == 0) {
            open.remove(canonical);
        }
    }
}
