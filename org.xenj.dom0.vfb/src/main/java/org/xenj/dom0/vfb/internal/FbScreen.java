package org.xenj.dom0.vfb.internal;

import java.util.function.Consumer;

import org.xenj.dom0.vnc.api.DisplaySource;
import org.xenj.dom0.vnc.api.Framebuffer;
import org.xenj.hypervisor.spi.backend.BackendException;
import org.xenj.hypervisor.spi.backend.GrantMapping;

/**
 * The picture of one PV framebuffer: the frontend's framebuffer pages (mapped by the device), the
 * checked layout, and the region the frontend said it changed. Events arrive on the backend's
 * executor ({@link #event}); the console server's display thread reads pixels in {@link #refresh}.
 * Only pixels inside the layout are ever read, from the frontend's own pages; a page that stops being
 * the frontend's reads as black and is counted. With {@code updates} (the frontend sends
 * XENFB_TYPE_UPDATE) only what it named is read; without, every refresh reads the whole screen and
 * damages the rows that differ.
 */
final class FbScreen implements DisplaySource {

    /** The frames and the layout, replaced together (connect, resize, disconnect). */
    private record Mapped(GrantMapping[] frames, FbProtocol.Layout layout) {
    }

    private final Consumer<String> log;
    private volatile Mapped mapped;
    private volatile boolean updates;
    /** The changed region (x0, y0 inclusive; x1, y1 exclusive), empty when x0 >= x1. Guarded by this. */
    private int x0, y0, x1, y1;
    private boolean all = true;
    private byte[] row = new byte[0];
    /** Counters: events taken, updates clipped or dropped, unknown events, reads refused. */
    long updatesTaken, updatesClipped, unknownEvents, resizes, resizesRefused, readErrors;

    FbScreen(Consumer<String> log) {
        this.log = log;
    }

    /** The pages and layout to show (null: nothing, the screen goes black); damages everything. */
    synchronized void show(GrantMapping[] frames, FbProtocol.Layout layout, boolean frontendSendsUpdates) {
        mapped = frames == null ? null : new Mapped(frames, layout);
        updates = frontendSendsUpdates;
        all = true;
    }

    FbProtocol.Layout layout() {
        Mapped m = mapped;
        return m == null ? null : m.layout;
    }

    /**
     * One out event from the ring (40 bytes): an update clipped to the screen and added to the
     * changed region; a resize checked against the mapped memory (refused ones are logged and
     * ignored); anything else counted and ignored.
     */
    void event(byte[] ev) {
        int type = ev[0] & 0xff;
        if (type == FbProtocol.TYPE_UPDATE) {
            update(FbProtocol.int32(ev, 4), FbProtocol.int32(ev, 8), FbProtocol.int32(ev, 12), FbProtocol.int32(ev, 16));
        } else if (type == FbProtocol.TYPE_RESIZE) {
            resize(FbProtocol.int32(ev, 4), FbProtocol.int32(ev, 8), FbProtocol.int32(ev, 12), FbProtocol.int32(ev, 16),
                    FbProtocol.int32(ev, 20));
        } else {
            unknownEvents++;
            if (unknownEvents <= 3) {
                log.accept("unknown out event type " + type + " ignored");
            }
        }
    }

    synchronized void update(int x, int y, int w, int h) {
        updatesTaken++;
        Mapped m = mapped;
        if (m == null) {
            return;
        }
        long ax = x, ay = y, bx = ax + w, by = ay + h; // long: no overflow whatever the frontend wrote
        long cx0 = Math.max(0, ax), cy0 = Math.max(0, ay);
        long cx1 = Math.min(m.layout.width(), bx), cy1 = Math.min(m.layout.height(), by);
        if (cx0 != ax || cy0 != ay || cx1 != bx || cy1 != by) {
            updatesClipped++;
        }
        if (cx0 >= cx1 || cy0 >= cy1) {
            return;
        }
        if (x0 >= x1) {
            x0 = (int) cx0;
            y0 = (int) cy0;
            x1 = (int) cx1;
            y1 = (int) cy1;
        } else {
            x0 = Math.min(x0, (int) cx0);
            y0 = Math.min(y0, (int) cy0);
            x1 = Math.max(x1, (int) cx1);
            y1 = Math.max(y1, (int) cy1);
        }
    }

