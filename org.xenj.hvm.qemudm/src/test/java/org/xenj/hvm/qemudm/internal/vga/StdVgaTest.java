package org.xenj.hvm.qemudm.internal.vga;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.xenj.dom0.vnc.api.Framebuffer;
import org.xenj.hypervisor.spi.IoHandler;
import org.xenj.hypervisor.spi.MmioHandler;
import org.xenj.hypervisor.spi.pci.PciBar;

/** The stdvga driven as Linux's bochs-drm, a VGA BIOS and DOS programs drive it. */
class StdVgaTest {

    final StdVga vga = new StdVga(null);
    final IoHandler ports = vga.vgaPorts();
    final IoHandler vbe = vga.vbePorts();
    final MmioHandler window = vga.legacyWindow();
    final MmioHandler lfb = vga.bars().get(0).mmio();
    final MmioHandler mmio = vga.bars().get(2).mmio();
    final VgaRenderer renderer = vga.renderer();
    final Framebuffer fb = new Framebuffer(1, 1);

    void out(int port, int v) {
        ports.ioWrite(port - StdVga.VGA_PORTS, 1, v);
    }

    int in(int port) {
        return ports.ioRead(port - StdVga.VGA_PORTS, 1);
    }

    void dispi(int index, int value) {
        vbe.ioWrite(0, 2, index);
        vbe.ioWrite(1, 2, value);
    }

    int dispi(int index) {
        vbe.ioWrite(0, 2, index);
        return vbe.ioRead(1, 2);
    }

    @Test
    void pciIdentityAndBarsAreQemusStdvga() {
        assertEquals(0x1234, vga.identity().vendor());
        assertEquals(0x1111, vga.identity().device());
        assertEquals(0x030000, vga.identity().classCode());
        PciBar bar0 = vga.bars().get(0);
        assertEquals(16 << 20, bar0.size());
        assertTrue(bar0.prefetchable());
        assertNull(vga.bars().get(1));
        assertEquals(0x1000, vga.bars().get(2).size());
        assertFalse(vga.bars().get(2).prefetchable());
    }

