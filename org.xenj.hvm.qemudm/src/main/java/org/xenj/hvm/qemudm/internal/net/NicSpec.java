package org.xenj.hvm.qemudm.internal.net;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;

/**
 * What qemu-dm takes from one entry of xl's {@code vif = [...]} (xl-network-configuration(5)):
 * {@code model} (rtl8139 — the default, as in xl — or ne2k_pci), {@code mac}, {@code bridge}
 * ({@code xenbr0} by default) and {@code type} ({@code vif} asks for the PV device alone: no
 * emulated NIC). Without {@code mac} the address is under Xen's OUI 00:16:3e with the last three
 * bytes of SHA-256("domain-name/devid"), the derivation netback uses, so the emulated NIC and the
 * PV vif of one entry share their address as in Xen.
 *
 * @param model {@code rtl8139}, {@code ne2k_pci}, or whatever else the entry named (not emulated here)
 */
public record NicSpec(int devid, String model, byte[] mac, String bridge, boolean emulated) {

    public static final String RTL8139 = "rtl8139", NE2K_PCI = "ne2k_pci", DEFAULT_BRIDGE = "xenbr0";

    public NicSpec {
        mac = mac.clone();
    }

    @Override
    public byte[] mac() {
        return mac.clone();
    }

    /** Parses {@code spec} (entry {@code devid} of domain {@code domainName}); IllegalArgumentException says what is wrong. */
    public static NicSpec parse(String spec, String domainName, int devid) {
        String model = RTL8139;
        String bridge = DEFAULT_BRIDGE;
        byte[] mac = null;
        boolean emulated = true;
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
                case "model" -> model = value.toLowerCase(Locale.ROOT);
                case "bridge" -> {
                    if (!value.matches("[A-Za-z0-9._-]{1,15}")) {
                        throw new IllegalArgumentException("bridge=" + value + ": 1-15 of letters, digits, '.', '-', '_'");
                    }
                    bridge = value;
                }
                case "mac" -> mac = parseMac(value);
                case "type" -> emulated = !"vif".equalsIgnoreCase(value);
                default -> {
                    // script, vifname, ip, rate... belong to other parts of the toolstack
                }
            }
        }
        return new NicSpec(devid, model, mac != null ? mac : defaultMac(domainName, devid), bridge, emulated);
    }

    static byte[] parseMac(String text) {
        if (text.length() != 17) {
            throw new IllegalArgumentException("mac=" + text + " is not a MAC address");
        }
        byte[] m = new byte[6];
        for (int i = 0; i < 6; i++) {
            int hi = Character.digit(text.charAt(3 * i), 16), lo = Character.digit(text.charAt(3 * i + 1), 16);
            if (hi < 0 || lo < 0 || (i < 5 && text.charAt(3 * i + 2) != ':' && text.charAt(3 * i + 2) != '-')) {
                throw new IllegalArgumentException("mac=" + text + " is not a MAC address");
            }
            m[i] = (byte) (hi << 4 | lo);
        }
        if ((m[0] & 1) != 0) {
            throw new IllegalArgumentException("mac=" + text + " is not a unicast address");
        }
        return m;
    }

    /** 00:16:3e followed by three bytes of SHA-256("name/devid"). */
    static byte[] defaultMac(String domainName, int devid) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest((domainName + "/" + devid).getBytes(StandardCharsets.UTF_8));
            return new byte[] {0x00, 0x16, 0x3e, h[0], h[1], h[2]};
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java platform", e);
        }
    }
}
