/**
 * The HVM guest builder: {@link org.xenj.hypervisor.internal.builder.HvmGuestBuilder} (a DS
 * component offering {@link org.xenj.hypervisor.internal.exec.GuestBuilder}) creates the
 * platform, attaches the device model, writes the e820 map and boots Linux directly by the x86
 * boot protocol ({@link org.xenj.hypervisor.internal.builder.BzImage},
 * {@link org.xenj.hypervisor.internal.builder.LinuxDirectBoot}): kernel at 1 MiB, initrd high,
 * zero page, boot GDT, 32-bit entry with ESI = zero page.
 */
package org.xenj.hypervisor.internal.builder;
