package org.xenj.hypervisor.spi;

import org.osgi.annotation.versioning.ProviderType;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.ShutdownReason;

/**
 * What a device model is given for one HVM domain: its I/O and MMIO address spaces, its
 * interrupt lines (GSIs, routed by the hypervisor's PIC/IOAPIC), its RAM and its console.
 */
@ProviderType
public interface HvmPlatform {

    int domid();

    DomainConfig config();

    /** Claims ports {@code [base, base+count)}; throws if any is taken. */
    void mapIo(int base, int count, IoHandler handler);

    void unmapIo(int base, int count);

    /** Claims guest-physical {@code [base, base+size)}; throws if it overlaps RAM or another device. */
    void mapMmio(long base, long size, MmioHandler handler);

    void unmapMmio(long base, long size);

    /**
     * Plugs a PCI function into the platform's bus 0 at {@code device} (0..31; -1 = first free slot
     * from 2 up) and {@code function} (0..7). Throws if the slot is taken.
     */
    org.xenj.hypervisor.spi.pci.PciSlot plugPci(int device, int function, org.xenj.hypervisor.spi.pci.PciDevice pci);

    /** Removes a function: its BARs stop decoding and its INTx# is released. */
    void unplugPci(org.xenj.hypervisor.spi.pci.PciSlot slot);

    /**
     * Whether the guest unplugged the emulated PCI functions of base class {@code pciBaseClass}
     * (0x01 storage, 0x02 network) through Xen's platform device. Their disks and ports now belong to
     * the PV backends, so a device model attaching later (a hand-over, a restore) must not plug the
     * functions or open their images again.
     *
     * @since 1.3
     */
    default boolean emulatedClassUnplugged(int pciBaseClass) {
        return false;
    }

    /**
     * The ISA bridge's PIRQ route for {@code link} (0..3 = PIRQA#..PIRQD#): an ISA IRQ, or -1 for
     * none. The PIIX3 calls this when the guest writes its registers 0x60-0x63; a nonsense route is
     * logged and left unrouted.
     */
    void setPciLinkRoute(int link, int isaIrq);

    /**
     * The chipset's shadow-RAM control (i440FX PAM registers) for {@code [base, base+size)} inside
     * 0xC0000-0xFFFFF: when {@code writable} is false the guest's CPU stores there are dropped (the
     * region reads as RAM and ignores writes, as BIOS shadow RAM does once the firmware write-protects
     * it); true makes it plain RAM again. Device DMA is not affected. A range outside the window is
     * refused with {@link IllegalArgumentException}.
     *
     * @since 1.5
     */
    default void setShadowRamWritable(long base, long size, boolean writable) {
        log("shadow RAM control is not supported by this platform");
    }

    /** Drives interrupt line {@code gsi} (0..23) to {@code level}. Edge sources raise then lower. */
    void setIrq(int gsi, boolean level);

    GuestMemory memory();

    /**
     * The domain's clock in nanoseconds: what its PIT, RTC and APIC timers follow. Only differences
     * are meaningful. (Today the host's monotonic clock; a per-domain virtual clock can replace it
     * without changing this interface.)
     */
    long nowNanos();

    /** A timer on {@link #nowNanos()} whose expiry runs {@code onExpiry}; cancelled when the domain goes. */
    DeviceTimer newTimer(Runnable onExpiry);

    /**
     * Runs device work off the vCPU threads (DMA completion, backend I/O): tasks run one at a time,
     * in order, on a thread of this domain's own. They may raise interrupts ({@link #setIrq},
     * {@link org.xenj.hypervisor.spi.pci.PciSlot#setIntx}) and touch {@link #memory()}. A task that
     * throws is logged. Stops when the domain goes.
     */
    java.util.concurrent.Executor deviceExecutor();

    /** Bytes the guest wrote to its console device (UART): shown by {@code xl console}, logged. */
    void consoleOutput(byte[] data, int off, int len);

    /** Registers where typed console input goes (the UART's receive path). */
    void setConsoleInput(ConsoleInput input);

    /** A hard reset (keyboard controller 0xFE, port 0xCF9): the domain reboots. */
    void requestReset();

    void requestShutdown(ShutdownReason reason);

    /**
     * The guest ends its domain with {@code code} (QEMU's isa-debug-exit device): the code is
     * kept for {@code xen:list -l} and dmesg and the domain powers off.
     */
    default void requestExit(int code) {
        log("exit code " + code + " requested; this platform keeps no exit codes");
        requestShutdown(ShutdownReason.POWEROFF);
    }

    /** Logs to the hypervisor's dmesg ring, prefixed with the domain. */
    void log(String message);
}
