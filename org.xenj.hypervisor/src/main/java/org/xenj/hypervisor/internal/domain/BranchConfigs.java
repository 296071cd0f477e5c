package org.xenj.hypervisor.internal.domain;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.xenj.hypervisor.api.DomainConfig;

/**
 * What the configuration of a branch of the VM state tree must change: which disks a guest could
 * write (those branch into overlays at a snapshot; a clone of a domain with one goes through a
 * snapshot), and a clone's vifs without the original's MAC addresses.
 */
final class BranchConfigs {

    private BranchConfigs() {
    }

    /**
     * The first disk of {@code c} a guest could write, or null. xl's rules (xl-disk-configuration):
     * access defaults to rw; {@code access=ro}/{@code r}, a positional fourth field {@code r}/{@code ro},
     * and CD-ROMs ({@code devtype=cdrom}, {@code cdrom}, a {@code :cdrom} vdev) are read-only.
     */
    static String writableDisk(DomainConfig c) {
        for (String spec : c.disks()) {
            String s = spec.trim();
            if (s.length() >= 2 && (s.charAt(0) == '\'' || s.charAt(0) == '"') && s.charAt(s.length() - 1) == s.charAt(0)) {
                s = s.substring(1, s.length() - 1);
            }
            boolean readOnly = false;
            int positional = 0;
            for (String item : s.split(",")) {
                String t = item.trim().toLowerCase(Locale.ROOT);
                if (t.equals("cdrom") || t.equals("devtype=cdrom") || t.endsWith(":cdrom") || t.equals("access=ro") || t.equals("access=r")
                        || t.equals("ro") && positional == 3 || t.equals("r") && positional == 3) {
                    readOnly = true;
                }
                if (!t.contains("=")) {
                    positional++;
                }
            }
            if (!readOnly) {
                return spec;
            }
        }
        return null;
    }

    /** The clone's vifs without their {@code mac=}: each device derives a new address from the clone's name. */
    static DomainConfig freshMacs(DomainConfig c) {
        List<String> vifs = new ArrayList<>();
        for (String v : c.vifs()) {
            String s = v.trim();
            boolean quoted = s.length() >= 2 && (s.charAt(0) == '\'' || s.charAt(0) == '"') && s.charAt(s.length() - 1) == s.charAt(0);
            if (quoted) {
                s = s.substring(1, s.length() - 1);
            }
            List<String> keep = new ArrayList<>();
            for (String item : s.split(",")) {
                if (!item.trim().toLowerCase(Locale.ROOT).startsWith("mac=")) {
                    keep.add(item.trim());
                }
            }
            vifs.add(String.join(",", keep));
        }
        return c.toBuilder().vifs(vifs).build();
    }
}
