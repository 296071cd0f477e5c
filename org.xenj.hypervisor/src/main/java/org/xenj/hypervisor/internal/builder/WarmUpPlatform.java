package org.xenj.hypervisor.internal.builder;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.ShutdownReason;
import org.xenj.hypervisor.spi.ConsoleInput;
import org.xenj.hypervisor.spi.DeviceTimer;
import org.xenj.hypervisor.spi.GuestMemory;
import org.xenj.hypervisor.spi.HvmPlatform;
import org.xenj.hypervisor.spi.IoHandler;
import org.xenj.hypervisor.spi.MmioHandler;
import org.xenj.hypervisor.spi.pci.PciDevice;
import org.xenj.hypervisor.spi.pci.PciSlot;

/**
 * The platform of a domain that is arriving by migration (paused, never run, its device places
 * vacant), as {@link HvmGuest#warmRestorePath} shows it to a device model for one throw-away attach
 * while round 1 arrives: ports, MMIO, the PCI bus, interrupt lines, memory and the device executor
 * are the domain's own, so the attach at the end of the migration is not the first run of those
 * paths in this JVM. What must not happen before the real attach is kept out: the configuration has
 * no disks (the source still has the images open) and no display (16 MiB of video memory, twice,
 * would be garbage), the console, reset and shutdown requests go nowhere, timers never fire, and the
 * model's log lines are dropped (the real attach logs them).
 */
final class WarmUpPlatform implements HvmPlatform {

    private final HvmPlatform platform;
    private final DomainConfig config;

    WarmUpPlatform(HvmPlatform platform) {
        this.platform = platform;
        DomainConfig c = platform.config();
        Map<String, String> raw = new TreeMap<>(c.raw());
        raw.remove("stdvga");
        raw.put("vga", "none");
        this.config = c.toBuilder().disks(List.of()).raw(raw).build();
    }

    @Override
    public int domid() {
        return platform.domid();
    }

    @Override
    public DomainConfig config() {
        return config;
    }

    @Override
    public void mapIo(int base, int count, IoHandler handler) {
        platform.mapIo(base, count, handler);
    }

    @Override
    public void unmapIo(int base, int count) {
        platform.unmapIo(base, count);
    }

    @Override
    public void mapMmio(long base, long size, MmioHandler handler) {
        platform.mapMmio(base, size, handler);
    }

    @Override
    public void unmapMmio(long base, long size) {
        platform.unmapMmio(base, size);
    }

    @Override
    public PciSlot plugPci(int device, int function, PciDevice pci) {
        return platform.plugPci(device, function, pci);
    }

    @Override
    public void unplugPci(PciSlot slot) {
        platform.unplugPci(slot);
    }

    @Override
    public boolean emulatedClassUnplugged(int pciBaseClass) {
        return platform.emulatedClassUnplugged(pciBaseClass);
    }

    @Override
    public void setPciLinkRoute(int link, int isaIrq) {
        platform.setPciLinkRoute(link, isaIrq);
    }

    @Override
    public void setShadowRamWritable(long base, long size, boolean writable) {
        platform.setShadowRamWritable(base, size, writable);
    }

    @Override
    public void setIrq(int gsi, boolean level) {
        platform.setIrq(gsi, level);
    }

    @Override
    public GuestMemory memory() {
        return platform.memory();
    }

    @Override
    public long nowNanos() {
        return platform.nowNanos();
    }

    /** Never fires, and the domain keeps no reference to it (a real timer lives until the domain goes). */
    @Override
    public DeviceTimer newTimer(Runnable onExpiry) {
        return DeviceTimer.inert();
    }

    @Override
    public java.util.concurrent.Executor deviceExecutor() {
        return platform.deviceExecutor();
    }

    @Override
    public void consoleOutput(byte[] data, int off, int len) {
    }

    @Override
    public void setConsoleInput(ConsoleInput input) {
    }

    @Override
    public void requestReset() {
    }

    @Override
    public void requestShutdown(ShutdownReason reason) {
    }

    @Override
    public void requestExit(int code) {
    }

    @Override
    public void log(String message) {
    }
}
