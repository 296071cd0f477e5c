package org.xenj.hypervisor.internal.platform.pci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.platform.IoPortBus;
import org.xenj.hypervisor.internal.platform.MmioBus;
import org.xenj.hypervisor.spi.IoHandler;
import org.xenj.hypervisor.spi.MmioHandler;
import org.xenj.hypervisor.spi.pci.PciBar;
import org.xenj.hypervisor.spi.pci.PciDevice;
import org.xenj.hypervisor.spi.pci.PciIdentity;
import org.xenj.hypervisor.spi.pci.PciSlot;

class PciBusTest {

    private final List<String> log = new ArrayList<>();
    private final int[] irqLevel = new int[16];
    private IoPortBus ports;
    private MmioBus mmio;
    private PciBus bus;
    private IoHandler cf8;
    private IoHandler cfc;

    /** A device whose I/O BAR answers its offset, whose memory BAR answers 0x1000 + offset. */
    static class TestDevice implements PciDevice {
        final List<PciBar> bars;
        final int pin;
        final List<Integer> ioOffsets = new ArrayList<>();

        TestDevice(int pin, PciBar... bars) {
            this.pin = pin;
            this.bars = Arrays.asList(bars);
        }

        static TestDevice withIoAndMemory(int pin) {
            List<Integer> seen = new ArrayList<>();
            TestDevice d = new TestDevice(pin, PciBar.io(0x20, new IoHandler() {
                @Override
                public int ioRead(int offset, int size) {
                    seen.add(offset);
                    return offset;
                }

                @Override
                public void ioWrite(int offset, int size, int value) {
                }
            }), PciBar.memory(0x1000, false, new MmioHandler() {
                @Override
                public long mmioRead(long offset, int size) {
                    return 0x1000 + offset;
                }

                @Override
                public void mmioWrite(long offset, int size, long value) {
                }
            }));
            d.ioOffsets.clear();
            return d;
        }

        @Override
        public PciIdentity identity() {
            return new PciIdentity(0x1b36, 0x0005, 0x00ff00, 1, 0x1af4, 0x1100, pin);
        }

        @Override
        public List<PciBar> bars() {
            return bars;
        }
    }

    @BeforeEach
    void setUp() {
        ports = new IoPortBus(log::add);
        mmio = new MmioBus(log::add);
        BarSpace space = new BarSpace() {
            @Override
            public void mapIo(int base, int count, IoHandler handler) {
                ports.map(base, count, handler);
            }

            @Override
            public void unmapIo(int base, int count) {
                ports.unmap(base, count);
            }

            @Override
            public void mapMmio(long base, long size, MmioHandler handler) {
                if (overlapsRam(base, size)) {
                    throw new IllegalStateException("overlaps guest RAM");
                }
                mmio.map(base, size, handler);
            }

            @Override
            public void unmapMmio(long base, long size) {
                mmio.unmap(base, size);
            }

            @Override
            public boolean overlapsRam(long base, long size) {
                return base < 0x1000_0000L; // 256 MiB of RAM from 0
            }
        };
        bus = new PciBus(space, (irq, level) -> irqLevel[irq] += level ? 1 : -1, log::add, () -> {
        });
        cf8 = bus.configPorts(0);
        cfc = bus.configPorts(4);
    }

    private int cfg(int dev, int reg, int size) {
        cf8.ioWrite(0, 4, 0x80000000 | dev << 11 | (reg & 0xfc));
        return cfc.ioRead(reg & 3, size);
    }

    private void cfgWrite(int dev, int reg, int size, int value) {
        cf8.ioWrite(0, 4, 0x80000000 | dev << 11 | (reg & 0xfc));
        cfc.ioWrite(reg & 3, size, value);
    }

    @Test
    void configMechanismOneIdentifiesPluggedFunctionsAndAbsentOnesReadAllOnes() {
        bus.plug(3, 0, TestDevice.withIoAndMemory(1));
        assertEquals(0x00051b36, cfg(3, 0, 4));
        assertEquals(0x00ff0001, cfg(3, 8, 4), "class 00ff00, revision 1");
        assertEquals(0x11001af4, cfg(3, 0x2c, 4), "subsystem");
        assertEquals(0x01, cfg(3, 0x3d, 1), "INTA#");
        assertEquals(-1, cfg(4, 0, 4));
        cf8.ioWrite(0, 4, 0x80010000 | 3 << 11); // bus 1
        assertEquals(-1, cfc.ioRead(0, 4));
        cf8.ioWrite(0, 4, 0x80000000);
        assertEquals(0x80000000, cf8.ioRead(0, 4), "Linux's type-1 probe reads CONFIG_ADDRESS back");
    }