    private synchronized void resize(int width, int height, int stride, int depth, int offset) {
        Mapped m = mapped;
        if (m == null) {
            return;
        }
        try {
            FbProtocol.Layout l = FbProtocol.layout(width, height, stride & 0xffffffffL, depth, offset, m.layout.memLength());
            mapped = new Mapped(m.frames, l);
            all = true;
            resizes++;
            log.accept("resized to " + width + "x" + height + "x" + depth + " (line " + stride + ", offset " + offset + ")");
        } catch (IllegalArgumentException e) {
            resizesRefused++;
            if (resizesRefused <= 3) {
                log.accept("resize refused: " + e.getMessage());
            }
        }
    }

    @Override
    public void refresh(Framebuffer fb, boolean full) {
        Mapped m;
        int rx0, ry0, rx1, ry1;
        boolean compare;
        synchronized (this) {
            m = mapped;
            if (m == null) {
                if (all || full) {
                    all = false;
                    java.util.Arrays.fill(fb.pixels(), 0);
                    fb.damage(0, 0, fb.width(), fb.height());
                }
                return;
            }
            FbProtocol.Layout l = m.layout;
            boolean everything = full || all || fb.width() != l.width() || fb.height() != l.height() || !updates;
            if (everything) {
                rx0 = 0;
                ry0 = 0;
                rx1 = l.width();
                ry1 = l.height();
                // asked for, or a new layout: every pixel is rewritten and damaged; polling: only rows that differ
                compare = !full && !all && updates == false && fb.width() == l.width() && fb.height() == l.height();
                all = false;
            } else if (x0 < x1) {
                rx0 = x0;
                ry0 = y0;
                rx1 = x1;
                ry1 = y1;
                compare = true;
            } else {
                return;
            }
            x0 = x1 = 0;
        }
        FbProtocol.Layout l = m.layout;
        if (fb.width() != l.width() || fb.height() != l.height()) {
            fb.resize(l.width(), l.height());
            compare = false;
        }
        copy(m, fb, rx0, ry0, rx1, ry1, compare);
    }

    /** Copies rows {@code ry0..ry1} columns {@code rx0..rx1} into {@code fb}, damaging what changed (or all of it). */
    private void copy(Mapped m, Framebuffer fb, int rx0, int ry0, int rx1, int ry1, boolean compare) {
        FbProtocol.Layout l = m.layout;
        int bpp = l.bytesPerPixel();
        int len = (rx1 - rx0) * bpp;
        if (row.length < len) {
            row = new byte[len];
        }
        byte[] buf = row;
        int[] px = fb.pixels();
        int w = fb.width();
        for (int y = ry0; y < ry1; y++) {
            long start = (long) l.offset() + (long) y * l.stride() + (long) rx0 * bpp;
            if (!read(m.frames, start, buf, len)) {
                java.util.Arrays.fill(buf, 0, len, (byte) 0);
            }
            boolean changed = false;
            int o = y * w + rx0;
            for (int i = 0, b = 0; i < rx1 - rx0; i++, b += bpp) {
                int p = switch (bpp) {
                    case 4, 3 -> (buf[b] & 0xff) | (buf[b + 1] & 0xff) << 8 | (buf[b + 2] & 0xff) << 16;
                    default -> rgb565((buf[b] & 0xff) | (buf[b + 1] & 0xff) << 8);
                };
                if (px[o + i] != p) {
                    px[o + i] = p;
                    changed = true;
                }
            }
            if (changed || !compare) {
                fb.damage(rx0, y, rx1 - rx0, 1);
            }
        }
    }

    private static int rgb565(int v) {
        int r = v >>> 11 & 0x1f, g = v >>> 5 & 0x3f, b = v & 0x1f;
        return (r << 3 | r >>> 2) << 16 | (g << 2 | g >>> 4) << 8 | (b << 3 | b >>> 2);
    }

    /** Reads {@code len} bytes at framebuffer offset {@code at} across pages; false if a page was refused. */
    private boolean read(GrantMapping[] frames, long at, byte[] dst, int len) {
        int done = 0;
        while (done < len) {
            long pos = at + done;
            int page = (int) (pos / FbProtocol.PAGE), in = (int) (pos % FbProtocol.PAGE);
            int n = Math.min(len - done, FbProtocol.PAGE - in);
            if (page >= frames.length) {
                return false; // cannot happen for a checked layout; never read past the directory
            }
            try {
                frames[page].read(in, dst, done, n);
            } catch (BackendException e) {
                readErrors++;
                if (readErrors <= 3) {
                    log.accept("framebuffer page " + page + " unreadable: " + e.getMessage());
                }
                return false;
            }
            done += n;
        }
        return true;
    }
}