    @Test
    void theVgaBiosIsTheExpansionRomWhenDebianShipsIt() throws Exception {
        assertNull(vga.expansionRom(), "no image, no ROM BAR");
        java.util.List<String> log = new java.util.ArrayList<>();
        assertNull(VgaConfig.loadVgaBios(java.nio.file.Path.of("/nonexistent/vgabios.bin"), log::add));
        assertTrue(log.get(0).contains("seabios"), "says which package: " + log);
        java.nio.file.Path bios = VgaConfig.DEFAULT_VGABIOS;
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isRegularFile(bios), bios + " absent (apt-get install seabios)");
        byte[] image = VgaConfig.loadVgaBios(bios, log::add);
        PciBar rom = new StdVga(image).expansionRom();
        assertTrue(rom.size() >= image.length && Long.bitCount(rom.size()) == 1);
        assertEquals(0xaa55, rom.mmio().mmioRead(0, 2), "option ROM signature");
        assertEquals(image[image.length - 1] & 0xff, rom.mmio().mmioRead(image.length - 1, 1));
    }

    @Test
    void bochsDrmModeSetThroughMmioBar() {
        // what bochs-drm does: ID check, memory size, then a 32 bpp mode with the LFB
        assertEquals(0xb0c5, mmio.mmioRead(0x500, 2));
        assertEquals(256, mmio.mmioRead(0x500 + 2 * 10, 2));
        mmio.mmioWrite(0x400, 1, 0x20); // 0x3c0: palette address source on (unblank)
        mmio.mmioWrite(0x500 + 2 * 4, 2, 0);
        mmio.mmioWrite(0x500 + 2 * 3, 2, 32);
        mmio.mmioWrite(0x500 + 2 * 1, 2, 800);
        mmio.mmioWrite(0x500 + 2 * 2, 2, 600);
        mmio.mmioWrite(0x500 + 2 * 5, 2, 0);
        mmio.mmioWrite(0x500 + 2 * 6, 2, 800);
        mmio.mmioWrite(0x500 + 2 * 7, 2, 600);
        mmio.mmioWrite(0x500 + 2 * 8, 2, 0);
        mmio.mmioWrite(0x500 + 2 * 9, 2, 0);
        mmio.mmioWrite(0x500 + 2 * 4, 2, 0x41);
        assertEquals(0x41, mmio.mmioRead(0x500 + 2 * 4, 2));
        assertEquals(0, mmio.mmioRead(0x600, 4), "no QEMU extended registers");
        lfb.mmioWrite((10L * 800 + 20) * 4, 4, 0x00123456L); // XRGB8888 little endian
        renderer.refresh(fb, false);
        assertEquals(800, fb.width());
        assertEquals(600, fb.height());
        assertEquals(0x123456, fb.pixels()[10 * 800 + 20]);
        assertEquals(0, fb.pixels()[10 * 800 + 21]);
    }

    @Test
    void idleScreenCostsNoRedrawAndOneWriteDamagesOneRow() {
        setVbe(640, 480, 32);
        renderer.refresh(fb, false);
        fb.takeDamage();
        renderer.refresh(fb, false);
        assertFalse(fb.hasDamage(), "nothing written, nothing redrawn");
        lfb.mmioWrite((100L * 640 + 5) * 4, 4, 0xffffff);
        renderer.refresh(fb, false);
        List<int[]> d = fb.takeDamage();
        assertEquals(1, d.size());
        assertArrayEquals(new int[] { 0, 96, 640, 16 }, d.get(0), "the 16-pixel tile row of y=100");
        assertEquals(0xffffff, fb.pixels()[100 * 640 + 5]);
    }

    /**
     * The record ends at the last non-zero byte of video memory, found from the highest byte ever
     * written rather than by scanning 16 MiB: a write far up (LFB, bank window, legacy window) is in
     * it, and restoring a shorter record clears what was written above its end.
     */
    @Test
    void theRecordEndsAtTheLastWrittenNonZeroByteAndARestoreClearsAboveIt() {
        StdVga other = new StdVga(null);
        assertEquals(0, vga.saveState().vram().length, "power-on memory is all zero");
        StdVgaState empty = vga.saveState();
        setVbe(1024, 768, 32);
        lfb.mmioWrite(12L << 20, 4, 0x11223344); // far up, through the linear framebuffer
        dispi(5, 200); // the 64 KiB bank 200 of the legacy window: 12.5 MiB
        window.mmioWrite(0x20, 1, 0x5a);
        StdVgaState high = vga.saveState();
        assertEquals((200 << 16) + 0x21, high.vram().length, "up to the bank window's byte");
        assertEquals(0x44, high.vram()[12 << 20] & 0xff);
        lfb.mmioWrite((200L << 16) + 0x20, 1, 0); // the last byte written back to zero: the record shrinks
        assertEquals((12 << 20) + 4, vga.saveState().vram().length);
        other.restoreState(high);
        assertEquals(high, other.saveState(), "a restored record reads back the same");
        vga.restoreState(empty);
        assertEquals(0, vga.saveState().vram().length, "what was written above the record's end is cleared");
        assertEquals(0, lfb.mmioRead(12L << 20, 4));
        other.restoreState(empty);
        assertEquals(empty, other.saveState());
    }

    void setVbe(int x, int y, int bpp) {
        dispi(4, 0);
        dispi(1, x);
        dispi(2, y);
        dispi(3, bpp);
        dispi(4, 0x41);
    }

    @Test
    void panningAndDepthsAndTheBankWindow() {
        setVbe(320, 200, 16);
        assertEquals(1, dispi(4) & 1);
        dispi(6, 640); // virtual width
        assertEquals(640, dispi(6));
        assertEquals((16 << 20) / 1280, dispi(7), "virtual height follows video memory");
        lfb.mmioWrite(1280L * 3 + 2 * 7, 2, 0xf800); // red at (7, 3) of the virtual screen
        dispi(9, 3); // y offset 3: that pixel is now at (7, 0)
        renderer.refresh(fb, false);
        assertEquals(0xff0000, fb.pixels()[7]);
        // the 64 KiB bank at 0xA0000
        dispi(5, 2);
        window.mmioWrite(0x10, 1, 0xab);
        assertEquals(0xab, lfb.mmioRead(2 * 65536 + 0x10, 1));
        // 8 bpp through the DAC
        setVbe(64, 64, 8);
        out(0x3c8, 9);
        out(0x3c9, 63);
        out(0x3c9, 0);
        out(0x3c9, 63);
        lfb.mmioWrite(0, 1, 9);
        renderer.refresh(fb, false);
        assertEquals(0xff00ff, fb.pixels()[0]);
    }

    @Test
    void nonsenseModesAreRefusedOrClipped() {
        dispi(4, 0);
        dispi(1, 0xffff);
        dispi(2, 0xffff);
        dispi(3, 32);
        dispi(4, 0x41);
        assertEquals(0, dispi(4) & 1, "a mode larger than video memory stays off");
        dispi(1, 1024);
        dispi(2, 768);
        dispi(3, 7);
        dispi(4, 0x41);
        assertEquals(0, dispi(4) & 1, "7 bpp is no depth");
        setVbe(1024, 768, 32);
        dispi(9, 0xffff); // y offset past the end of video memory
        renderer.refresh(fb, false);
        assertEquals(0, dispi(9), "offsets that would show past video memory are reset");
        lfb.mmioWrite((16 << 20) - 2, 4, -1L); // straddles the end of the BAR: dropped
        assertEquals(0xffff_ffffL, lfb.mmioRead((16 << 20) - 2, 4) & 0xffff_ffffL, "reads past the end are all ones");
        dispi(5, 0xffff);
        assertEquals(255, dispi(5), "bank masked to video memory");
    }

    /** Mode 3 text: a glyph loaded into plane 2 as a BIOS does, a character, its colours and the cursor. */
    @Test
    void textModeDrawsGlyphsFromPlaneTwoAndTheCursor() {
        // font load: sequential planar access to plane 2 at 0xA0000
        out(0x3c4, 2);
        out(0x3c5, 4);
        out(0x3c4, 4);
        out(0x3c5, 7);
        out(0x3ce, 4);
        out(0x3cf, 2);
        out(0x3ce, 5);
        out(0x3cf, 0);
        out(0x3ce, 6);
        out(0x3cf, 0x04);
        for (int row = 0; row < 16; row++) {
            window.mmioWrite('A' * 32 + row, 1, row == 0 ? 0x81 : 0x00); // 'A': top row, leftmost and rightmost dot
        }
        // back to text: odd/even, planes 0 and 1, B8000
        out(0x3c4, 2);
        out(0x3c5, 3);
        out(0x3c4, 4);
        out(0x3c5, 2);
        out(0x3ce, 4);
        out(0x3cf, 0);
        out(0x3ce, 5);
        out(0x3cf, 0x10);
        out(0x3ce, 6);
        out(0x3cf, 0x0e);
        window.mmioWrite(0x18000, 2, 0x1f00 | 'A'); // white on blue at row 0 col 0
        window.mmioWrite(0x18002, 2, 0x0700); // an empty grey-on-black cell at col 1
        out(0x3d4, 0x0e);
        out(0x3d5, 0);
        out(0x3d4, 0x0f);
        out(0x3d5, 1); // cursor at column 1
        renderer.refresh(fb, false);
        assertEquals(720, fb.width());
        assertEquals(400, fb.height());
        int white = 0xffffff, blue = 0x0000aa;
        assertEquals(white, fb.pixels()[0]);
        assertEquals(blue, fb.pixels()[1]);
        assertEquals(white, fb.pixels()[7]);
        assertEquals(blue, fb.pixels()[720]);
        // cursor lines 13..14 (CR0A=0x0d, CR0B=0x0e) of cell 1 in its foreground colour
        assertEquals(0xaaaaaa, fb.pixels()[13 * 720 + 9]);
        assertEquals(0xaaaaaa, fb.pixels()[14 * 720 + 17]);
        assertEquals(0, fb.pixels()[12 * 720 + 9]);
        fb.takeDamage();
        out(0x3d4, 0x0f);
        out(0x3d5, 2); // cursor moves: only cells 1 and 2 redrawn
        renderer.refresh(fb, false);
        List<int[]> d = fb.takeDamage();
        assertEquals(1, d.size());
        assertTrue(d.get(0)[2] <= 32, "a couple of tiles, not the screen: " + java.util.Arrays.toString(d.get(0)));
    }

    static final int[] MODE13_SEQ = { 0x03, 0x01, 0x0f, 0x00, 0x0e };
    static final int[] MODE13_CRTC = { 0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0xbf, 0x1f, 0x00, 0x41, 0, 0, 0, 0, 0, 0, 0x9c,
            0x0e, 0x8f, 0x28, 0x40, 0x96, 0xb9, 0xa3, 0xff };
    static final int[] MODE13_GC = { 0, 0, 0, 0, 0, 0x40, 0x05, 0x0f, 0xff };
    static final int[] MODE12_SEQ = { 0x03, 0x01, 0x0f, 0x00, 0x06 };
    static final int[] MODE12_CRTC = { 0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0x0b, 0x3e, 0x00, 0x40, 0, 0, 0, 0, 0, 0, 0xea,
            0x0c, 0xdf, 0x28, 0x00, 0xe7, 0x04, 0xe3, 0xff };
    static final int[] MODE12_GC = { 0, 0, 0, 0, 0, 0x00, 0x05, 0x0f, 0xff };

    void setMode(int misc, int[] seq, int[] crtc, int[] gc, int acMode) {
        out(0x3c2, misc);
        for (int i = 0; i < seq.length; i++) {
            out(0x3c4, i);
            out(0x3c5, seq[i]);
        }
        out(0x3d4, 0x11);
        out(0x3d5, 0); // unlock CR0-7
        for (int i = 0; i < crtc.length; i++) {
            out(0x3d4, i);
            out(0x3d5, crtc[i]);
        }
        for (int i = 0; i < gc.length; i++) {
            out(0x3ce, i);
            out(0x3cf, gc[i]);
        }
        in(0x3da);
        for (int i = 0; i < 16; i++) {
            out(0x3c0, i);
            out(0x3c0, i);
        }
        out(0x3c0, 0x10);
        out(0x3c0, acMode);
        out(0x3c0, 0x12);
        out(0x3c0, 0x0f);
        out(0x3c0, 0x20);
    }

    @Test
    void mode13hIsChainedBytesThroughTheDac() {
        setMode(0x63, MODE13_SEQ, MODE13_CRTC, MODE13_GC, 0x41);
        out(0x3c8, 200);
        out(0x3c9, 0x3f);
        out(0x3c9, 0x20);
        out(0x3c9, 0x00);
        window.mmioWrite(17 * 320 + 33, 1, 200);
        renderer.refresh(fb, false);
        assertEquals(320, fb.width());
        assertEquals(200, fb.height());
        assertEquals(0xff8200, fb.pixels()[17 * 320 + 33]);
        assertEquals(200, window.mmioRead(17 * 320 + 33, 1));
    }

    @Test
    void planarWriteModesMasksAndColourCompare() {
        setMode(0xe3, MODE12_SEQ, MODE12_CRTC, MODE12_GC, 0x01);
        // write mode 2: colour 0x0c into the leftmost two pixels via bit mask 0xc0
        out(0x3ce, 5);
        out(0x3cf, 0x02);
        out(0x3ce, 8);
        out(0x3cf, 0xc0);
        window.mmioRead(0, 1); // load latches
        window.mmioWrite(0, 1, 0x0c);
        // write mode 0 with set/reset: colour 0x09 everywhere in byte 1 under a full mask
        out(0x3ce, 5);
        out(0x3cf, 0x00);
        out(0x3ce, 8);
        out(0x3cf, 0xff);
        out(0x3ce, 0);
        out(0x3cf, 0x09);
        out(0x3ce, 1);
        out(0x3cf, 0x0f);
        window.mmioWrite(1, 1, 0);
        out(0x3ce, 1);
        out(0x3cf, 0x00);
        // write mode 3: set/reset colour 0x03 where the rotated value has bits (0xf0) under mask 0xff
        out(0x3ce, 5);
        out(0x3cf, 0x03);
        out(0x3ce, 0);
        out(0x3cf, 0x03);
        window.mmioRead(2, 1);
        window.mmioWrite(2, 1, 0xf0);
        // write mode 0, XOR function, rotate 4, planes 0-3: flip
        out(0x3ce, 5);
        out(0x3cf, 0x00);
        out(0x3ce, 3);
        out(0x3cf, 0x18 | 4); // XOR, rotate by 4
        window.mmioRead(3, 1);
        window.mmioWrite(3, 1, 0x0f); // rotated: 0xf0 → planes XOR 0xf0
        out(0x3ce, 3);
        out(0x3cf, 0);
        renderer.refresh(fb, false);
        assertEquals(640, fb.width());
        assertEquals(480, fb.height());
        int[] p = fb.pixels();
        int c = vga.regs.ac[0x0c]; // attribute palette is identity here (setMode wrote i → i)
        assertEquals(12, c);
        assertEquals(rgbOfEga(0x0c), p[0]);
        assertEquals(rgbOfEga(0x0c), p[1]);
        assertEquals(0, p[2]);
        assertEquals(rgbOfEga(0x09), p[8]);
        assertEquals(rgbOfEga(0x03), p[16]);
        assertEquals(0, p[20]);
        assertEquals(rgbOfEga(0x0f), p[24]);
        assertEquals(0, p[28]);
        // read mode 1: colour compare for 0x0c finds the two left pixels of byte 0
        out(0x3ce, 5);
        out(0x3cf, 0x08);
        out(0x3ce, 2);
        out(0x3cf, 0x0c);
        out(0x3ce, 7);
        out(0x3cf, 0x0f);
        assertEquals(0xc0, window.mmioRead(0, 1));
    }

    /** DAC entry {@code i} of the power-on palette (the EGA colours), as the renderer shows it. */
    static int rgbOfEga(int i) {
        int r = ((i >> 2) & 1) * 0x2a + ((i >> 5) & 1) * 0x15;
        int g = ((i >> 1) & 1) * 0x2a + ((i >> 4) & 1) * 0x15;
        int b = (i & 1) * 0x2a + ((i >> 3) & 1) * 0x15;
        return (r << 2 | r >> 4) << 16 | (g << 2 | g >> 4) << 8 | (b << 2 | b >> 4);
    }

    @Test
    void inputStatusTogglesRetraceAndResetsTheAttributeFlipFlop() {
        out(0x3c0, 0x11); // index
        int a = in(0x3da), b = in(0x3da);
        assertTrue((a ^ b) == 0x09, "retrace bits alternate");
        out(0x3c0, 0x30); // an index again after the reset, not data for 0x11
        assertEquals(0x30, in(0x3c0));
    }
}
