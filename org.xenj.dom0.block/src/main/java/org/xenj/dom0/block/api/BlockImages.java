package org.xenj.dom0.block.api;

import java.io.IOException;
import java.nio.file.Path;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Opens and creates disk images. One service per framework; it remembers which files are open so
 * that one image is never served by two writers: a second read-write open of the same file (by
 * canonical path) is refused, and so is writing a file that an open qcow2 image uses as its
 * backing file. Read-only opens share.
 */
@ProviderType
public interface BlockImages {

    /**
     * Opens an image. A qcow2 image's backing chain is opened read-only with it (a backing file
     * whose format the header does not record is probed — the format of the image itself is never
     * guessed, so a guest cannot turn its raw disk into a qcow2 image by writing a header into it).
     *
     * @throws BlockImageException the image is corrupt, unsupported, or already open for writing
     * @throws IOException         the file cannot be read
     */
    BlockDevice open(Path path, ImageFormat format, boolean readOnly) throws IOException;

    /**
     * Creates a new image of {@code sizeBytes} (a multiple of 512). Refuses to overwrite a file.
     *
     * @param backingFile   for qcow2 only: the backing file recorded in the header (written as
     *                      given; a relative path is relative to the new image's directory), or
     *                      {@code null}
     * @param backingFormat the backing file's format, or {@code null} when there is none
     */
    void create(Path path, ImageFormat format, long sizeBytes, String backingFile, ImageFormat backingFormat)
            throws IOException;

    /**
     * Guesses a file's format from its first bytes: qcow2 by its magic, otherwise raw. For tools
     * and tests; never use it on an image a guest has written.
     */
    ImageFormat probe(Path path) throws IOException;

    /**
     * The backing file a qcow2 image's header names, resolved against the image's folder as
     * {@link #open} resolves it; null for a raw image or a qcow2 image without one. Reads the
     * header only: the chain is not opened (use {@link #open} read-only to check it whole).
     *
     * @since 1.2
     */
    Path backingFile(Path path) throws IOException;
}
