package org.xenj.hvm.qemudm.internal.vga;

import java.util.Arrays;
import java.util.List;

import org.xenj.hypervisor.spi.IoHandler;
import org.xenj.hypervisor.spi.MmioHandler;
import org.xenj.hypervisor.spi.pci.PciBar;
import org.xenj.hypervisor.spi.pci.PciDevice;
import org.xenj.hypervisor.spi.pci.PciIdentity;

/**
 * QEMU's standard VGA ({@code -vga std}, xl's {@code vga="stdvga"}): PCI 1234:1111 with the Bochs VBE
 * extensions. BAR0 is the 16 MiB linear framebuffer (prefetchable), BAR2 the 4 KiB MMIO window
 * Linux's bochs-drm uses (VGA ports 0x3C0-0x3DF at +0x400, the dispi registers at +0x500, no EDID
 * and no QEMU extended registers). The legacy parts answer at their ISA addresses: ports
 * 0x3B4/0x3B5/0x3BA, 0x3C0-0x3DF, 0x1CE/0x1CF and the window 0xA0000-0xBFFFF. The handlers get
 * offsets; {@code PcDevices} maps them.
 */
public final class StdVga implements PciDevice {

    public static final int VENDOR = 0x1234, DEVICE = 0x1111;
    /** Ports: base 0x3B0, 48 of them (0x3B0-0x3DF); VBE at 0x1CE, 2. */
    public static final int VGA_PORTS = 0x3b0, VGA_PORT_COUNT = 0x30, VBE_PORTS = 0x1ce, VBE_PORT_COUNT = 2;
    public static final long WINDOW = 0xa0000L, WINDOW_SIZE = 0x20000L;
    static final int MMIO_SIZE = 0x1000;
    static final int MMIO_VGA = 0x400, MMIO_DISPI = 0x500, MMIO_QEMU_EXT = 0x600;

    final VgaMemory mem = new VgaMemory();
    final VgaRegisters regs = new VgaRegisters(mem);
    private final List<PciBar> bars;
    private final byte[] optionRom;

    /** @param optionRom the VGA BIOS image for the expansion ROM BAR, or null for none */
    public StdVga(byte[] optionRom) {
        this.optionRom = optionRom == null ? null : optionRom.clone();
        this.bars = Arrays.asList(PciBar.memory(VgaMemory.SIZE, true, linearFramebuffer()), null,
                PciBar.memory(MMIO_SIZE, false, mmio()), null, null, null);
    }

    @Override
    public PciIdentity identity() {
        // class 03:00:00 (VGA-compatible), revision 2 and subsystem 1af4:1100 as QEMU's stdvga with its MMIO BAR
        return new PciIdentity(VENDOR, DEVICE, 0x030000, 0x02, 0x1af4, 0x1100, 0);
    }

    @Override
    public List<PciBar> bars() {
        return bars;
    }

    /**
     * The VGA BIOS as the expansion ROM BAR (read-only, its size the image's rounded up to a power of
     * two), or none without an image: SeaBIOS copies and runs it; a direct kernel boot ignores it.
     */
    @Override
    public PciBar expansionRom() {
        byte[] rom = optionRom;
        if (rom == null) {
            return null;
        }
        long size = Math.max(2048, Long.highestOneBit(rom.length - 1L) << 1);
        return PciBar.memory(size, false, new MmioHandler() {
            @Override
            public long mmioRead(long offset, int n) {
                long v = 0;
                for (int i = n - 1; i >= 0; i--) {
                    long at = offset + i;
                    v = v << 8 | (at < rom.length ? rom[(int) at] & 0xff : 0);
                }
                return v;
            }

            @Override
            public void mmioWrite(long offset, int n, long value) {
                // a ROM: writes are ignored
            }
        });
    }

    /** The VGA BIOS image offered as the expansion ROM, or null. */
    public byte[] optionRom() {
        return optionRom == null ? null : optionRom.clone();
    }

    @Override
    public synchronized void reset() {
        regs.reset();
        mem.markAllDirty();
    }

    /** Ports 0x3B0-0x3DF (map at {@link #VGA_PORTS}). */
    public IoHandler vgaPorts() {
        return new IoHandler() {
            @Override
            public int ioRead(int offset, int size) {
                int v = 0;
                for (int i = 0; i < size; i++) {
                    v |= portRead(VGA_PORTS + offset + i) << (8 * i);
                }
                return v;
            }

            @Override
            public void ioWrite(int offset, int size, int value) {
                for (int i = 0; i < size; i++) { // a 16-bit out to an index port writes index then data
                    portWrite(VGA_PORTS + offset + i, value >>> (8 * i));
                }
            }
        };
    }

    synchronized int portRead(int port) {
        return regs.read(port - 0x3c0) & 0xff;
    }

    synchronized void portWrite(int port, int value) {
        regs.write(port - 0x3c0, value);
    }

