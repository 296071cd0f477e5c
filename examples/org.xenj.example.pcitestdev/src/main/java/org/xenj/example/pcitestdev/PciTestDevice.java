package org.xenj.example.pcitestdev;

import java.util.List;

import org.xenj.hypervisor.spi.DeviceTimer;
import org.xenj.hypervisor.spi.HvmPlatform;
import org.xenj.hypervisor.spi.IoHandler;
import org.xenj.hypervisor.spi.MmioHandler;
import org.xenj.hypervisor.spi.pci.PciBar;
import org.xenj.hypervisor.spi.pci.PciDevice;
import org.xenj.hypervisor.spi.pci.PciIdentity;
import org.xenj.hypervisor.spi.pci.PciSlot;

/**
 * A small test device, 1b36:0005 (the IDs of QEMU's pci-testdev), class 0x00ff, INTA#. The same
 * registers appear in BAR0 (64 ports) and BAR1 (4 KiB of memory), at offsets:
 * <pre>
 *  0x00  scratch (read/write)
 *  0x04  write: raise INTx now            0x08  write: lower INTx (acknowledge)
 *  0x0c  write N: raise INTx after N microseconds (a timer on the domain's clock)
 *  0x10  write: raise INTx from the device's executor (off the vCPU thread, like a DMA completion)
 *  0x14  read: number of interrupts raised so far
 * </pre>
 */
final class PciTestDevice implements PciDevice {

    static final PciIdentity ID = new PciIdentity(0x1b36, 0x0005, 0x00ff00, 0, 0x1af4, 0x1100, 1);

    private final HvmPlatform platform;
    private final DeviceTimer timer;
    private final Registers registers = new Registers();
    private final List<PciBar> bars;
    private volatile PciSlot slot;
    private int scratch;
    private int raised;

    PciTestDevice(HvmPlatform platform) {
        this.platform = platform;
        this.timer = platform.newTimer(this::raise);
        this.bars = List.of(PciBar.io(64, registers), PciBar.memory(4096, false, registers));
    }

    void pluggedAt(PciSlot slot) {
        this.slot = slot;
    }

    @Override
    public PciIdentity identity() {
        return ID;
    }

    @Override
    public List<PciBar> bars() {
        return bars;
    }

    @Override
    public synchronized void reset() {
        scratch = 0;
        raised = 0;
        timer.cancel();
        PciSlot s = slot;
        if (s != null) {
            s.setIntx(false);
        }
    }

    private void raise() {
        synchronized (this) {
            raised++;
        }
        PciSlot s = slot;
        if (s != null) {
            s.setIntx(true);
        }
    }

    private synchronized int read(long offset) {
        return switch ((int) offset & ~3) {
            case 0x00 -> scratch;
            case 0x14 -> raised;
            default -> 0;
        };
    }

    private void write(long offset, int value) {
        switch ((int) offset & ~3) {
            case 0x00 -> {
                synchronized (this) {
                    scratch = value;
                }
            }
            case 0x04 -> raise();
            case 0x08 -> {
                PciSlot s = slot;
                if (s != null) {
                    s.setIntx(false);
                }
            }
            case 0x0c -> timer.arm(platform.nowNanos() + (value & 0xffffffffL) * 1000);
            case 0x10 -> platform.deviceExecutor().execute(this::raise);
            default -> {
                // unknown register: ignored, as hardware would
            }
        }
    }

    /** One register file behind both BARs: the platform hands offsets into the BAR, never addresses. */
    private final class Registers implements IoHandler, MmioHandler {
        @Override
        public int ioRead(int offset, int size) {
            return read(offset) >>> (8 * (offset & 3));
        }

        @Override
        public void ioWrite(int offset, int size, int value) {
            write(offset, value);
        }

        @Override
        public long mmioRead(long offset, int size) {
            return (read(offset) & 0xffffffffL) >>> (8 * (offset & 3));
        }

        @Override
        public void mmioWrite(long offset, int size, long value) {
            write(offset, (int) value);
        }
    }
}
