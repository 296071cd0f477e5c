/**
 * The HVM platform the hypervisor keeps for itself, as Xen does: 8259A pair + ELCR ({@code pic}),
 * 8254 + port 0x61 ({@code pit}), MC146818 RTC/CMOS ({@code rtc}), local APIC and IOAPIC
 * ({@code apic}), wired by {@link org.xenj.hypervisor.internal.platform.InterruptFabric}; the
 * port and MMIO spaces device models plug into; and the per-vCPU
 * {@link org.xenj.hypervisor.internal.exec.CpuEnvironment}.
 *
 * <p>Timers are computed from time, never ticked: a device's state at any instant follows from
 * when it was programmed and the {@link org.xenj.hypervisor.internal.platform.TimeSource}, which
 * in a domain is its one {@link org.xenj.hypervisor.internal.exec.VirtualClock} (the TSC and Xen's
 * time info follow the same clock, so whatever the guest calibrates against agrees). Due
 * interrupts are raised by {@code serviceTimers}, which the CPU calls at block boundaries and a
 * host timer calls when the next deadline passes (so halted vCPUs wake). A device whose timer
 * the guest reprograms only sets a flag; the platform re-evaluates deadlines after the access,
 * outside device locks.
 *
 * <p>Locking: one lock for all interrupt controllers (devices may raise lines from any thread);
 * timer devices have their own locks and may call into the interrupt fabric, never the reverse.
 * vCPU wake-ups are collected under the fabric lock and issued after it is released.
 */
package org.xenj.hypervisor.internal.platform;
