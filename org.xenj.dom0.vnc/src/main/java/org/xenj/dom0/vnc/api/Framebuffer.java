package org.xenj.dom0.vnc.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * A guest's screen as the console server keeps it: {@code width × height} pixels, row-major,
 * each {@code 0x00RRGGBB}, and the region changed since the server last looked (damage, kept in
 * 16×16 tiles). Only the server's display thread touches it: a {@link DisplaySource} writes into it
 * during {@link DisplaySource#refresh}. The source marks what it changed with {@link #damage}; a
 * {@link #resize} damages everything.
 */
@ProviderType
public final class Framebuffer {

    /** Damage granularity in pixels (both directions). */
    public static final int TILE = 16;
    /** Largest screen accepted: what a 16 MiB VGA can show at 32 bpp and more than any client needs. */
    public static final int MAX_WIDTH = 4096, MAX_HEIGHT = 4096;

    private int width;
    private int height;
    private int[] pixels;
    private int tilesX;
    private int tilesY;
    private boolean[] damaged;
    private int damagedCount;
    private boolean resized;

    public Framebuffer(int width, int height) {
        resize(width, height);
        resized = false;
    }

    public int width() {
        return width;
    }

    public int height() {
        return height;
    }

    /** The pixels, {@code y * width() + x}; the array changes on {@link #resize}. */
    public int[] pixels() {
        return pixels;
    }

    /**
     * Gives the screen a new size (clipped to 1..{@link #MAX_WIDTH} × 1..{@link #MAX_HEIGHT}); all
     * black and all damaged. Nothing happens when the size is the same.
     */
    public void resize(int w, int h) {
        w = Math.max(1, Math.min(MAX_WIDTH, w));
        h = Math.max(1, Math.min(MAX_HEIGHT, h));
        if (pixels != null && w == width && h == height) {
            return;
        }
        width = w;
        height = h;
        pixels = new int[w * h];
        tilesX = (w + TILE - 1) / TILE;
        tilesY = (h + TILE - 1) / TILE;
        damaged = new boolean[tilesX * tilesY];
        damagedCount = 0;
        resized = true;
        damage(0, 0, w, h);
    }

    /** Marks the rectangle changed (clipped to the screen; an empty or outside one is ignored). */
    public void damage(int x, int y, int w, int h) {
        int x0 = Math.max(0, x), y0 = Math.max(0, y);
        int x1 = (int) Math.min(width, (long) x + w), y1 = (int) Math.min(height, (long) y + h);
        if (x0 >= x1 || y0 >= y1) {
            return;
        }
        for (int ty = y0 / TILE; ty <= (y1 - 1) / TILE; ty++) {
            for (int tx = x0 / TILE; tx <= (x1 - 1) / TILE; tx++) {
                int i = ty * tilesX + tx;
                if (!damaged[i]) {
                    damaged[i] = true;
                    damagedCount++;
                }
            }
        }
    }

    public boolean hasDamage() {
        return damagedCount > 0;
    }

    /** Whether the size changed since {@link #takeDamage} last ran. */
    public boolean resized() {
        return resized;
    }

    /**
     * The damaged tiles as rectangles (merged along rows), clipped to the screen, and forgets
     * them and the resize. Each is {@code {x, y, w, h}}.
     */
    public java.util.List<int[]> takeDamage() {
        java.util.List<int[]> out = new java.util.ArrayList<>();
        for (int ty = 0; ty < tilesY && damagedCount > 0; ty++) {
            int tx = 0;
            while (tx < tilesX) {
                if (!damaged[ty * tilesX + tx]) {
                    tx++;
                    continue;
                }
                int start = tx;
                while (tx < tilesX && damaged[ty * tilesX + tx]) {
                    damaged[ty * tilesX + tx] = false;
                    damagedCount--;
                    tx++;
                }
                int x = start * TILE, y = ty * TILE;
                int[] r = { x, y, Math.min(width, tx * TILE) - x, Math.min(height, y + TILE) - y };
                int[] above = out.isEmpty() ? null : out.get(out.size() - 1);
                if (above != null && above[0] == r[0] && above[2] == r[2] && above[1] + above[3] == r[1]) {
                    above[3] += r[3]; // same columns as the band above: one taller rectangle
                } else {
                    out.add(r);
                }
            }
        }
        resized = false;
        return out;
    }
}
