package org.xenj.hypervisor.internal.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.internal.builder.HvmGuestBuilder;
import org.xenj.hypervisor.internal.platform.PlatformState;
import org.xenj.hypervisor.internal.testsupport.TestCores;
import org.xenj.hypervisor.spi.DeviceModel;
import org.xenj.hypervisor.spi.DeviceModelInstance;
import org.xenj.hypervisor.spi.HvmPlatform;

/**
 * A save takes the device models' records and then the platform's (controllers and line levels);
 * host threads may change a device in between (console input reaching the UART, a NIC's receive).
 * After {@code xen:restore} every line a device model drives must be at the level its restored
 * device drives, not at the level the controllers' record caught a moment later: otherwise a line
 * left high with its device idle never makes another edge, and the guest's driver waits forever
 * for an interrupt (what a restored domain whose console is silent looks like). The device here
 * changes its line right after its record is taken, both ways; the restored IOAPIC and PIC must
 * follow the device's record. Fails with the restore order before it (controllers' record last).
 */
class RestoreLineLevelsTest {

    static final int GSI = 5;

    /** {@code line-dm}: one line (ISA IRQ 5); its record is the level; a save can be told to flip it just after the record. */
    static final class LineDeviceModel implements DeviceModel {
        /** 1: raise the line right after the next record is taken; -1: lower it; 0: nothing. */
        final AtomicInteger flipAfterRecord = new AtomicInteger();
        /** The level a domain's new device starts with. */
        volatile boolean startHigh;

        @Override
        public String name() {
            return "line-dm";
        }

        @Override
        public boolean supports(DomainConfig config) {
            return config.type() == DomainType.HVM;
        }

        @Override
        public DeviceModelInstance attach(HvmPlatform platform) {
            return attach(platform, new byte[] {(byte) (startHigh ? 1 : 0)});
        }

        @Override
        public DeviceModelInstance attach(HvmPlatform platform, byte[] state) {
            boolean[] level = {state[0] == 1};
            platform.setIrq(GSI, level[0]); // as the UART and the 8042 do: driven both ways
            return new DeviceModelInstance() {
                @Override
                public void reset() {
                }

                @Override
                public void detach() {
                    platform.setIrq(GSI, false);
                }

                @Override
                public byte[] saveState() {
                    byte[] record = {(byte) (level[0] ? 1 : 0)};
                    int flip = flipAfterRecord.getAndSet(0);
                    if (flip != 0) {
                        level[0] = flip > 0;
                        platform.setIrq(GSI, level[0]);
                    }
                    return record;
                }
            };
        }
    }

    @TempDir
    Path dir;
    private TestCores.Fixture fx;
    private final LineDeviceModel line = new LineDeviceModel();

    @BeforeEach
    void start() {
        fx = TestCores.start(1);
        fx.plugins().addBuilder(new HvmGuestBuilder());
        fx.plugins().addDeviceModel(new CounterDeviceModel());
        fx.plugins().addDeviceModel(line);
    }

    @AfterEach
    void stop() {
        fx.close();
    }

    private PlatformState platformOf(Domain d) {
        return fx.core().domainOrNull(d.id()).guest.saveMachine().platform();
    }

    private static boolean ioApicLine(PlatformState p) {
        return (p.ioApic().pinLevels() & 1 << GSI) != 0;
    }

    private static boolean picLine(PlatformState p) {
        return (p.pic().master().lineLevels() & 1 << GSI) != 0;
    }

    @Test
    void aLineRaisedAfterTheDeviceRecordIsLowAfterTheRestore() throws Exception {
        saveFlipRestore(1);
    }

    @Test
    void aLineLoweredAfterTheDeviceRecordIsHighAfterTheRestore() throws Exception {
        saveFlipRestore(-1);
    }

    /**
     * flip 1: the device's record says low, the line is high when the controllers are saved (input came in between);
     * flip -1: the device's record says high (a byte waiting), the line is low by then.
     */
    private void saveFlipRestore(int flip) throws Exception {
        Path elf = CounterDeviceModel.counterElf(dir, "lines");
        line.startHigh = flip < 0;
        Domain d = fx.core().create(DomainConfig.builder("lines").type(DomainType.HVM).memoryMiB(16)
                .raw(Map.of("firmware_override", elf.toString(), "xen_platform_pci", "0")).build());
        fx.core().pause(d.id());
        assertEquals(flip < 0, ioApicLine(platformOf(d)), "the device drives its line from the start");
        line.flipAfterRecord.set(flip);
        Path image = dir.resolve("lines.save");
        fx.core().save(d.id(), image, true);
        assertEquals(flip > 0, ioApicLine(platformOf(d)), "the original's line moved after the device's record");
        fx.core().destroy(d.id());
        assertTrue(TestCores.await(() -> fx.core().lookup(d.id()).isEmpty(), 5_000));
        Domain r = fx.core().restore(image, Map.of(), true);
        PlatformState p = platformOf(r);
        boolean device = flip < 0;
        assertEquals(device, ioApicLine(p), "IOAPIC pin " + GSI + " as the restored device drives it");
        assertEquals(device, picLine(p), "PIC IR" + GSI + " as the restored device drives it");
        fx.core().destroy(r.id());
    }
}
