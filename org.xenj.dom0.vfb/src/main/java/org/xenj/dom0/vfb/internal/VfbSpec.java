package org.xenj.dom0.vfb.internal;

import java.util.Map;
import java.util.TreeMap;

/**
 * xl.cfg's {@code vfb = [ "vnc=1, vnclisten=127.0.0.1, vncdisplay=1, vncpasswd=secret" ]}: the first
 * entry's {@code key=value} pairs (xl.cfg(5) names one virtual framebuffer). The console keys go to
 * the VNC server as they are; {@code sdl}, {@code keymap}, {@code display} and the like are read
 * and not used.
 */
final class VfbSpec {

    static final java.util.Set<String> CONSOLE_KEYS = java.util.Set.of("vnc", "vnclisten", "vncdisplay", "vncpasswd", "vncshared",
            "vncunused");

    private VfbSpec() {
    }

    /** The console settings of the first vfb entry of {@code raw} (the xl.cfg value, list or string). */
    static Map<String, String> consoleSettings(String raw) {
        Map<String, String> out = new TreeMap<>();
        if (raw == null) {
            return out;
        }
        String s = raw.trim();
        if (s.startsWith("[")) {
            s = s.substring(1, s.endsWith("]") ? s.length() - 1 : s.length()).trim();
        }
        // the first quoted entry (entries are separated by commas outside quotes)
        if (s.startsWith("'") || s.startsWith("\"")) {
            char q = s.charAt(0);
            int end = s.indexOf(q, 1);
            s = end < 0 ? s.substring(1) : s.substring(1, end);
        }
        for (String item : s.split(",")) {
            int eq = item.indexOf('=');
            if (eq <= 0) {
                continue;
            }
            String k = item.substring(0, eq).trim(), v = item.substring(eq + 1).trim();
            if (CONSOLE_KEYS.contains(k)) {
                out.put(k, v);
            }
        }
        return out;
    }
}
