package org.xenj.hypervisor.internal.backend;

import java.util.LinkedHashSet;
import java.util.Set;

import org.xenj.hypervisor.api.DomainConfig;

/**
 * Which backend kinds a domain configuration asks for: {@code vbd} for {@code disk} entries,
 * {@code vif} for {@code vif} entries, {@code vfb} for {@code vfb} entries (the PV framebuffer and, as
 * in Xen, its {@code vkbd} keyboard: one backend serves both), and every kind named in the xenj key {@value #KEY}
 * ({@code backends = ["pvtest"]} or {@code backends = "pvtest"}).
 */
public final class BackendKinds {

    public static final String KEY = "backends";
    /** Kind names end up in thread names, logs and xenstore paths. */
    private static final java.util.regex.Pattern NAME = java.util.regex.Pattern.compile("[a-z0-9][a-z0-9_-]{0,31}");

    private BackendKinds() {
    }

    public static Set<String> requested(DomainConfig config) {
        Set<String> kinds = new LinkedHashSet<>();
        if (!config.disks().isEmpty()) {
            kinds.add("vbd");
        }
        if (!config.vifs().isEmpty()) {
            kinds.add("vif");
        }
        String vfb = config.raw().get("vfb");
        if (vfb != null && !vfb.replaceAll("[\\[\\]\\s'\",]", "").isEmpty()) {
            kinds.add("vfb");
        }
        String listed = config.raw().get(KEY);
        if (listed != null) {
            String s = listed.trim();
            if (s.startsWith("[") && s.endsWith("]")) {
                s = s.substring(1, s.length() - 1);
            }
            for (String item : s.split(",")) {
                String k = item.trim().replace("\"", "").replace("'", "").trim();
                if (!k.isEmpty()) {
                    kinds.add(k);
                }
            }
        }
        return kinds;
    }

    /** Whether {@code kind} is a usable kind name (lower-case letters, digits, '-', '_'; at most 32). */
    public static boolean validName(String kind) {
        return kind != null && NAME.matcher(kind).matches();
    }
}
