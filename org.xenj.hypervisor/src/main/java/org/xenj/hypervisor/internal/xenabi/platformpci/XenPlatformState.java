package org.xenj.hypervisor.internal.xenabi.platformpci;

/**
 * Every guest-visible bit of the platform device besides its PCI header (which the bus keeps).
 *
 * @param version       record layout version, {@link #VERSION}
 * @param flags         the platform-flags byte (port 0x10, byte access)
 * @param unplugged     union of the unplug masks the guest wrote
 * @param productNumber last product number written to port 0x12 (-1: none)
 * @param driverBuild   last driver build number written to port 0x10 (-1: none)
 */
public record XenPlatformState(int version, int flags, int unplugged, int productNumber, long driverBuild) {

    public static final int VERSION = 1;

    public static XenPlatformState powerOn() {
        return new XenPlatformState(VERSION, 0, 0, -1, -1);
    }

    /** Checks a record before it is loaded (save/restore, hand-over). */
    public XenPlatformState {
        if (version != VERSION) {
            throw new IllegalArgumentException("Xen platform device state version " + version + ", expected " + VERSION);
        }
    }
}
