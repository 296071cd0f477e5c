package org.xenj.hypervisor.internal.xenabi.platformpci;

import java.util.List;
import java.util.function.Consumer;

import org.xenj.hypervisor.internal.platform.HvmPlatformImpl;
import org.xenj.hypervisor.spi.IoHandler;
import org.xenj.hypervisor.spi.pci.PciBar;
import org.xenj.hypervisor.spi.pci.PciDevice;
import org.xenj.hypervisor.spi.pci.PciIdentity;
import org.xenj.hypervisor.spi.pci.PciSlot;

/**
 * Xen's platform PCI device: vendor 0x5853 (XenSource), device 0x0001, class 0xff80, revision 1,
 * subsystem 5853:0001, INTA#; BAR0 is 256 ports, BAR1 16 MiB of prefetchable memory that decodes to
 * nothing of ours: PVHVM drivers place grant-table frames there through XENMEM_add_to_physmap.
 * Linux's {@code xen-platform-pci} driver binds to it and initialises grant tables; the unplug
 * protocol lives on the fixed ports 0x10-0x1f ({@link UnplugPorts}).
 */
public final class XenPlatformPci implements PciDevice {

    public static final int VENDOR = 0x5853;
    public static final int DEVICE = 0x0001;
    public static final int CLASS = 0xff8000;
    /** 00:03.0, as on Xen with QEMU (00:02.0 stays free for a VGA). */
    public static final int SLOT = 3;
    public static final int FIXED_PORTS = 0x10;
    public static final int FIXED_PORT_COUNT = 16;
    static final int IO_BAR_SIZE = 0x100;
    static final long MEMORY_BAR_SIZE = 16L << 20;

    private static final PciIdentity IDENTITY = new PciIdentity(VENDOR, DEVICE, CLASS, 1, VENDOR, DEVICE, 1);

    /** BAR0: nothing behind it for drivers of this era; reads float high, writes go nowhere. */
    private static final IoHandler IO_BAR = new IoHandler() {
        @Override
        public int ioRead(int offset, int size) {
            return -1;
        }

        @Override
        public void ioWrite(int offset, int size, int value) {
        }
    };

    private final List<PciBar> bars = List.of(PciBar.io(IO_BAR_SIZE, IO_BAR), PciBar.memory(MEMORY_BAR_SIZE, true, null));
    private final UnplugPorts ports;
    private final PlatformUnplug unplug;
    private PciSlot slot;

    private XenPlatformPci(UnplugPorts ports, PlatformUnplug unplug) {
        this.ports = ports;
        this.unplug = unplug;
    }

    /**
     * Plugs the device into {@code platform} at 00:03.0 and claims ports 0x10-0x1f. Byte writes to
     * 0x12 (the protocol's log port, once Xen's HVM debug port) go to {@code logPort}.
     */
    public static XenPlatformPci plugInto(HvmPlatformImpl platform, IoHandler logPort) {
        Consumer<String> log = platform::log;
        PlatformUnplug unplug = new PlatformUnplug(platform);
        UnplugPorts ports = new UnplugPorts(unplug, logPort, log);
        XenPlatformPci device = new XenPlatformPci(ports, unplug);
        device.slot = platform.plugPci(SLOT, 0, device);
        platform.mapIo(FIXED_PORTS, FIXED_PORT_COUNT, ports);
        return device;
    }

    @Override
    public PciIdentity identity() {
        return IDENTITY;
    }

    @Override
    public List<PciBar> bars() {
        return bars;
    }

    @Override
    public void reset() {
        ports.restore(XenPlatformState.powerOn());
    }

    public XenPlatformState state() {
        return ports.state();
    }

    /** A saved platform device; what its guest had unplugged stays unplugged for the device models. */
    public void restore(XenPlatformState state) {
        ports.restore(state);
        if ((state.unplugged() & UnplugPorts.UNPLUG_IDE_DISKS) != 0) {
            unplug.platform().markClassUnplugged(UnplugPorts.BASE_CLASS_STORAGE);
        }
        if ((state.unplugged() & UnplugPorts.UNPLUG_NICS) != 0) {
            unplug.platform().markClassUnplugged(UnplugPorts.BASE_CLASS_NETWORK);
        }
    }

    PciSlot slot() {
        return slot;
    }

    private static boolean staysOnBus(PciDevice d) {
        try {
            return d.staysOnBusWhenUnplugged();
        } catch (RuntimeException e) {
            return false; // a device that cannot say goes, as the unplug asks
        }
    }

    /** Removes emulated devices from the platform's bus as the unplug mask asks. */
    private record PlatformUnplug(HvmPlatformImpl platform) implements UnplugPorts.Unplugger {
        @Override
        public int unplugClass(int baseClass) {
            platform.markClassUnplugged(baseClass); // before the functions go: a racing hand-over sees it
            int removed = 0;
            for (PciSlot s : platform.pciBus().functionsOfClass(baseClass)) {
                PciDevice d = platform.pciBus().deviceAt(s);
                if (staysOnBus(d)) {
                    d.unplugged(); // e.g. the IDE controller drops its disks and keeps the CD-ROM
                    platform.log(String.format("xen-platform: 00:%02x.%d stays on the bus for what the unplug does not take",
                            s.bdf() >> 3, s.bdf() & 7));
                } else {
                    platform.unplugPci(s);
                    removed++;
                }
            }
            return removed;
        }
    }
}