    @Test
    void anExpansionRomIsSizedEnabledAndDecodedLikeFirmwareDoesIt() {
        TestDevice plain = TestDevice.withIoAndMemory(1);
        bus.plug(4, 0, plain);
        cfgWrite(4, 0x30, 4, -1);
        assertEquals(0, cfg(4, 0x30, 4), "no ROM: register 0x30 reads 0");
        PciBar romBar = PciBar.memory(0x10000, false, new MmioHandler() {
            @Override
            public long mmioRead(long offset, int size) {
                return offset == 0 ? 0xaa55 : 0x77;
            }

            @Override
            public void mmioWrite(long offset, int size, long value) {
            }
        });
        TestDevice withRom = new TestDevice(1, TestDevice.withIoAndMemory(1).bars.toArray(new PciBar[0])) {
            @Override
            public PciBar expansionRom() {
                return romBar;
            }
        };
        org.xenj.hypervisor.spi.pci.PciSlot slot = bus.plug(3, 0, withRom);
        cfgWrite(3, 0x30, 4, 0xfffffffe);
        assertEquals(0xffff0000, cfg(3, 0x30, 4), "64 KiB ROM, enable bit clear");
        cfgWrite(3, 0x30, 4, 0xf010_0000);
        cfgWrite(3, 0x04, 2, 0x0002);
        assertEquals(-1, bus.decodedAt(slot, 6), "not enabled: not decoded");
        cfgWrite(3, 0x30, 4, 0xf010_0001);
        assertEquals(0xf010_0001, cfg(3, 0x30, 4));
        assertEquals(0xf010_0000L, bus.decodedAt(slot, 6));
        assertEquals(0xaa55, mmio.read(0xf010_0000L, 2), "the ROM answers with offsets");
        cfgWrite(3, 0x30, 4, 0xf010_0000);
        assertEquals(0xffffffffL, mmio.read(0xf010_0000L, 4), "disabled again");
        // a hand-over keeps the ROM register
        cfgWrite(3, 0x30, 4, 0xf020_0001);
        int[] header = bus.saveHeaders().get(slot.bdf());
        bus.unplug(slot);
        org.xenj.hypervisor.spi.pci.PciSlot again = bus.plug(3, 0, withRom);
        bus.restoreHeaders(java.util.Map.of(again.bdf(), header));
        assertEquals(0xf020_0001, cfg(3, 0x30, 4));
        assertEquals(0xaa55, mmio.read(0xf020_0000L, 2));
    }

    @Test
    void barSizingReadsBackTheMaskAndRelocationMovesTheDecode() {
        bus.plug(3, 0, TestDevice.withIoAndMemory(1));
        cfgWrite(3, 0x10, 4, -1);
        assertEquals(0xffffffe1, cfg(3, 0x10, 4), "32-port I/O BAR");
        cfgWrite(3, 0x14, 4, -1);
        assertEquals(0xfffff000, cfg(3, 0x14, 4), "4 KiB memory BAR");
        cfgWrite(3, 0x10, 4, 0xc040);
        cfgWrite(3, 0x14, 4, 0xf000_2000);
        assertEquals(0xffff, ports.read(0xc044, 2), "no decode before the command register enables it");
        assertEquals(0xffffffffL, mmio.read(0xf000_2008L, 4));
        cfgWrite(3, 0x04, 2, 0x0003);
        assertEquals(4, ports.read(0xc044, 2), "devices see the offset into their BAR");
        assertEquals(0x1008, mmio.read(0xf000_2008L, 4));
        cfgWrite(3, 0x10, 4, 0xc100);
        assertEquals(0xffff, ports.read(0xc044, 2), "moved away");
        assertEquals(4, ports.read(0xc104, 2));
        cfgWrite(3, 0x04, 2, 0x0000);
        assertFalse(ports.claimed(0xc104));
        assertEquals(0xffffffffL, mmio.read(0xf000_2008L, 4));
    }

