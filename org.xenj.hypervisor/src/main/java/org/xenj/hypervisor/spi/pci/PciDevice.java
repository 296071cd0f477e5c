package org.xenj.hypervisor.spi.pci;

import java.util.List;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * A PCI function a device model (or the hypervisor) plugs into the platform's bus. The platform
 * keeps the standard header (0x00-0x3f: IDs, command/status, BARs, interrupt line/pin); the device
 * owns the device-specific registers 0x40-0xff. Configuration calls come on a vCPU thread and must
 * not block.
 */
@ConsumerType
public interface PciDevice {

    PciIdentity identity();

    /** Up to six BARs, in register order (index 0 = 0x10); null entries are unimplemented BARs. */
    List<PciBar> bars();

    /**
     * The expansion ROM (register 0x30), or null for none: a memory BAR (at least 2 KiB, a power of
     * two) whose handler serves the ROM image. The platform decodes it while the guest sets its
     * enable bit and memory decoding; firmware copies it to shadow RAM and runs it (SeaBIOS runs a
     * VGA's). Asked once, when the function is plugged.
     *
     * @since 1.2
     */
    default PciBar expansionRom() {
        return null;
    }

    /** Reads device-specific configuration ({@code offset} 0x40..0xff, size 1, 2 or 4). Absent registers read 0. */
    default int configRead(int offset, int size) {
        return 0;
    }

    /** Writes device-specific configuration; read-only bits are the device's to keep. */
    default void configWrite(int offset, int size, int value) {
    }

    /** Platform reset: device-specific registers back to power-on values (the header is the platform's). */
    default void reset() {
    }

    /**
     * The guest unplugged this device (Xen's emulated-device unplug): off the bus for good, unless
     * {@link #staysOnBusWhenUnplugged} said otherwise.
     */
    default void unplugged() {
    }

    /**
     * Whether this function keeps something the unplug does not take, so that it stays on the bus
     * and only drops what the unplug is about: an IDE controller with an ATAPI CD-ROM loses its hard
     * disks but keeps the CD-ROM, as on Xen (whose unplug is for disks and NICs, which the PV drivers
     * replace; there is no PV CD-ROM). Asked just before {@link #unplugged}.
     *
     * @since 1.1
     */
    default boolean staysOnBusWhenUnplugged() {
        return false;
    }
}
