package org.xenj.dom0.vnc.internal;

import java.util.ArrayList;
import java.util.List;

/** What one client has not been sent yet, in 16×16 tiles of a {@code width × height} screen. */
final class DamageMap {

    private static final int TILE = 16;
    final int width, height;
    private final int tilesX, tilesY;
    private final boolean[] tiles;
    private int count;

    DamageMap(int width, int height) {
        this.width = width;
        this.height = height;
        tilesX = (width + TILE - 1) / TILE;
        tilesY = (height + TILE - 1) / TILE;
        tiles = new boolean[tilesX * tilesY];
    }

    void add(int x, int y, int w, int h) {
        int x0 = Math.max(0, x), y0 = Math.max(0, y);
        int x1 = (int) Math.min(width, (long) x + w), y1 = (int) Math.min(height, (long) y + h);
        for (int ty = y0 / TILE; ty < tilesY && ty * TILE < y1; ty++) {
            for (int tx = x0 / TILE; tx < tilesX && tx * TILE < x1; tx++) {
                if (!tiles[ty * tilesX + tx]) {
                    tiles[ty * tilesX + tx] = true;
                    count++;
                }
            }
        }
    }

    boolean isEmpty() {
        return count == 0;
    }

    /** The damaged tiles as rectangles (row runs, merged downwards when they line up), cleared. */
    List<int[]> take() {
        List<int[]> out = new ArrayList<>();
        int[] prev = null;
        for (int ty = 0; ty < tilesY && count > 0; ty++) {
            int tx = 0;
            while (tx < tilesX) {
                if (!tiles[ty * tilesX + tx]) {
                    tx++;
                    continue;
                }
                int s = tx;
                while (tx < tilesX && tiles[ty * tilesX + tx]) {
                    tiles[ty * tilesX + tx] = false;
                    count--;
                    tx++;
                }
                int x = s * TILE, y = ty * TILE;
                int[] r = { x, y, Math.min(width, tx * TILE) - x, Math.min(height, y + TILE) - y };
                if (prev != null && prev[0] == r[0] && prev[2] == r[2] && prev[1] + prev[3] == r[1]) {
                    prev[3] += r[3];
                } else {
                    out.add(r);
                    prev = r;
                }
            }
        }
        return out;
    }
}
