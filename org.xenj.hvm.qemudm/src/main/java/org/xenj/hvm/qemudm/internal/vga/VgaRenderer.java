package org.xenj.hvm.qemudm.internal.vga;

import org.xenj.dom0.vnc.api.DisplaySource;
import org.xenj.dom0.vnc.api.Framebuffer;

/**
 * Turns the VGA's current mode into RGB pixels: VBE linear modes (8 bpp through the DAC, 15, 16, 24,
 * 32 bpp), 256-colour modes (13h and unchained "mode X"), planar 16-colour modes (12h, 0Dh...) and
 * text modes (font from plane 2, 8 or 9 dots wide, cursor). Only what changed is redrawn: pages of
 * video memory written since the last refresh (graphics: the scan lines over them; text: the cells
 * whose character, attribute or glyph changed) or everything after a register write that may
 * change colours or geometry. An idle screen costs one scan of the 4096-entry page map. CGA-style
 * 4-colour modes (04h/05h) and split screens (line compare) are not drawn specially.
 * One renderer per display thread; it reads registers without locking (a torn frame is redrawn
 * at the next change).
 */
public final class VgaRenderer implements DisplaySource {

    private static final int MAX_TEXT_COLS = 256, MAX_TEXT_ROWS = 128;

    private final VgaRegisters regs;
    private final VgaMemory mem;
    private final byte[] pages = new byte[VgaMemory.SIZE >>> VgaMemory.PAGE_SHIFT];
    private final int[] palette = new int[256];
    private int lastGeneration = Integer.MIN_VALUE;
    private Framebuffer lastTarget;
    /** Text mode: per cell, what is drawn (char | attr << 8 | cursor << 16), -1 = unknown. */
    private int[] cells = new int[0];
    /** Text mode: the two fonts' glyph bytes as last drawn. */
    private final byte[] glyphs = new byte[2 * 256 * 32];

    VgaRenderer(VgaRegisters regs, VgaMemory mem) {
        this.regs = regs;
        this.mem = mem;
    }

    @Override
    public void refresh(Framebuffer fb, boolean full) {
        boolean anyPage = false;
        byte[] dirty = mem.dirty;
        for (int i = 0; i < dirty.length; i++) {
            byte d = dirty[i];
            pages[i] = d;
            if (d != 0) {
                dirty[i] = 0;
                anyPage = true;
            }
        }
        int gen = regs.generation;
        boolean regsChanged = gen != lastGeneration;
        lastGeneration = gen;
        if (fb != lastTarget) {
            lastTarget = fb;
            full = true;
        }
        if (!anyPage && !regsChanged && !full) {
            return; // idle screen
        }
        boolean redrawAll = full || regsChanged && (regs.vbeEnabled() || (regs.gc[6] & 1) != 0);
        if (full || regsChanged) {
            loadPalette();
        }
        if (regs.vbeEnabled()) {
            drawVbe(fb, redrawAll);
        } else if ((regs.acIndex & 0x20) == 0 || (regs.seq[1] & 0x20) != 0) {
            drawBlank(fb, full || regsChanged);
        } else if ((regs.gc[6] & 1) == 0) {
            drawText(fb, redrawAll);
        } else if ((regs.gc[5] & 0x40) != 0) {
            draw256(fb, redrawAll);
        } else {
            drawPlanar(fb, redrawAll);
        }
    }

    private void loadPalette() {
        boolean eightBit = regs.vbeEnabled() && (regs.vbe[VgaRegisters.VBE_ENABLE] & VgaRegisters.VBE_8BIT_DAC) != 0;
        byte[] dac = regs.dac;
        for (int i = 0; i < 256; i++) {
            int r = dac[3 * i] & 0xff, g = dac[3 * i + 1] & 0xff, b = dac[3 * i + 2] & 0xff;
            if (!eightBit) {
                r = (r & 0x3f) << 2 | (r & 0x3f) >> 4;
                g = (g & 0x3f) << 2 | (g & 0x3f) >> 4;
                b = (b & 0x3f) << 2 | (b & 0x3f) >> 4;
            }
            palette[i] = r << 16 | g << 8 | b;
        }
    }

