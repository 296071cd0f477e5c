package org.xenj.hypervisor.spi;

import java.io.IOException;
import java.nio.file.Path;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Branches a domain's writable disks for the VM state tree, registered as an OSGi service by the
 * bundle that serves the disks (qemu-dm's IDE through the block layer): it knows the xl disk-spec
 * syntax and the image formats, the hypervisor decides when to branch. At a snapshot the image a
 * disk writes becomes read-only and part of the snapshot, and the running branch goes on in a new
 * qcow2 overlay whose backing file is that image; reverts and clones get new overlays on a
 * snapshot's image. Without this service, snapshots of domains with writable disks are refused.
 *
 * @since 1.7
 */
@ConsumerType
public interface DiskBranching {

    /**
     * A disk the guest can write.
     *
     * @param vdev   the guest's name for it ({@code hda}, {@code xvda})
     * @param image  the image file
     * @param format {@code raw} or {@code qcow2}
     */
    record WritableDisk(String vdev, Path image, String format) {
    }

    /**
     * The disk of an xl disk spec ({@code disk = [...]} entry) if the guest can write it; null for
     * read-only disks, CD-ROMs and empty drives.
     *
     * @throws IllegalArgumentException the spec does not parse
     */
    WritableDisk writable(String spec);

    /** {@code spec} naming {@code qcow2Image} (format qcow2) instead of its target; every other field kept. */
    String retarget(String spec, Path qcow2Image);

    /**
     * Creates an empty qcow2 image at {@code overlay} of {@code backing}'s size whose backing file
     * is {@code backing} (recorded as an absolute path). Refuses to overwrite a file; a failure (a
     * full disk) leaves no file behind.
     */
    void createOverlay(Path overlay, Path backing, String backingFormat) throws IOException;

    /**
     * Opens {@code image} and its whole backing chain read-only and reads their metadata: an
     * {@link IOException} saying what is wrong (missing, damaged, a loop) if it would not serve a
     * disk.
     */
    void check(Path image, String format) throws IOException;

    /** The backing file {@code image}'s header names (resolved to a path), or null (raw, or none). */
    Path backingFile(Path image) throws IOException;
}
