package org.xenj.hypervisor.internal.xenabi.platformpci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.internal.exec.CpuEnvironment;
import org.xenj.hypervisor.internal.platform.FakeGuestContext;
import org.xenj.hypervisor.internal.platform.HvmPlatformImpl;
import org.xenj.hypervisor.spi.pci.PciBar;
import org.xenj.hypervisor.spi.pci.PciDevice;
import org.xenj.hypervisor.spi.pci.PciIdentity;

/** The platform device as a guest finds it: through configuration cycles and port I/O on a vCPU. */
class XenPlatformPciTest {

    private FakeGuestContext ctx;
    private HvmPlatformImpl platform;
    private CpuEnvironment env;

    private void boot(String xenPlatformPci) {
        DomainConfig cfg = DomainConfig.builder("x").type(DomainType.HVM).memoryMiB(16)
                .raw(Map.of("xen_platform_pci", xenPlatformPci)).build();
        ctx = new FakeGuestContext(cfg);
        platform = new HvmPlatformImpl(ctx);
        org.xenj.hypervisor.internal.builder.HvmXenAbiSetupAccess.attach(ctx, platform);
        env = platform.environment(0);
    }

    private int cfg(int dev, int reg, int size) {
        env.ioWrite(0xcf8, 4, 0x80000000 | dev << 11 | (reg & 0xfc));
        return env.ioRead(0xcfc + (reg & 3), size);
    }

    private int cfg(int dev, int fn, int reg, int size) {
        env.ioWrite(0xcf8, 4, 0x80000000 | dev << 11 | fn << 8 | (reg & 0xfc));
        return env.ioRead(0xcfc + (reg & 3), size);
    }

    private void cfgWrite(int dev, int reg, int size, int value) {
        env.ioWrite(0xcf8, 4, 0x80000000 | dev << 11 | (reg & 0xfc));
        env.ioWrite(0xcfc + (reg & 3), size, value);
    }

    @Test
    void theGuestFindsXensPlatformDeviceAt0003() {
        boot("1");
        assertEquals(0x00015853, cfg(3, 0x00, 4), "5853:0001");
        assertEquals(0xff800001, cfg(3, 0x08, 4), "class 0xff, subclass 0x80, revision 1");
        assertEquals(0x00015853, cfg(3, 0x2c, 4), "subsystem 5853:0001");
        assertEquals(1, cfg(3, 0x3d, 1), "INTA#");
        cfgWrite(3, 0x10, 4, -1);
        assertEquals(0xffffff01, cfg(3, 0x10, 4), "BAR0: 256 ports");
        cfgWrite(3, 0x14, 4, -1);
        assertEquals(0xff000008, cfg(3, 0x14, 4), "BAR1: 16 MiB prefetchable memory");
        assertEquals(0, cfg(3, 0x18, 4), "no BAR2");
        platform.destroy();
    }

    @Test
    void firmwarePlacesItsBarsAboveRam() {
        boot("1");
        platform.firmwarePciSetup(16 << 20);
        assertEquals(0xc001, cfg(3, 0x10, 4));
        assertEquals(0xf0000008, cfg(3, 0x14, 4));
        assertEquals(0x3, cfg(3, 0x04, 2) & 3, "I/O and memory decoding on");
        platform.destroy();
    }

    @Test
    void unplugHandshakeAsLinuxDoesIt() {
        boot("1");
        assertEquals(0x49d2, env.ioRead(0x10, 2), "magic");
        assertEquals(1, env.ioRead(0x12, 1), "protocol version 1");
        env.ioWrite(0x12, 2, 3); // product: Linux
        env.ioWrite(0x10, 4, 1); // driver build
        assertEquals(0x49d2, env.ioRead(0x10, 2), "not blacklisted");
        env.ioWrite(0x10, 2, 0x3); // unplug NICs and IDE disks
        String logs = String.join("\n", ctx.logs);
        assertTrue(logs.contains("product 3 (Linux)"), logs);
        assertTrue(logs.contains("mask 0x3 (IDE/SCSI disks NICs)"), logs);
        for (char c : "hello\n".toCharArray()) {
            env.ioWrite(0x12, 1, c);
        }
        assertTrue(String.join("\n", ctx.logs).contains("debug port: hello"), ctx.logs.toString());
        XenPlatformState st = XenPlatformPciAccess.state(platform);
        assertEquals(new XenPlatformState(1, 0, 3, 3, 1), st);
        platform.destroy();
    }

