/**
 * Xen's platform PCI device (5853:0001) as the hypervisor presents it to HVM domains with
 * {@code xen_platform_pci=1}: the PCI function PVHVM drivers bind to (its memory BAR is where they
 * map grant frames) and the emulated-device unplug protocol on ports 0x10-0x1f.
 */
package org.xenj.hypervisor.internal.xenabi.platformpci;
