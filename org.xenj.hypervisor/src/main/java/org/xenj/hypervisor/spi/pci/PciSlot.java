package org.xenj.hypervisor.spi.pci;

import org.osgi.annotation.versioning.ProviderType;

/** Where a {@link PciDevice} sits on the platform's bus, and its interrupt pin. */
@ProviderType
public interface PciSlot {

    /** Bus/device/function as {@code bus << 8 | device << 3 | function}. */
    int bdf();

    /**
     * Drives the device's INTx# pin (level-triggered; wired-OR with the other devices on the same
     * PIRQ link). Any thread may call it; ignored while the guest set Interrupt Disable.
     */
    void setIntx(boolean asserted);

    /** Whether the guest enabled bus mastering (DMA) in the command register. */
    boolean busMaster();
}
