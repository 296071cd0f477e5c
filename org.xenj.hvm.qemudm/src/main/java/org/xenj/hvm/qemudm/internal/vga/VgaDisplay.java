package org.xenj.hvm.qemudm.internal.vga;

import java.util.Map;
import java.util.TreeMap;

import org.xenj.dom0.vnc.api.DisplaySource;
import org.xenj.dom0.vnc.api.GuestDisplay;
import org.xenj.dom0.vnc.api.InputSink;

/**
 * One domain's stdvga as Domain 0's consoles see it: the renderer as the picture, the 8042's
 * keyboard and PS/2 mouse as input. The absolute pointer of a VNC client becomes relative mouse
 * motion from the last position it reported.
 */
public final class VgaDisplay implements GuestDisplay, InputSink {

    /** Where keys and relative pointer motion go (the 8042). */
    public interface Ps2 {
        void key(int linuxKeyCode, boolean down);

        void pointer(int dx, int dy, int buttons);
    }

    private final int domid;
    private final String name;
    private final Map<String, String> settings;
    private final StdVga vga;
    private final Ps2 ps2;
    private final VgaRenderer renderer;
    private int lastX = -1, lastY = -1;

    public VgaDisplay(int domid, String name, Map<String, String> raw, StdVga vga, Ps2 ps2) {
        this.domid = domid;
        this.name = name;
        Map<String, String> s = new TreeMap<>();
        for (String k : new String[] { "vnc", "vnclisten", "vncdisplay", "vncpasswd", "vncshared", "vncunused" }) {
            String v = VgaConfig.unquote(raw.get(k));
            if (v != null) {
                s.put(k, v);
            }
        }
        this.settings = Map.copyOf(s);
        this.vga = vga;
        this.ps2 = ps2;
        this.renderer = vga.renderer();
    }

    @Override
    public int domid() {
        return domid;
    }

    @Override
    public String domainName() {
        return name;
    }

    @Override
    public Map<String, String> settings() {
        return settings;
    }

    @Override
    public String deviceName() {
        return "stdvga";
    }

    @Override
    public DisplaySource source() {
        return renderer;
    }

    @Override
    public InputSink input() {
        return this;
    }

    @Override
    public void key(int linuxKeyCode, boolean down) {
        ps2.key(linuxKeyCode, down);
    }

    @Override
    public synchronized void pointer(int x, int y, int buttons, int width, int height) {
        int dx = lastX < 0 ? 0 : x - lastX;
        int dy = lastY < 0 ? 0 : y - lastY;
        lastX = x;
        lastY = y;
        ps2.pointer(dx, dy, buttons & 7);
    }

    StdVga vga() {
        return vga;
    }
}
