package org.xenj.dom0.block.api;

import java.io.IOException;

/**
 * An image the block layer refuses or cannot serve: corrupt or unsupported metadata, a request
 * outside the disk, a second writer, a read-only image written. Always names the image. Backends
 * turn it (like any {@link IOException}) into an I/O error for the guest.
 */
public class BlockImageException extends IOException {
    private static final long serialVersionUID = 1L;

    public BlockImageException(String message) {
        super(message);
    }

    public BlockImageException(String message, Throwable cause) {
        super(message, cause);
    }
}