    @Test
    void aHandedOverFunctionKeepsTheHeaderTheGuestSetAndOthersStartAtPowerOn() {
        PciSlot old = bus.plug(4, 0, TestDevice.withIoAndMemory(1));
        cfgWrite(4, 0x10, 4, 0xc040);
        cfgWrite(4, 0x14, 4, 0xf000_2000);
        cfgWrite(4, 0x3c, 1, 11);
        cfgWrite(4, 0x04, 2, 0x0007);
        bus.keepHeaders(); // a device model hands over: it unplugs, the next instance plugs the same function
        bus.unplug(old);
        assertEquals(0xffff, ports.read(0xc044, 2), "nothing decodes in between");
        PciSlot next = bus.plug(4, 0, TestDevice.withIoAndMemory(1));
        bus.dropKeptHeaders();
        assertEquals(4, ports.read(0xc044, 2), "the new function decodes at the guest's I/O address");
        assertEquals(0x1008, mmio.read(0xf000_2008L, 4), "and at its memory address");
        assertTrue(next.busMaster(), "bus mastering stays enabled");
        assertEquals(11, cfg(4, 0x3c, 1));
        bus.unplug(next);
        bus.plug(4, 0, TestDevice.withIoAndMemory(1)); // no hand-over: power-on header
        assertEquals(0, cfg(4, 0x10, 4) & ~1);
        assertEquals(0, cfg(4, 0x04, 2));
        bus.unplug(bus.functions().get(0));
        bus.keepHeaders();
        PciDevice other = new TestDevice(1, PciBar.io(0x20, new IoHandler() {
            @Override
            public int ioRead(int offset, int size) {
                return 0;
            }

            @Override
            public void ioWrite(int offset, int size, int value) {
            }
        })) {
            @Override
            public PciIdentity identity() {
                return new PciIdentity(0x10ec, 0x8139, 0x020000, 0x10, 0, 0, 1);
            }
        };
        bus.plug(4, 0, other);
        assertEquals(0, cfg(4, 0x04, 2), "another function at the same place does not take a header");
    }

    @Test
    void overlappingBarsStayMaskedWithOneLogLineAndDecodeOnceTheConflictIsGone() {
        PciSlot a = bus.plug(3, 0, TestDevice.withIoAndMemory(1));
        bus.plug(4, 0, TestDevice.withIoAndMemory(1));
        cfgWrite(3, 0x10, 4, 0xc000);
        cfgWrite(3, 0x04, 2, 1);
        cfgWrite(4, 0x10, 4, 0xc000); // the same 32 ports as a
        cfgWrite(4, 0x04, 2, 1);
        cfgWrite(4, 0x3c, 1, 5); // unrelated write: no second log line
        assertEquals(-1, bus.decodedAt(bus.functions().get(1), 0));
        assertEquals(1, log.stream().filter(l -> l.contains("00:04.0 BAR0") && l.contains("not decoded")).count(), log.toString());
        cfgWrite(3, 0x04, 2, 0); // a stops decoding: b gets its ports
        assertEquals(0xc000, bus.decodedAt(bus.functions().get(1), 0));
        assertEquals(-1, bus.decodedAt(a, 0));
    }

    @Test
    void memoryBarsOverRamAndAbsurdAddressesAreNotDecoded() {
        bus.plug(3, 0, TestDevice.withIoAndMemory(1));
        cfgWrite(3, 0x14, 4, 0x0010_0000); // inside RAM
        cfgWrite(3, 0x10, 4, 0xfffffff0); // I/O BAR above 64 Ki
        cfgWrite(3, 0x04, 2, 3);
        PciSlot s = bus.functions().get(0);
        assertEquals(-1, bus.decodedAt(s, 1));
        assertEquals(-1, bus.decodedAt(s, 0));
        assertTrue(log.stream().anyMatch(l -> l.contains("BAR1") && l.contains("RAM")), log.toString());
        assertEquals(0xffffffe1, cfg(3, 0x10, 4), "address bits above the size still read back");
        cfgWrite(3, 0x14, 4, -1); // all ones: the top page of 4 GiB is never decoded
        assertEquals(-1, bus.decodedAt(s, 1));
    }

