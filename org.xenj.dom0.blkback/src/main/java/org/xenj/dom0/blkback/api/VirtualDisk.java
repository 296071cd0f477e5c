package org.xenj.dom0.blkback.api;

/**
 * One virtual block device of a domain as {@code xl block-list} shows it.
 *
 * @param domid          the frontend domain
 * @param vdev           the guest's name for it ({@code xvda}, {@code hdc})
 * @param devid          Xen's device number (the xenstore directory name)
 * @param spec           the xl disk spec in named form
 * @param backendState   xenbus state of Domain 0's end (1 Initialising ... 6 Closed)
 * @param frontendState  xenbus state of the guest's end (0 when it has none yet)
 * @param eventChannel   Domain 0's event channel port, -1 while not connected
 * @param ringRefs       the ring's grant references as the frontend gave them, empty while not connected
 * @param sectors        the disk's size in 512-byte sectors, -1 while the image is not open
 * @param backendPath    the device's backend directory in xenstore
 */
public record VirtualDisk(int domid, String vdev, int devid, String spec, int backendState, int frontendState,
        int eventChannel, String ringRefs, long sectors, String backendPath) {
}
