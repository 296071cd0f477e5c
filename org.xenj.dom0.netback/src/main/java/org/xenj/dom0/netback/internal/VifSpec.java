package org.xenj.dom0.netback.internal;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

import org.xenj.dom0.vswitch.api.Frames;
import org.xenj.dom0.vswitch.api.VirtualSwitch;

/**
 * One entry of xl's {@code vif = [...]} (xl-network-configuration(5)): comma-separated
 * {@code key=value} pairs. Used here: {@code mac}, {@code bridge}, {@code mtu}; the others (model,
 * type, script, vifname, ip, rate, ...) belong to other parts of the toolstack and are accepted
 * and ignored. Without {@code mac} the address is under Xen's OUI 00:16:3e, its last three bytes
 * derived from the domain's name and the device id, so a guest keeps its MAC across restarts.
 */
record VifSpec(long mac, String bridge, int mtu) {

    static final long XEN_OUI = 0x00163eL << 24;
    static final int DEFAULT_MTU = 1500;

    /** Parses {@code spec} for device {@code devid} of domain {@code domainName}; IllegalArgumentException says what is wrong. */
    static VifSpec parse(String spec, String domainName, int devid) {
        Long mac = null;
        String bridge = VirtualSwitch.DEFAULT_BRIDGE;
        int mtu = DEFAULT_MTU;
        String s = spec == null ? "" : spec.trim();
        if (s.length() >= 2 && (s.charAt(0) == '\'' || s.charAt(0) == '"') && s.charAt(s.length() - 1) == s.charAt(0)) {
            s = s.substring(1, s.length() - 1);
        }
        for (String item : s.split(",")) {
            String kv = item.trim();
            if (kv.isEmpty()) {
                continue;
            }
            int eq = kv.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("vif spec item '" + kv + "' is not key=value");
            }
            String key = kv.substring(0, eq).trim();
            String value = kv.substring(eq + 1).trim();
            switch (key) {
                case "mac" -> {
                    long m = Frames.parse(value);
                    if (Frames.isGroup(m) || m == 0) {
                        throw new IllegalArgumentException("mac=" + value + " is not a unicast address");
                    }
                    mac = m;
                }
                case "bridge" -> {
                    if (!value.matches("[A-Za-z0-9._-]{1,15}")) {
                        throw new IllegalArgumentException("bridge=" + value + ": 1-15 of letters, digits, '.', '-', '_'");
                    }
                    bridge = value;
                }
                case "mtu" -> {
                    try {
                        mtu = Integer.parseInt(value);
                    } catch (NumberFormatException e) {
                        mtu = -1;
                    }
                    if (mtu < 68 || mtu > 65535 - 18) {
                        throw new IllegalArgumentException("mtu=" + value + ": 68 to 65517");
                    }
                }
                default -> {
                    // other xl keys are not the backend's business
                }
            }
        }
        return new VifSpec(mac != null ? mac : defaultMac(domainName, devid), bridge, mtu);
    }

    /** 00:16:3e followed by three bytes of SHA-256("name/devid"). */
    static long defaultMac(String domainName, int devid) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest((domainName + "/" + devid).getBytes(StandardCharsets.UTF_8));
            return XEN_OUI | ((h[0] & 0xffL) << 16) | ((h[1] & 0xffL) << 8) | (h[2] & 0xffL);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java platform", e);
        }
    }

    /** The largest frame the vif passes: MTU plus an Ethernet header with a VLAN tag. */
    int maxFrame() {
        return mtu + 18;
    }

    String macText() {
        return Frames.format(mac);
    }
}