    @Test
    void intxReachesTheIsaIrqOfItsPirqLinkAndFollowsRouteChanges() {
        PciSlot s = bus.plug(3, 0, TestDevice.withIoAndMemory(1)); // device 3, INTA# -> link (3+0)&3 = D
        s.setIntx(true);
        assertEquals(0, irqLevel[11], "unrouted link drives nothing");
        bus.setLinkRoute(3, 11);
        assertEquals(1, irqLevel[11], "routing an asserted link raises the IRQ");
        bus.setLinkRoute(3, 10);
        assertEquals(0, irqLevel[11]);
        assertEquals(1, irqLevel[10]);
        assertEquals(0x08, cfg(3, 0x06, 1) & 0x08, "status shows the interrupt");
        cfgWrite(3, 0x04, 2, 0x400); // Interrupt Disable
        assertEquals(0, irqLevel[10]);
        cfgWrite(3, 0x04, 2, 0);
        assertEquals(1, irqLevel[10]);
        s.setIntx(false);
        assertEquals(0, irqLevel[10]);
    }

    /** A bus without BAR space whose IRQ lines record levels (the fabric's semantics), not edge counts. */
    private PciBus levelBus(boolean[] level) {
        return new PciBus(new BarSpace() {
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
            public boolean overlapsRam(long base, long size) {
                return false;
            }
        }, (irq, l) -> level[irq] = l, log::add, () -> {
        });
    }

    /**
     * PIIX3 firmware routes PIRQA and PIRQB both to IRQ 10 (the RTL8139 at 00:04.0 and the NE2000 at
     * 00:05.0 of a bare PC): the IRQ is their wired-OR, as on the board. Each link driving the
     * line on its own lost the RTL8139's request whenever the NE2000 lowered its pin (8139too's
     * transmit watchdog fired after a migration in CI); this checks levels, not edge counts.
     */
    @Test
    void linksRoutedToOneIrqAreWiredOr() {
        boolean[] level = new boolean[16];
        PciBus levels = levelBus(level);
        PciSlot rtl = levels.plug(4, 0, TestDevice.withIoAndMemory(1)); // INTA# -> link A
        PciSlot ne = levels.plug(5, 0, TestDevice.withIoAndMemory(1)); // INTA# -> link B
        levels.setLinkRoute(0, 10);
        levels.setLinkRoute(1, 10);
        rtl.setIntx(true);
        ne.setIntx(true);
        ne.setIntx(false);
        assertTrue(level[10], "the NE2000 lowering its pin leaves the RTL8139's request on IRQ 10");
        rtl.setIntx(false);
        assertFalse(level[10], "both low: IRQ 10 low");
        ne.setIntx(true);
        levels.setLinkRoute(1, 11); // B moves away while asserted: 10 drops, 11 rises
        assertFalse(level[10]);
        assertTrue(level[11]);
        rtl.setIntx(true);
        levels.setLinkRoute(0, 11); // A joins B on 11: 10 low, 11 stays high
        levels.setLinkRoute(1, -1); // B unrouted: A still holds 11
        assertFalse(level[10]);
        assertTrue(level[11]);
        levels.unplug(rtl);
        assertFalse(level[11], "the unplugged function's pin is released");
    }

    @Test
    void afterARestoreTheLinksDriveTheirIrqsLowAsWellAsHigh() {
        boolean[] level = new boolean[16];
        PciBus levels = levelBus(level);
        PciSlot rtl = levels.plug(4, 0, TestDevice.withIoAndMemory(1));
        levels.setLinkRoute(0, 10);
        levels.setLinkRoute(3, 11);
        level[11] = true; // the controllers' record holds IRQ 11 high; no device asserts it now
        rtl.setIntx(true);
        levels.driveInterruptLinks();
        assertTrue(level[10]);
        assertFalse(level[11]);
    }

    @Test
    void functionsPlugWithTheHeadersARestoreKeeps() {
        PciSlot s = bus.plug(3, 0, TestDevice.withIoAndMemory(1));
        cfgWrite(3, 0x10, 4, 0xc000);
        cfgWrite(3, 0x04, 2, 0x05); // I/O decode, bus master
        java.util.Map<Integer, int[]> saved = bus.saveHeaders();
        bus.unplug(s);
        bus.keepHeaders(saved);
        PciSlot again = bus.plug(3, 0, TestDevice.withIoAndMemory(1));
        bus.dropKeptHeaders();
        assertTrue(again.busMaster(), "bus mastering as saved, before any restoreHeaders");
        assertEquals(0xc000, bus.decodedAt(again, 0));
        saved.put(3 << 3, new int[] { 1, 2 }); // damaged: too short
        bus.unplug(again);
        bus.keepHeaders(saved);
        PciSlot fresh = bus.plug(3, 0, TestDevice.withIoAndMemory(1));
        assertFalse(fresh.busMaster(), "a damaged header is not taken: power-on header");
    }