    /** A 4-bit attribute colour through the attribute controller's palette to the DAC. */
    private int attributeColour(int index) {
        int[] ac = regs.ac;
        int v = ac[index & 0x0f] & 0x3f;
        if ((ac[0x10] & 0x80) != 0) {
            v = (v & 0x0f) | (ac[0x14] & 0x03) << 4;
        }
        v |= (ac[0x14] & 0x0c) << 4;
        return palette[v & regs.pelMask];
    }

    private boolean resize(Framebuffer fb, int w, int h) {
        int before = fb.width(), beforeH = fb.height();
        fb.resize(w, h);
        return fb.width() != before || fb.height() != beforeH || fb.resized();
    }

    private boolean rangeDirty(long start, long length) {
        if (length <= 0) {
            return false;
        }
        int first = (int) (Math.max(0, start) >>> VgaMemory.PAGE_SHIFT);
        int last = (int) (Math.min(VgaMemory.SIZE - 1L, start + length - 1) >>> VgaMemory.PAGE_SHIFT);
        for (int p = first; p <= last; p++) {
            if (pages[p] != 0) {
                return true;
            }
        }
        return false;
    }

    private void drawBlank(Framebuffer fb, boolean all) {
        boolean resized = resize(fb, 640, 480);
        if (all || resized) {
            java.util.Arrays.fill(fb.pixels(), 0);
            fb.damage(0, 0, fb.width(), fb.height());
        }
    }

    private void drawVbe(Framebuffer fb, boolean all) {
        int[] vbe = regs.vbe;
        int w = vbe[VgaRegisters.VBE_XRES], h = vbe[VgaRegisters.VBE_YRES], bpp = vbe[VgaRegisters.VBE_BPP];
        all |= resize(fb, w, h);
        w = fb.width();
        h = fb.height();
        int line = regs.vbeLineBytes, start = regs.vbeStart;
        int bytes = VgaRegisters.bytesPerPixel(bpp);
        int[] px = fb.pixels();
        byte[] v = mem.vram;
        for (int y = 0; y < h; y++) {
            long row = start + (long) y * line;
            if (row + (long) w * bytes > VgaMemory.SIZE) {
                break; // a mode changing under us: the rest is drawn at the next change
            }
            if (!all && !rangeDirty(row, (long) w * bytes)) {
                continue;
            }
            int o = (int) row, p = y * w;
            switch (bpp) {
                case 32 -> {
                    for (int x = 0; x < w; x++, o += 4) {
                        px[p + x] = (v[o + 2] & 0xff) << 16 | (v[o + 1] & 0xff) << 8 | (v[o] & 0xff);
                    }
                }
                case 24 -> {
                    for (int x = 0; x < w; x++, o += 3) {
                        px[p + x] = (v[o + 2] & 0xff) << 16 | (v[o + 1] & 0xff) << 8 | (v[o] & 0xff);
                    }
                }
                case 16 -> {
                    for (int x = 0; x < w; x++, o += 2) {
                        int c = (v[o] & 0xff) | (v[o + 1] & 0xff) << 8;
                        px[p + x] = expand5(c >> 11) << 16 | expand6(c >> 5 & 0x3f) << 8 | expand5(c & 0x1f);
                    }
                }
                case 15 -> {
                    for (int x = 0; x < w; x++, o += 2) {
                        int c = (v[o] & 0xff) | (v[o + 1] & 0xff) << 8;
                        px[p + x] = expand5(c >> 10 & 0x1f) << 16 | expand5(c >> 5 & 0x1f) << 8 | expand5(c & 0x1f);
                    }
                }
                default -> {
                    for (int x = 0; x < w; x++, o++) {
                        px[p + x] = palette[v[o] & regs.pelMask];
                    }
                }
            }
            fb.damage(0, y, w, 1);
        }
    }

    private static int expand5(int c) {
        return c << 3 | c >> 2;
    }

    private static int expand6(int c) {
        return c << 2 | c >> 4;
    }

