package org.xenj.dom0.block.api;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * The removable-medium drives (CD-ROMs) a service presents to running domains, as xl's
 * {@code cd-insert}/{@code cd-eject} see them. Implemented by every consumer of the block layer
 * that serves a domain a CD-ROM — qemu-dm's emulated IDE drive and blkback's {@code device-type=cdrom}
 * vbd may both stand for the same drive of one domain — and registered as a service; the
 * toolstack changes the medium in each service that {@linkplain #hasDrive has the drive}, the
 * device model first. A refused change throws {@link IllegalArgumentException} (no such drive, a
 * bad target) or {@link IllegalStateException} (the image cannot be opened, the drive is busy),
 * with a message meant for the user, and leaves the old medium in place.
 */
@ConsumerType
public interface RemovableMedia {

    /** Who is answering, for messages ({@code qemu-dm}, {@code blkback}). */
    String name();

    /** Whether domain {@code domid} has a CD-ROM drive {@code vdev} here (xl names: {@code hdc}, {@code xvdd}). */
    boolean hasDrive(int domid, String vdev);

    /**
     * Puts a medium into the drive ({@code medium.target()} the image, opened read-only) or, with
     * an empty target, takes it out. The guest sees a media change as the real drive type reports
     * it. {@code medium.vdev()} names the drive.
     */
    void changeMedium(int domid, DiskSpec medium);
}
