package org.xenj.dom0.vnc.internal;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import org.xenj.dom0.vnc.api.DisplaySource;
import org.xenj.dom0.vnc.api.Framebuffer;
import org.xenj.dom0.vnc.api.GuestDisplay;
import org.xenj.dom0.vnc.api.InputSink;

/** A display whose picture the test sets, recording the input it gets. */
final class FakeDisplay implements GuestDisplay, DisplaySource, InputSink {

    final Map<String, String> settings;
    volatile int[] picture;
    volatile int width, height;
    private int drawn = -1;
    volatile int version;
    final List<String> input = new CopyOnWriteArrayList<>();
    volatile int refreshes;
    /** The domain it belongs to (7 unless a test says otherwise). */
    int domid = 7;

    FakeDisplay(Map<String, String> settings, int w, int h) {
        this.settings = settings;
        set(w, h, pattern(w, h, 0));
    }

    static int[] pattern(int w, int h, int seed) {
        int[] p = new int[w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                p[y * w + x] = ((x + seed) * 7 & 0xff) << 16 | (y * 3 & 0xff) << 8 | ((x / 8 + y / 16) % 4) * 60;
            }
        }
        return p;
    }

    synchronized void set(int w, int h, int[] p) {
        width = w;
        height = h;
        picture = p;
        version++;
    }

    @Override
    public synchronized void refresh(Framebuffer fb, boolean full) {
        refreshes++;
        if (drawn == version && !full && fb.width() == width) {
            return;
        }
        fb.resize(width, height);
        int[] px = fb.pixels();
        for (int i = 0; i < px.length; i++) {
            if (px[i] != picture[i]) {
                px[i] = picture[i];
                fb.damage(i % width, i / width, 1, 1);
            }
        }
        drawn = version;
    }

    @Override
    public void key(int code, boolean down) {
        input.add((down ? "+" : "-") + code);
    }

    @Override
    public void pointer(int x, int y, int buttons, int w, int h) {
        input.add("p" + x + "," + y + "," + buttons);
    }

    @Override
    public int domid() {
        return domid;
    }

    @Override
    public String domainName() {
        return "fake";
    }

    @Override
    public Map<String, String> settings() {
        return settings;
    }

    @Override
    public String deviceName() {
        return "fake";
    }

    @Override
    public DisplaySource source() {
        return this;
    }

    @Override
    public InputSink input() {
        return this;
    }
}