    private int displayLines() {
        int[] c = regs.crtc;
        return (c[0x12] | (c[7] & 0x02) << 7 | (c[7] & 0x40) << 3) + 1;
    }

    private int startAddress() {
        return regs.crtc[0x0c] << 8 | regs.crtc[0x0d];
    }

    private void draw256(Framebuffer fb, boolean all) {
        int[] c = regs.crtc;
        int scan = ((c[9] & 0x1f) + 1) * ((c[9] & 0x80) != 0 ? 2 : 1);
        int w = (c[1] + 1) * 4;
        int h = Math.max(1, displayLines() / scan);
        all |= resize(fb, w, h);
        w = fb.width();
        h = fb.height();
        int lineOffset = c[0x13] << 3;
        int base = startAddress() << 2;
        int[] px = fb.pixels();
        byte[] v = mem.vram;
        int mask = VgaMemory.SIZE - 1;
        for (int y = 0; y < h; y++) {
            int row = base + y * lineOffset;
            if (!all && !rangeDirty(row, w)) {
                continue;
            }
            for (int x = 0; x < w; x++) {
                px[y * w + x] = palette[v[(row + x) & mask] & regs.pelMask];
            }
            fb.damage(0, y, w, 1);
        }
    }

    private void drawPlanar(Framebuffer fb, boolean all) {
        int[] c = regs.crtc;
        int scan = ((c[9] & 0x1f) + 1) * ((c[9] & 0x80) != 0 ? 2 : 1);
        int cols = c[1] + 1;
        int w = cols * 8;
        int h = Math.max(1, displayLines() / scan);
        all |= resize(fb, w, h);
        w = fb.width();
        h = fb.height();
        cols = Math.min(cols, (w + 7) / 8);
        int lineOffset = c[0x13] << 3;
        int base = startAddress() << 2;
        int planeEnable = regs.ac[0x12] & 0x0f;
        int[] colours = new int[16];
        for (int i = 0; i < 16; i++) {
            colours[i] = attributeColour(i);
        }
        int[] px = fb.pixels();
        byte[] v = mem.vram;
        int mask = VgaMemory.SIZE - 1;
        for (int y = 0; y < h; y++) {
            int row = base + y * lineOffset;
            if (!all && !rangeDirty(row, cols * 4L)) {
                continue;
            }
            for (int col = 0; col < cols; col++) {
                int o = row + col * 4;
                int p0 = v[o & mask] & 0xff, p1 = v[(o + 1) & mask] & 0xff, p2 = v[(o + 2) & mask] & 0xff,
                        p3 = v[(o + 3) & mask] & 0xff;
                for (int bit = 0; bit < 8; bit++) {
                    int x = col * 8 + bit;
                    if (x >= w) {
                        break;
                    }
                    int s = 7 - bit;
                    int idx = (p0 >> s & 1) | (p1 >> s & 1) << 1 | (p2 >> s & 1) << 2 | (p3 >> s & 1) << 3;
                    px[y * w + x] = colours[idx & planeEnable];
                }
            }
            fb.damage(0, y, w, 1);
        }
    }

