package org.xenj.dom0.vnc.internal;

import java.util.Map;

/**
 * A domain's console settings, xl.cfg style: {@code vnc=1} turns it on; {@code vnclisten} (default
 * 127.0.0.1: only Domain 0 reaches it unless the operator says otherwise); {@code vncdisplay=N}
 * listens on 5900+N, otherwise the first free port from 5900 ({@code vncunused}, xl's default);
 * {@code vncpasswd} requires VNC authentication (at most 8 characters count, as in every VNC server);
 * {@code vncshared=1} lets several clients watch at once — without it a second client is refused
 * while one is connected (xl has no such key; the name follows its {@code vnc*} family and QEMU's
 * {@code share=} option).
 */
record VncSettings(boolean enabled, String listen, int display, String password, boolean shared) {

    static final int BASE_PORT = 5900;
    static final int MAX_DISPLAY = 100;

    static VncSettings of(Map<String, String> s) {
        boolean on = truthy(s.get("vnc"));
        String listen = s.getOrDefault("vnclisten", "127.0.0.1").trim();
        if (listen.isEmpty()) {
            listen = "127.0.0.1";
        }
        int display = -1;
        String d = s.get("vncdisplay");
        if (d != null && !d.isBlank()) {
            try {
                display = Integer.parseInt(d.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("vncdisplay=" + d + " is not a number 0.." + (MAX_DISPLAY - 1));
            }
            if (display < 0 || display >= MAX_DISPLAY) {
                throw new IllegalArgumentException("vncdisplay=" + d + " is not a number 0.." + (MAX_DISPLAY - 1));
            }
        }
        String pw = s.get("vncpasswd");
        if (pw != null && pw.isEmpty()) {
            pw = null;
        }
        return new VncSettings(on, listen, display, pw, truthy(s.get("vncshared")));
    }

    private static boolean truthy(String v) {
        return v != null && (v.trim().equals("1") || v.trim().equalsIgnoreCase("true") || v.trim().equalsIgnoreCase("yes"));
    }
}