    @Test
    void nonsensePirqRoutesAreLoggedAndLeaveTheLinkUnrouted() {
        PciSlot s = bus.plug(3, 0, TestDevice.withIoAndMemory(1));
        s.setIntx(true);
        bus.setLinkRoute(3, 13); // the FPU error IRQ: not routable on a PIIX3
        bus.setLinkRoute(3, 2); // the cascade
        bus.setLinkRoute(7, 5); // no such link
        assertEquals(-1, bus.linkRoute(3));
        for (int irq = 0; irq < 16; irq++) {
            assertEquals(0, irqLevel[irq], "IRQ " + irq);
        }
        assertEquals(3, log.stream().filter(l -> l.contains("PIRQ")).count(), log.toString());
    }

    @Test
    void unpluggingStopsDecodingAndReleasesTheInterrupt() {
        PciSlot s = bus.plug(3, 0, TestDevice.withIoAndMemory(1));
        bus.setLinkRoute(3, 11);
        cfgWrite(3, 0x10, 4, 0xc000);
        cfgWrite(3, 0x04, 2, 1);
        s.setIntx(true);
        bus.unplug(s);
        assertFalse(ports.claimed(0xc000));
        assertEquals(0, irqLevel[11]);
        assertEquals(-1, cfg(3, 0, 4));
    }

    @Test
    void firmwareRoutesLinksAndPlacesBarsAboveRamWithDecodingOn() {
        PciSlot s = bus.plug(3, 0, TestDevice.withIoAndMemory(1));
        List<Integer> levelIrqs = new ArrayList<>();
        PciFirmware.assign(bus, 0x1000_0000L, levelIrqs::add, log::add);
        assertEquals(0xc000, bus.decodedAt(s, 0));
        assertEquals(0xf000_0000L, bus.decodedAt(s, 1));
        assertEquals(0x07, cfg(3, 0x04, 2) & 0x07);
        assertTrue(levelIrqs.isEmpty(), "no ISA bridge on this bus: links stay unrouted");
        assertEquals(0xff, cfg(3, 0x3c, 1));
    }

    @Test
    void absurdBarSizesAreRefusedWhenTheDeviceDescribesThem() {
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> PciBar.memory(3 << 12, false, null));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> PciBar.memory(1L << 31, false, null));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> PciBar.io(512, null));
    }

    @Test
    void aDeviceThatThrowsInItsRegistersReadsZeroAndIsLogged() {
        bus.plug(5, 0, new TestDevice(0) {
            @Override
            public int configRead(int offset, int size) {
                throw new IllegalStateException("device bug");
            }

            @Override
            public void configWrite(int offset, int size, int value) {
                throw new IllegalStateException("device bug");
            }
        });
        assertEquals(0, cfg(5, 0x40, 4));
        cfgWrite(5, 0x44, 4, 1);
        assertEquals(2, log.stream().filter(l -> l.contains("failed in device")).count(), log.toString());
        assertEquals(0x00051b36, cfg(5, 0, 4), "the header is the platform's and still answers");
    }

    @Test
    void unalignedAndOddSizedConfigAccessesStayInsideTheFunction() {
        bus.plug(3, 0, TestDevice.withIoAndMemory(2));
        cf8.ioWrite(0, 4, 0x80000000 | 3 << 11 | 0x3c);
        assertEquals(0x02, cfc.ioRead(1, 1), "interrupt pin B");
        assertEquals(0x0002, cfc.ioRead(1, 2) & 0xffff);
        cfc.ioWrite(1, 1, 0x04); // the pin is read-only
        assertEquals(0x02, cfc.ioRead(1, 1));
        cf8.ioWrite(0, 4, 0x80000000 | 3 << 11 | 0xfc);
        cfc.ioWrite(3, 4, -1); // runs past the end of configuration space: ignored by the device
        assertEquals(0, cfc.ioRead(0, 4));
    }
}