    private void drawText(Framebuffer fb, boolean all) {
        int[] c = regs.crtc;
        int cols = Math.min(MAX_TEXT_COLS, c[1] + 1);
        int charH = (c[9] & 0x1f) + 1;
        int lines = displayLines() / ((c[9] & 0x80) != 0 ? 2 : 1);
        int rows = Math.max(1, Math.min(MAX_TEXT_ROWS, lines / charH));
        int cw = (regs.seq[1] & 1) != 0 ? 8 : 9;
        all |= resize(fb, cols * cw, rows * charH);
        cols = Math.min(cols, fb.width() / cw);
        rows = Math.min(rows, fb.height() / charH);
        if (cols <= 0 || rows <= 0) {
            return;
        }
        if (cells.length != cols * rows) {
            cells = new int[cols * rows];
            all = true;
        }
        int seq3 = regs.seq[3];
        int mapA = fontOffset((seq3 >> 2 & 3) | (seq3 >> 5 & 1) << 2);
        int mapB = fontOffset((seq3 & 3) | (seq3 >> 4 & 1) << 2);
        byte[] v = mem.vram;
        int mask = VgaMemory.SIZE - 1;
        // a glyph change (font loaded into plane 2) redraws every cell
        boolean fontChanged = false;
        for (int m = 0; m < 2; m++) {
            int font = m == 0 ? mapA : mapB;
            for (int i = 0; i < 256 * 32; i++) {
                byte g = v[(((font + i) << 2) + 2) & mask];
                if (glyphs[m * 8192 + i] != g) {
                    glyphs[m * 8192 + i] = g;
                    fontChanged = true;
                }
            }
        }
        long look = textLook();
        if (all || fontChanged || look != lastTextLook) {
            java.util.Arrays.fill(cells, -1);
        }
        lastTextLook = look;
        int start = startAddress();
        int pitch = c[0x13] * 2;
        int cursor = (c[0x0e] << 8 | c[0x0f]) - start;
        boolean cursorOn = (c[0x0a] & 0x20) == 0;
        int cursorTop = c[0x0a] & 0x1f, cursorBottom = Math.min(charH - 1, c[0x0b] & 0x1f);
        boolean blinkBit = (regs.ac[0x10] & 0x08) != 0;
        boolean lineGraphics = (regs.ac[0x10] & 0x04) != 0;
        int[] px = fb.pixels();
        int w = fb.width();
        for (int row = 0; row < rows; row++) {
            for (int col = 0; col < cols; col++) {
                int cell = start + row * pitch + col;
                int o = (cell << 2) & mask;
                int ch = v[o] & 0xff, attr = v[(o + 1) & mask] & 0xff;
                boolean cursorHere = cursorOn && row * pitch + col == cursor;
                int key = ch | attr << 8 | (cursorHere ? 1 << 16 : 0);
                int at = row * cols + col;
                if (cells[at] == key) {
                    continue;
                }
                cells[at] = key;
                int fg = attributeColour(attr & 0x0f);
                int bg = attributeColour(blinkBit ? attr >> 4 & 7 : attr >> 4);
                int glyphBase = ((attr & 0x08) != 0 ? 0 : 8192) + ch * 32;
                int x0 = col * cw, y0 = row * charH;
                for (int gy = 0; gy < charH; gy++) {
                    int bits = glyphs[glyphBase + Math.min(gy, 31)] & 0xff;
                    if (cursorHere && gy >= cursorTop && gy <= cursorBottom) {
                        bits = 0xff | 0x100;
                    } else if (cw == 9 && lineGraphics && ch >= 0xc0 && ch <= 0xdf && (bits & 1) != 0) {
                        bits |= 0x100; // line-drawing characters continue into the 9th column
                    }
                    int p = (y0 + gy) * w + x0;
                    for (int gx = 0; gx < 8; gx++) {
                        px[p + gx] = (bits >> (7 - gx) & 1) != 0 ? fg : bg;
                    }
                    if (cw == 9) {
                        px[p + 8] = (bits & 0x100) != 0 ? fg : bg;
                    }
                }
                fb.damage(x0, y0, cw, charH);
            }
        }
    }

    private long lastTextLook;

    /**
     * Everything but the cursor and the cells that decides how text looks (colours, geometry, start
     * address): a cursor move or a character written redraws only its cells.
     */
    private long textLook() {
        long h = java.util.Arrays.hashCode(regs.ac);
        h = h * 31 + java.util.Arrays.hashCode(regs.dac);
        h = h * 31 + java.util.Arrays.hashCode(regs.seq);
        h = h * 31 + regs.pelMask;
        int[] c = regs.crtc;
        for (int i = 0; i < c.length; i++) {
            if (i != 0x0a && i != 0x0b && i != 0x0e && i != 0x0f) {
                h = h * 31 + c[i];
            }
        }
        return h;
    }

    /** Where character map {@code n} (0-7) starts in plane 2. */
    private static int fontOffset(int n) {
        return (n & 3) * 0x4000 + (n >> 2) * 0x2000;
    }
}
