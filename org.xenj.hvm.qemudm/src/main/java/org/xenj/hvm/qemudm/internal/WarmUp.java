package org.xenj.hvm.qemudm.internal;

import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
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
 * qemu-dm's part of {@link org.xenj.hypervisor.spi.MigrationWarmUp}: a PC with COM1, the 8042, both
 * bridges, an RTL8139 and an NE2000 attached to a platform no domain has, its record
 * taken, read back and attached to a second such platform, and both detached. Measured in
 * {@code bench/migrate.sh} before this existed, a JVM's first attach from a record took
 * 42-108 ms of the first migration's pause (class loading, lambdas and string concatenations
 * bootstrapped, the interpreter), later ones 1.5-10 ms. No disk is opened (no block layer), no NIC
 * joins a switch and no display service is registered: nothing outside this class sees it.
 */
final class WarmUp {

    private WarmUp() {
    }

    static void run() {
        DomainConfig cfg = DomainConfig.builder("qemu-dm-warm-up").type(DomainType.HVM).memoryMiB(16)
                .vifs(java.util.List.of("model=rtl8139,mac=00:16:3e:00:00:01", "model=ne2k_pci,mac=00:16:3e:00:00:02"))
                // no stdvga: its 16 MiB of video memory, twice, would be garbage that a collection soon
                // after (in the pause, at worst) has to deal with; its record classes are few
                .raw(java.util.Map.of("vga", "none", "xen_platform_pci", "0")).build();
        PcDevices first = PcDevices.attach(new Inert(cfg), null, null);
        PcDevices second = null;
        try {
            byte[] record = first.saveState();
            second = PcDevices.attach(new Inert(cfg), null, null, PcDevicesState.fromBytes(record));
            second.saveState();
        } catch (java.io.IOException e) {
            throw new IllegalStateException("qemu-dm's own record did not read back: " + e.getMessage(), e);
        } finally {
            first.detach();
            if (second != null) {
                second.detach();
            }
        }
    }

    /** A platform with nothing behind it: memory reads zero, writes, lines and logs go nowhere, work runs inline. */
    private static final class Inert implements HvmPlatform {
        private final DomainConfig config;

        Inert(DomainConfig config) {
            this.config = config;
        }

        @Override
        public int domid() {
            return -1;
        }

        @Override
        public DomainConfig config() {
            return config;
        }

        @Override
        public void mapIo(int base, int count, IoHandler handler) {
        }

        @Override
        public void unmapIo(int base, int count) {
        }

        @Override
        public void mapMmio(long base, long size, MmioHandler handler) {
        }

        @Override
        public void unmapMmio(long base, long size) {
        }

        @Override
        public PciSlot plugPci(int device, int function, PciDevice pci) {
            return PciSlot.inert(device << 3 | function);
        }

        @Override
        public void unplugPci(PciSlot slot) {
        }

        @Override
        public void setPciLinkRoute(int link, int isaIrq) {
        }

        @Override
        public void setShadowRamWritable(long base, long size, boolean writable) {
        }

        @Override
        public void setIrq(int gsi, boolean level) {
        }

        @Override
        public GuestMemory memory() {
            return NO_MEMORY;
        }

        @Override
        public long nowNanos() {
            return System.nanoTime();
        }

        @Override
        public DeviceTimer newTimer(Runnable onExpiry) {
            return DeviceTimer.inert();
        }

        @Override
        public java.util.concurrent.Executor deviceExecutor() {
            return Runnable::run;
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

    private static final GuestMemory NO_MEMORY = new GuestMemory() {
        @Override
        public long size() {
            return 0;
        }

        @Override
        public boolean isRam(long gpa, int length) {
            return false;
        }

        @Override
        public void read(long gpa, byte[] dst, int off, int len) {
            java.util.Arrays.fill(dst, off, off + len, (byte) 0);
        }

        @Override
        public void write(long gpa, byte[] src, int off, int len) {
        }

        @Override
        public int read8(long gpa) {
            return 0;
        }

        @Override
        public int read16(long gpa) {
            return 0;
        }

        @Override
        public int read32(long gpa) {
            return 0;
        }

        @Override
        public void write8(long gpa, int value) {
        }

        @Override
        public void write16(long gpa, int value) {
        }

        @Override
        public void write32(long gpa, int value) {
        }
    };
}
