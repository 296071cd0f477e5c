package org.xenj.hypervisor.internal.xenabi.platformpci;

import java.util.function.Consumer;

import org.xenj.hypervisor.spi.IoHandler;

/**
 * Xen's emulated-device unplug protocol on ports 0x10-0x1f (docs/misc/hvm-emulated-unplug.pandoc):
 * <ul>
 * <li>0x10 word read: magic 0x49d2 (0xd249 would mean "blacklisted"; we blacklist nobody);
 * byte read/write: platform flags;</li>
 * <li>0x12 byte read: protocol version 1; word write: product number; byte write: one character
 * of a log line (the same line collector as Xen's debug port 0xe9);</li>
 * <li>0x10 dword write: driver build number; word write: unplug mask (bit 0 all emulated IDE/SCSI
 * disks, bit 1 all emulated NICs, bit 2 IDE disks but the primary master, bit 3 NVMe disks).</li>
 * </ul>
 * Anything else reads all ones and is ignored on write. Log lines are capped so a guest hammering
 * the ports cannot flood the hypervisor's log.
 */
final class UnplugPorts implements IoHandler {

    static final int MAGIC = 0x49d2;
    static final int PROTOCOL_VERSION = 1;
    static final int UNPLUG_IDE_DISKS = 1;
    static final int UNPLUG_NICS = 2;
    static final int UNPLUG_AUX_IDE_DISKS = 4;
    static final int UNPLUG_NVME_DISKS = 8;
    /** Protocol events (unplug, product, build) logged before the rest are counted silently. */
    static final int EVENT_LOG_LIMIT = 16;
    /** Guest log lines passed through before the rest are dropped. */
    static final int LINE_LIMIT = 256;
    static final int BASE_CLASS_NETWORK = 0x02;
    static final int BASE_CLASS_STORAGE = 0x01;

    /** Takes emulated devices of a PCI base class off the bus; returns how many. */
    interface Unplugger {
        int unplugClass(int baseClass);
    }

    private final Unplugger unplugger;
    private final IoHandler logPort;
    private final Consumer<String> log;
    private int flags;
    private int unplugged;
    private int productNumber = -1;
    private long driverBuild = -1;
    private int events;
    private int lines;

    UnplugPorts(Unplugger unplugger, IoHandler logPort, Consumer<String> log) {
        this.unplugger = unplugger;
        this.logPort = logPort;
        this.log = log;
    }

    @Override
    public synchronized int ioRead(int offset, int size) {
        if (offset == 0 && size == 2) {
            return MAGIC;
        }
        if (offset == 0 && size == 1) {
            return flags;
        }
        if (offset == 2 && size == 1) {
            return PROTOCOL_VERSION;
        }
        return -1;
    }

    @Override
    public void ioWrite(int offset, int size, int value) {
        int unplugNow = 0;
        synchronized (this) {
            if (offset == 0 && size == 2) {
                unplugNow = value & 0xffff;
                unplugged |= unplugNow;
                event(String.format("xen-platform: guest unplugs emulated devices, mask 0x%x (%s)", unplugNow, describe(unplugNow)));
            } else if (offset == 0 && size == 4) {
                driverBuild = value & 0xffffffffL;
                event("xen-platform: guest driver build " + driverBuild);
            } else if (offset == 0 && size == 1) {
                flags = value & 0xff;
            } else if (offset == 2 && size == 2) {
                productNumber = value & 0xffff;
                event("xen-platform: guest PV driver product " + productNumber + (productNumber == 3 ? " (Linux)" : ""));
            } else if (offset == 2 && size == 1) {
                logByte(value);
            } else {
                event(String.format("xen-platform: ignored %d-byte write 0x%x to port 0x%x", size, value, 0x10 + offset));
            }
        }
        if ((unplugNow & UNPLUG_NICS) != 0) {
            int n = unplugger.unplugClass(BASE_CLASS_NETWORK);
            logEvent("xen-platform: " + n + " emulated NIC(s) removed from the PCI bus");
        }
        if ((unplugNow & UNPLUG_IDE_DISKS) != 0) {
            // The emulated disk controllers leave the bus; their unplugged() closes the images, so
            // that blkback can be the one writer of each. One that also has a CD-ROM stays (as on
            // Xen) and drops only its hard disks.
            int n = unplugger.unplugClass(BASE_CLASS_STORAGE);
            logEvent("xen-platform: " + n + " emulated disk controller(s) removed from the PCI bus");
        } else if ((unplugNow & (UNPLUG_AUX_IDE_DISKS | UNPLUG_NVME_DISKS)) != 0) {
            logEvent("xen-platform: unplugging only some emulated disks is not modelled: nothing removed");
        }
    }

    private static String describe(int mask) {
        StringBuilder b = new StringBuilder();
        if ((mask & UNPLUG_IDE_DISKS) != 0) {
            b.append("IDE/SCSI disks ");
        }
        if ((mask & UNPLUG_NICS) != 0) {
            b.append("NICs ");
        }
        if ((mask & UNPLUG_AUX_IDE_DISKS) != 0) {
            b.append("auxiliary IDE disks ");
        }
        if ((mask & UNPLUG_NVME_DISKS) != 0) {
            b.append("NVMe disks ");
        }
        if ((mask & ~0xf) != 0) {
            b.append("undefined bits ");
        }
        return b.length() == 0 ? "nothing" : b.toString().trim();
    }

    private synchronized void logEvent(String line) {
        event(line);
    }

    /** Logs a protocol event, the first {@value #EVENT_LOG_LIMIT} only. Under the lock. */
    private void event(String line) {
        events++;
        if (events <= EVENT_LOG_LIMIT) {
            log.accept(line);
        } else if (events == EVENT_LOG_LIMIT + 1) {
            log.accept("xen-platform: the guest keeps writing the unplug ports; further events are not logged");
        }
    }

    private void logByte(int value) {
        if (lines >= LINE_LIMIT) {
            return;
        }
        if ((value & 0xff) == '\n' && ++lines == LINE_LIMIT) {
            logPort.ioWrite(0, 1, value);
            log.accept("xen-platform: " + LINE_LIMIT + " guest log lines; further ones are dropped");
            return;
        }
        logPort.ioWrite(0, 1, value);
    }

    synchronized XenPlatformState state() {
        return new XenPlatformState(XenPlatformState.VERSION, flags, unplugged, productNumber, driverBuild);
    }

    synchronized void restore(XenPlatformState s) {
        flags = s.flags();
        unplugged = s.unplugged();
        productNumber = s.productNumber();
        driverBuild = s.driverBuild();
        events = 0;
        lines = 0;
    }
}