    /** Ports 0x1CE (index) and 0x1CF (data), 16 bits wide (map at {@link #VBE_PORTS}). */
    public IoHandler vbePorts() {
        return new IoHandler() {
            @Override
            public int ioRead(int offset, int size) {
                synchronized (StdVga.this) {
                    int v = offset == 0 ? regs.vbeIndex : regs.vbeRead(regs.vbeIndex);
                    return size == 1 ? v & 0xff : v;
                }
            }

            @Override
            public void ioWrite(int offset, int size, int value) {
                synchronized (StdVga.this) {
                    if (offset == 0) {
                        regs.vbeIndex = value & 0xffff;
                    } else {
                        regs.vbeWrite(regs.vbeIndex, value);
                    }
                }
            }
        };
    }

    /** 0xA0000-0xBFFFF (map at {@link #WINDOW}). */
    public MmioHandler legacyWindow() {
        return new MmioHandler() {
            @Override
            public long mmioRead(long offset, int size) {
                long v = 0;
                synchronized (StdVga.this) {
                    for (int i = 0; i < size; i++) {
                        v |= (long) windowRead((int) offset + i) << (8 * i);
                    }
                }
                return v;
            }

            @Override
            public void mmioWrite(long offset, int size, long value) {
                synchronized (StdVga.this) {
                    for (int i = 0; i < size; i++) {
                        windowWrite((int) offset + i, (int) (value >>> (8 * i)) & 0xff);
                    }
                }
            }
        };
    }

    /** The plane address of window offset {@code addr} under the memory map select, or -1 if not decoded. */
    private int windowAddress(int addr) {
        switch (regs.gc[6] >>> 2 & 3) {
            case 0:
                return addr;
            case 1:
                return addr < 0x10000 ? addr : -1;
            case 2:
                return addr >= 0x10000 && addr < 0x18000 ? addr - 0x10000 : -1;
            default:
                return addr >= 0x18000 ? addr - 0x18000 : -1;
        }
    }

    int windowRead(int offset) {
        int a = windowAddress(offset);
        if (a < 0) {
            return 0xff;
        }
        if (regs.vbeEnabled()) {
            return (int) mem.readLinear((regs.vbe[VgaRegisters.VBE_BANK] << 16) + (a & 0xffff), 1);
        }
        return mem.read(regs, a);
    }

    void windowWrite(int offset, int value) {
        int a = windowAddress(offset);
        if (a < 0) {
            return;
        }
        if (regs.vbeEnabled()) {
            mem.writeLinear((regs.vbe[VgaRegisters.VBE_BANK] << 16) + (a & 0xffff), 1, value);
            return;
        }
        mem.write(regs, a, value);
    }

    /** BAR0: video memory as it is, without locking (pixels only; the renderer tolerates torn frames). */
    private MmioHandler linearFramebuffer() {
        return new MmioHandler() {
            @Override
            public long mmioRead(long offset, int size) {
                return mem.readLinear((int) offset, size);
            }

            @Override
            public void mmioWrite(long offset, int size, long value) {
                mem.writeLinear((int) offset, size, value);
            }
        };
    }

    /** BAR2: the VGA ports at +0x400, the dispi registers (16-bit, index × 2) at +0x500. */
    private MmioHandler mmio() {
        return new MmioHandler() {
            @Override
            public long mmioRead(long offset, int size) {
                int off = (int) offset;
                if (off >= MMIO_VGA && off < MMIO_VGA + 0x20) {
                    long v = 0;
                    for (int i = 0; i < size && off + i < MMIO_VGA + 0x20; i++) {
                        v |= (long) portRead(0x3c0 + off - MMIO_VGA + i) << (8 * i);
                    }
                    return v;
                }
                if (off >= MMIO_DISPI && off < MMIO_DISPI + 2 * VgaRegisters.VBE_COUNT) {
                    synchronized (StdVga.this) {
                        return regs.vbeRead((off - MMIO_DISPI) >> 1);
                    }
                }
                return 0; // no EDID at 0, no QEMU extended registers at 0x600 (size 0)
            }

            @Override
            public void mmioWrite(long offset, int size, long value) {
                int off = (int) offset;
                if (off >= MMIO_VGA && off < MMIO_VGA + 0x20) {
                    for (int i = 0; i < size && off + i < MMIO_VGA + 0x20; i++) {
                        portWrite(0x3c0 + off - MMIO_VGA + i, (int) (value >>> (8 * i)));
                    }
                } else if (off >= MMIO_DISPI && off < MMIO_DISPI + 2 * VgaRegisters.VBE_COUNT) {
                    synchronized (StdVga.this) {
                        regs.vbeWrite((off - MMIO_DISPI) >> 1, (int) value);
                    }
                }
            }
        };
    }

    /** Every guest-visible bit: registers and video memory. */
    public synchronized StdVgaState saveState() {
        return StdVgaState.of(regs, mem);
    }

    public synchronized void restoreState(StdVgaState s) {
        s.applyTo(regs, mem);
        mem.markAllDirty();
        regs.generation++;
    }

    /** The renderer that turns the current mode into pixels; one per display thread. */
    public VgaRenderer renderer() {
        return new VgaRenderer(regs, mem);
    }
}
