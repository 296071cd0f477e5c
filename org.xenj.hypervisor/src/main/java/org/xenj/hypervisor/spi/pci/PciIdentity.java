package org.xenj.hypervisor.spi.pci;

/**
 * The read-only part of a type-0 configuration header.
 *
 * @param vendor          vendor ID (0x0000-0xfffe)
 * @param device          device ID
 * @param classCode       24 bits: base class, subclass, programming interface (0xff8000 = class 0xff, subclass 0x80)
 * @param revision        revision ID
 * @param subsystemVendor subsystem vendor ID (0 when none)
 * @param subsystemId     subsystem ID
 * @param interruptPin    0 = none, 1..4 = INTA#..INTD#
 */
public record PciIdentity(int vendor, int device, int classCode, int revision, int subsystemVendor, int subsystemId,
        int interruptPin) {

    public PciIdentity {
        if (vendor < 0 || vendor >= 0xffff || device < 0 || device > 0xffff) {
            throw new IllegalArgumentException("bad PCI id " + Integer.toHexString(vendor) + ":" + Integer.toHexString(device));
        }
        if (classCode < 0 || classCode > 0xffffff || revision < 0 || revision > 0xff) {
            throw new IllegalArgumentException("bad PCI class/revision");
        }
        if (interruptPin < 0 || interruptPin > 4) {
            throw new IllegalArgumentException("interrupt pin must be 0 (none) or 1..4 (INTA#..INTD#)");
        }
    }

    /** An identity without subsystem IDs and without an interrupt pin (bridges). */
    public static PciIdentity of(int vendor, int device, int classCode, int revision) {
        return new PciIdentity(vendor, device, classCode, revision, 0, 0, 0);
    }
}