    @Test
    void unplugRemovesEmulatedNicsFromTheBus() {
        boot("1");
        platform.plugPci(4, 0, new PciDevice() {
            @Override
            public PciIdentity identity() {
                return new PciIdentity(0x10ec, 0x8139, 0x020000, 0x20, 0, 0, 1);
            }

            @Override
            public List<PciBar> bars() {
                return List.of();
            }
        });
        assertEquals(0x813910ec, cfg(4, 0, 4));
        env.ioWrite(0x10, 2, 0x2);
        assertEquals(-1, cfg(4, 0, 4), "the NIC is gone");
        assertEquals(0x00015853, cfg(3, 0, 4), "the platform device stays");
        assertTrue(String.join("\n", ctx.logs).contains("1 emulated NIC(s) removed"), ctx.logs.toString());
        platform.destroy();
    }

    @Test
    void unplugOfIdeDisksRemovesTheDiskControllerAndTellsIt() {
        boot("1");
        boolean[] told = new boolean[1];
        platform.plugPci(1, 1, new PciDevice() {
            @Override
            public PciIdentity identity() {
                return PciIdentity.of(0x8086, 0x7010, 0x010180, 0);
            }

            @Override
            public List<PciBar> bars() {
                return List.of();
            }

            @Override
            public void unplugged() {
                told[0] = true; // the IDE model closes its disk images here
            }
        });
        env.ioWrite(0x10, 2, 0x2); // NICs only: the disks stay
        assertEquals(0x70108086, cfg(1, 1, 0, 4));
        env.ioWrite(0x10, 2, 0x1);
        assertEquals(-1, cfg(1, 1, 0, 4), "the IDE function is gone");
        assertTrue(told[0], "the device was not told");
        assertTrue(String.join("\n", ctx.logs).contains("1 emulated disk controller(s) removed"), ctx.logs.toString());
        platform.destroy();
    }

    @Test
    void aDiskControllerWithACdromStaysOnTheBusAndIsTold() {
        boot("1");
        boolean[] told = new boolean[1];
        platform.plugPci(1, 1, new PciDevice() {
            @Override
            public PciIdentity identity() {
                return PciIdentity.of(0x8086, 0x7010, 0x010180, 0);
            }

            @Override
            public List<PciBar> bars() {
                return List.of();
            }

            @Override
            public boolean staysOnBusWhenUnplugged() {
                return true; // it has a CD-ROM, which no PV driver replaces
            }

            @Override
            public void unplugged() {
                told[0] = true; // the IDE model drops its hard disks here
            }
        });
        env.ioWrite(0x10, 2, 0x1);
        assertEquals(0x70108086, cfg(1, 1, 0, 4), "the IDE function stays for its CD-ROM");
        assertTrue(told[0], "the device was not told to drop its disks");
        assertTrue(platform.emulatedClassUnplugged(0x01), "the platform remembers the unplug for later device models");
        assertTrue(String.join("\n", ctx.logs).contains("00:01.1 stays on the bus"), ctx.logs.toString());
        platform.destroy();
    }

    @Test
    void hammeringThePortsIsHarmlessAndTheLogStaysShort() {
        boot("1");
        int before = ctx.logs.size();
        for (int i = 0; i < 10_000; i++) {
            env.ioWrite(0x10, 2, i);
            env.ioWrite(0x10 + (i & 15), 1 << (i % 3), i * 7919);
            env.ioRead(0x10 + (i & 15), 1 << (i % 3));
        }
        for (int i = 0; i < 5_000; i++) {
            env.ioWrite(0x12, 1, '\n');
        }
        assertEquals(0x49d2, env.ioRead(0x10, 2), "still answers the magic");
        assertTrue(ctx.logs.size() - before < UnplugPorts.EVENT_LOG_LIMIT + UnplugPorts.LINE_LIMIT + 10,
                "log lines: " + (ctx.logs.size() - before));
        assertTrue(ctx.logs.stream().anyMatch(l -> l.contains("further events are not logged")));
        assertEquals(0xffff, env.ioRead(0x14, 2), "undefined registers float high");
        platform.destroy();
    }

    @Test
    void withXenPlatformPciZeroTheDeviceAndItsPortsAreAbsent() {
        boot("0");
        assertNull(platform.xenAbi());
        assertEquals(-1, cfg(3, 0, 4));
        assertEquals(0xffff, env.ioRead(0x10, 2));
        platform.destroy();
    }

    @Test
    void stateRecordsOfAnotherVersionAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new XenPlatformState(2, 0, 0, -1, -1));
        assertNotNull(XenPlatformState.powerOn());
    }
}
