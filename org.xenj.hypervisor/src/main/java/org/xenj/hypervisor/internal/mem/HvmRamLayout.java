package org.xenj.hypervisor.internal.mem;

/**
 * Where an HVM domain's RAM goes: as on a PC, the legacy VGA window 0xA0000-0xBFFFF is not RAM, so
 * a display device can claim it as MMIO; everything below it and from 0xC0000 up is RAM (the ROM
 * windows 0xC0000-0xFFFFF start as RAM: shadow RAM, as the i440FX's PAM registers make it). The
 * frames the window would have taken are added at the top, so the domain gets all it asked for.
 */
public final class HvmRamLayout {

    public static final long VGA_WINDOW = 0xa0000L;
    public static final long VGA_WINDOW_END = 0xc0000L;
    public static final long ROM_WINDOWS = 0xc0000L;
    public static final long ROM_WINDOWS_END = 0x100000L;
    private static final int VGA_FIRST_FRAME = (int) (VGA_WINDOW >>> 12);
    private static final int VGA_END_FRAME = (int) (VGA_WINDOW_END >>> 12);

    private HvmRamLayout() {
    }

    /** Populates {@code frames} frames of RAM around the VGA window. */
    public static void populate(DomainMemory memory, int frames) {
        if (frames <= VGA_FIRST_FRAME) {
            memory.populate(0, frames);
            return;
        }
        memory.populate(0, VGA_FIRST_FRAME);
        memory.populate(VGA_END_FRAME, frames - VGA_FIRST_FRAME);
    }
}
