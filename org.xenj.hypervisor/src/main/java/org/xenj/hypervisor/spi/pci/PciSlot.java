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

    /**
     * A slot wired to nothing, at {@code bdf}: its interrupt goes nowhere and bus mastering stays off.
     * For platforms that exist only to exercise a device model (warm-ups, examples), never for a
     * domain's devices.
     */
    static PciSlot inert(int bdf) {
        return new PciSlot() {
            @Override
            public int bdf() {
                return bdf;
            }

            @Override
            public void setIntx(boolean asserted) {
            }

            @Override
            public boolean busMaster() {
                return false;
            }
        };
    }
}
