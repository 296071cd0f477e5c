package org.xenj.dom0.vnc.internal;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.Deflater;

/**
 * One client's framebuffer updates: Raw, ZRLE (RFC 6143 7.7.6: 64×64 tiles, solid, packed palette
 * of 2-16 colours or raw cpixels, through one zlib stream for the connection), CopyRect for
 * vertical scrolls (found by matching row hashes of the new picture against what the client was
 * sent last) and the DesktopSize pseudo-encoding. Runs on the display thread only.
 */
final class RfbEncoder {

    static final int RAW = 0, COPY_RECT = 1, ZRLE = 16, DESKTOP_SIZE = -223;
    private static final int TILE = 64;
    /** Shortest run of rows worth a CopyRect. */
    private static final int MIN_SCROLL_ROWS = 8;

    PixelFormat format = PixelFormat.DEFAULT;
    boolean zrle, copyRect, desktopSize;
    /** The size the client knows. */
    int clientWidth, clientHeight;
    /** What the client shows, for CopyRect (null until the first full update). */
    private int[] shadow;
    private final Deflater deflater = new Deflater(Deflater.BEST_SPEED);
    private byte[] pixelBuf = new byte[0];
    private final byte[] deflateBuf = new byte[64 << 10];
    /** Statistics: rectangles sent per encoding. */
    long rawRects, zrleRects, copyRects;

    RfbEncoder(int width, int height) {
        clientWidth = width;
        clientHeight = height;
    }

    void setEncodings(int[] list) {
        zrle = false;
        copyRect = false;
        desktopSize = false;
        for (int e : list) {
            zrle |= e == ZRLE;
            copyRect |= e == COPY_RECT;
            desktopSize |= e == DESKTOP_SIZE;
        }
    }

    void end() {
        deflater.end();
    }

