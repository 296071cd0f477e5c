/**
 * The platform's PCI bus 0: configuration mechanism #1, one {@link
 * org.xenj.hypervisor.internal.platform.pci.PciFunctionSlot} per plugged function (standard header,
 * BAR sizing/relocation, decode enables), INTx through the PIIX3-style PIRQ links, and the
 * firmware's resource assignment for direct boot (what hvmloader/SeaBIOS do before the OS runs).
 */
package org.xenj.hypervisor.internal.platform.pci;
