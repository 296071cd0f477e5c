package org.xenj.dom0.blkback.api;

import java.util.List;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Attaches, detaches and lists the virtual block devices (vbd) Domain 0's blkback serves to a
 * running domain, like xl's {@code block-attach}/{@code block-detach}/{@code block-list}. A refused
 * operation throws {@link IllegalArgumentException} (a bad disk spec — then a
 * {@code DiskSpecException} naming the field —, an unknown vdev) or {@link IllegalStateException}
 * (no blkback serves that domain, the vdev is taken, the frontend did not answer in time), with a
 * message meant for the user.
 */
@ProviderType
public interface BlockHotplug {

    /**
     * Adds a disk from an xl disk spec ({@code format=qcow2, vdev=xvdc, access=rw, target=/img/c.qcow2})
     * and publishes it to the domain's frontend. The image is opened when the frontend connects.
     */
    VirtualDisk attach(int domid, String diskSpec);

    /**
     * Asks the frontend to let go of the disk (backend state Closing, {@code online} 0), waits for
     * it to close, then removes the device and closes the image. {@code force}: gives up waiting
     * after a few seconds and removes the device anyway, as {@code xl block-detach --force}.
     */
    void detach(int domid, String vdev, boolean force);

    /** The domain's virtual block devices, in device-id order; empty if blkback does not serve it. */
    List<VirtualDisk> list(int domid);
}
