/**
 * PCI for device models: the platform owns bus 0 (configuration mechanism #1, BAR sizing and
 * relocation, decode enables, INTx routing through the ISA bridge's PIRQ links); a device describes
 * its identity, BARs and device-specific configuration registers, and is given a {@link
 * org.xenj.hypervisor.spi.pci.PciSlot} to raise its interrupt. Devices see BAR offsets, never
 * absolute addresses.
 */
@Version("1.3.0")
@Export
package org.xenj.hypervisor.spi.pci;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
