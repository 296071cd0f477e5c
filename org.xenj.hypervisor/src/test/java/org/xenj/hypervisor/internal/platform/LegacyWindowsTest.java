package org.xenj.hypervisor.internal.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.internal.builder.E820MapAccess;
import org.xenj.hypervisor.internal.exec.CpuEnvironment;
import org.xenj.hypervisor.spi.MmioHandler;

/** The VGA window is MMIO a display device can claim; the ROM windows can be claimed before the domain runs. */
class LegacyWindowsTest {

    /** Answers its offset, remembers the last write. */
    static final class Window implements MmioHandler {
        long lastOffset = -1;
        long lastValue;

        @Override
        public long mmioRead(long offset, int size) {
            return offset;
        }

        @Override
        public void mmioWrite(long offset, int size, long value) {
            lastOffset = offset;
            lastValue = value;
        }
    }

    private static FakeGuestContext pc() {
        return new FakeGuestContext(DomainConfig.builder("v").type(DomainType.HVM).memoryMiB(16).build(), true);
    }

    @Test
    void theVgaWindowIsMmioWhileRamBelowAndAboveStays() {
        FakeGuestContext ctx = pc();
        HvmPlatformImpl platform = new HvmPlatformImpl(ctx);
        assertTrue(ctx.memory.isRam(0x9f000, 0x1000));
        assertFalse(ctx.memory.isRam(0xa0000, 1));
        assertFalse(ctx.memory.isRam(0xbffff, 1));
        assertTrue(ctx.memory.isRam(0xc0000, 0x40000));
        assertEquals(16 << 20, ctx.memory.size(), "the domain still has all the RAM it asked for");
        Window vga = new Window();
        platform.mapMmio(0xa0000, 0x20000, vga);
        CpuEnvironment env = platform.environment(0);
        env.mmioWrite(0xb8000, 2, 0x0741);
        assertEquals(0x18000, vga.lastOffset, "the device sees the offset into its window");
        assertEquals(0x18002, env.mmioRead(0xb8002, 4));
        List<long[]> e820 = E820MapAccess.ram(ctx.memory);
        assertEquals(0x9fc00, e820.get(0)[1], "low RAM up to the EBDA");
        assertEquals(0x100000, e820.get(1)[0]);
        assertEquals((16 << 20) + 0x20000, e820.get(1)[0] + e820.get(1)[1], "the window's frames moved to the top");
        platform.destroy();
    }

    @Test
    void romWindowsCanBeClaimedBeforeTheDomainRunsButRamElsewhereCannot() {
        FakeGuestContext ctx = pc();
        HvmPlatformImpl platform = new HvmPlatformImpl(ctx);
        Window rom = new Window();
        platform.mapMmio(0xc0000, 0x8000, rom); // a VGA BIOS
        assertFalse(ctx.memory.isRam(0xc0000, 1));
        assertEquals(0x1234, platform.environment(0).mmioRead(0xc1234, 2));
        assertTrue(ctx.memory.isRam(0xc8000, 0x1000), "RAM next to the ROM stays");
        assertThrows(IllegalStateException.class, () -> platform.mapMmio(0x100000, 0x1000, new Window()), "RAM above 1 MiB");
        platform.firmwarePciSetup(16 << 20);
        assertThrows(IllegalStateException.class, () -> platform.mapMmio(0xd0000, 0x1000, new Window()),
                "once the domain is built, shadow RAM stays RAM");
        assertTrue(ctx.memory.isRam(0xd0000, 0x1000));
        platform.destroy();
    }
}