    /**
     * A FramebufferUpdate message for {@code rects} ({x, y, w, h}, within the screen) of {@code px}
     * ({@code w × h}), or null when nothing can be sent (a resize the client cannot follow is clipped).
     */
    byte[] update(int[] px, int w, int h, List<int[]> rects) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(4096);
        int count = 0;
        ByteArrayOutputStream body = new ByteArrayOutputStream(4096);
        if (w != clientWidth || h != clientHeight) {
            if (desktopSize) {
                header(body, 0, 0, w, h, DESKTOP_SIZE);
                count++;
                clientWidth = w;
                clientHeight = h;
                shadow = null;
                rects = List.of(new int[] { 0, 0, w, h });
            }
        }
        int cw = Math.min(w, clientWidth), ch = Math.min(h, clientHeight);
        if (shadow == null || shadow.length != w * h) {
            shadow = null;
        }
        for (int[] r0 : rects) {
            int x = Math.max(0, r0[0]), y = Math.max(0, r0[1]);
            int x1 = Math.min(cw, r0[0] + r0[2]), y1 = Math.min(ch, r0[1] + r0[3]);
            if (x >= x1 || y >= y1) {
                continue;
            }
            List<int[]> rest = new ArrayList<>();
            if (copyRect && shadow != null && x == 0 && x1 == w && y1 - y >= 2 * MIN_SCROLL_ROWS) {
                int[] scroll = findScroll(px, w, y, y1);
                if (scroll != null) {
                    int dst = scroll[0], src = scroll[1], n = scroll[2];
                    header(body, 0, dst, w, n, COPY_RECT);
                    body.write(0); // source x
                    body.write(0);
                    body.write(src >>> 8); // source y
                    body.write(src);
                    count++;
                    copyRects++;
                    System.arraycopy(shadow, src * w, shadow, dst * w, n * w);
                    if (dst > y) {
                        rest.add(new int[] { x, y, x1 - x, dst - y });
                    }
                    if (dst + n < y1) {
                        rest.add(new int[] { x, dst + n, x1 - x, y1 - dst - n });
                    }
                } else {
                    rest.add(new int[] { x, y, x1 - x, y1 - y });
                }
            } else {
                rest.add(new int[] { x, y, x1 - x, y1 - y });
            }
            for (int[] r : rest) {
                encode(body, px, w, r[0], r[1], r[2], r[3]);
                count++;
                if (count >= 0xffff) {
                    break;
                }
            }
        }
        if (count == 0) {
            return null;
        }
        if (shadow == null && w == clientWidth && h == clientHeight) {
            shadow = new int[w * h];
            System.arraycopy(px, 0, shadow, 0, w * h);
        } else if (shadow != null) {
            for (int[] r : rects) { // keep the shadow what the client now shows
                int x = Math.max(0, r[0]), x1 = Math.min(w, r[0] + r[2]);
                for (int yy = Math.max(0, r[1]); yy < Math.min(h, r[1] + r[3]) && x < x1; yy++) {
                    System.arraycopy(px, yy * w + x, shadow, yy * w + x, x1 - x);
                }
            }
        }
        out.write(0); // FramebufferUpdate
        out.write(0);
        out.write(count >>> 8);
        out.write(count);
        out.writeBytes(body.toByteArray());
        return out.toByteArray();
    }

    /**
     * A vertical scroll inside rows {@code [y0, y1)}: {dst, src, rows} of the longest run of new rows
     * equal to shadow rows at one offset, or null.
     */
    private int[] findScroll(int[] px, int w, int y0, int y1) {
        int h = shadow.length / w;
        java.util.Map<Long, Integer> oldRow = new java.util.HashMap<>();
        for (int y = 0; y < h; y++) {
            oldRow.putIfAbsent(rowHash(shadow, w, y), y);
        }
        java.util.Map<Integer, Integer> votes = new java.util.HashMap<>();
        long[] newHash = new long[y1 - y0];
        for (int y = y0; y < y1; y++) {
            newHash[y - y0] = rowHash(px, w, y);
            Integer src = oldRow.get(newHash[y - y0]);
            if (src != null && src != y) {
                votes.merge(src - y, 1, Integer::sum);
            }
        }
        int best = 0, bestVotes = 0;
        for (var e : votes.entrySet()) {
            if (e.getValue() > bestVotes) {
                best = e.getKey();
                bestVotes = e.getValue();
            }
        }
        if (bestVotes < MIN_SCROLL_ROWS) {
            return null;
        }
        int runStart = -1, runLen = 0, bestStart = -1, bestLen = 0;
        for (int y = y0; y < y1; y++) {
            int src = y + best;
            boolean same = src >= 0 && src < h && java.util.Arrays.equals(px, y * w, y * w + w, shadow, src * w, src * w + w);
            if (same) {
                if (runStart < 0) {
                    runStart = y;
                    runLen = 0;
                }
                runLen++;
                if (runLen > bestLen) {
                    bestLen = runLen;
                    bestStart = runStart;
                }
            } else {
                runStart = -1;
            }
        }
        return bestLen >= MIN_SCROLL_ROWS ? new int[] { bestStart, bestStart + best, bestLen } : null;
    }

    private static long rowHash(int[] p, int w, int y) {
        long hsh = 1125899906842597L;
        for (int i = y * w, e = i + w; i < e; i++) {
            hsh = 31 * hsh + p[i];
        }
        return hsh;
    }

    private static void header(ByteArrayOutputStream o, int x, int y, int w, int h, int encoding) {
        o.write(x >>> 8);
        o.write(x);
        o.write(y >>> 8);
        o.write(y);
        o.write(w >>> 8);
        o.write(w);
        o.write(h >>> 8);
        o.write(h);
        o.write(encoding >>> 24);
        o.write(encoding >>> 16);
        o.write(encoding >>> 8);
        o.write(encoding);
    }

    private void encode(ByteArrayOutputStream o, int[] px, int stride, int x, int y, int w, int h) {
        if (zrle) {
            header(o, x, y, w, h, ZRLE);
            zrle(o, px, stride, x, y, w, h);
            zrleRects++;
        } else {
            header(o, x, y, w, h, RAW);
            int bpp = format.bytesPerPixel();
            byte[] buf = buffer(w * bpp);
            for (int yy = y; yy < y + h; yy++) {
                for (int xx = 0; xx < w; xx++) {
                    format.put(buf, xx * bpp, format.convert(px[yy * stride + x + xx]), bpp);
                }
                o.write(buf, 0, w * bpp);
            }
            rawRects++;
        }
    }

    private byte[] buffer(int n) {
        if (pixelBuf.length < n) {
            pixelBuf = new byte[n];
        }
        return pixelBuf;
    }

    private void zrle(ByteArrayOutputStream o, int[] px, int stride, int x, int y, int w, int h) {
        ByteArrayOutputStream tiles = new ByteArrayOutputStream(w * h);
        int cp = format.cpixelBytes();
        int[] tile = new int[TILE * TILE];
        int[] palette = new int[16];
        byte[] buf = buffer(TILE * TILE * 4 + 64);
        for (int ty = y; ty < y + h; ty += TILE) {
            int th = Math.min(TILE, y + h - ty);
            for (int tx = x; tx < x + w; tx += TILE) {
                int tw = Math.min(TILE, x + w - tx);
                int n = 0;
                int colours = 0;
                for (int yy = 0; yy < th; yy++) {
                    for (int xx = 0; xx < tw; xx++) {
                        int p = format.convert(px[(ty + yy) * stride + tx + xx]);
                        tile[n++] = p;
                        if (colours <= 16) {
                            int c = 0;
                            while (c < colours && palette[c] != p) {
                                c++;
                            }
                            if (c == colours) {
                                if (colours < 16) {
                                    palette[colours] = p;
                                }
                                colours++;
                            }
                        }
                    }
                }
                int at = 0;
                if (colours == 1) {
                    buf[at++] = 1;
                    format.put(buf, at, palette[0], cp);
                    at += cp;
                } else if (colours <= 16) {
                    buf[at++] = (byte) colours;
                    for (int c = 0; c < colours; c++) {
                        format.put(buf, at, palette[c], cp);
                        at += cp;
                    }
                    int bits = colours == 2 ? 1 : colours <= 4 ? 2 : 4;
                    for (int yy = 0; yy < th; yy++) {
                        int acc = 0, used = 0;
                        for (int xx = 0; xx < tw; xx++) {
                            int p = tile[yy * tw + xx], c = 0;
                            while (palette[c] != p) {
                                c++;
                            }
                            acc = acc << bits | c;
                            used += bits;
                            if (used == 8) {
                                buf[at++] = (byte) acc;
                                acc = 0;
                                used = 0;
                            }
                        }
                        if (used > 0) {
                            buf[at++] = (byte) (acc << (8 - used));
                        }
                    }
                } else {
                    buf[at++] = 0;
                    for (int i = 0; i < n; i++) {
                        format.put(buf, at, tile[i], cp);
                        at += cp;
                    }
                }
                tiles.write(buf, 0, at);
            }
        }
        byte[] raw = tiles.toByteArray();
        deflater.setInput(raw);
        ByteArrayOutputStream z = new ByteArrayOutputStream(raw.length / 4 + 64);
        int k;
        do {
            k = deflater.deflate(deflateBuf, 0, deflateBuf.length, Deflater.SYNC_FLUSH);
            z.write(deflateBuf, 0, k);
        } while (k == deflateBuf.length);
        int len = z.size();
        o.write(len >>> 24);
        o.write(len >>> 16);
        o.write(len >>> 8);
        o.write(len);
        o.writeBytes(z.toByteArray());
    }
}
