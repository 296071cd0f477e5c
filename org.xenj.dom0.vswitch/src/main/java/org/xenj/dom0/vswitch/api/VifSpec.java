package org.xenj.dom0.vswitch.api;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;

/**
 * One entry of xl's {@code vif = [...]} (xl-network-configuration(5)), as both Dom0 halves of a
 * guest NIC read it — netback (the PV vif) and qemu-dm (its emulated twin) — so that the two agree
 * on the address and the bridge. Keys used: {@code mac}, {@code bridge} ({@code xenbr0} by
 * default), {@code mtu} (1500), {@code model} ({@code rtl8139} by default, as in xl) and
 * {@code type} ({@code vif}: the PV device alone, no emulated NIC); the others (script, vifname,
 * ip, rate, ...) belong to other parts of the toolstack and are accepted and ignored. Without
 * {@code mac} the address is under Xen's OUI 00:16:3e with the last three bytes of
 * SHA-256("domain-name/devid"), so a guest keeps its MAC across restarts.
 *
 * @param mac the address in the low 48 bits, first byte most significant
 */
public record VifSpec(long mac, String bridge, int mtu, String model, boolean emulated) {

    public static final long XEN_OUI = 0x00163eL << 24;
    public static final int DEFAULT_MTU = 1500;
    public static final String RTL8139 = "rtl8139";
    public static final String NE2K_PCI = "ne2k_pci";

    /** Parses {@code spec} for device {@code devid} of domain {@code domainName}; IllegalArgumentException says what is wrong. */
    public static VifSpec parse(String spec, String domainName, int devid) {
        Long mac = null;
        String bridge = VirtualSwitch.DEFAULT_BRIDGE;
        int mtu = DEFAULT_MTU;
        String model = RTL8139;
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
                case "mac" -> mac = unicast(value);
                case "bridge" -> {
                    if (!value.matches("[A-Za-z0-9._-]{1,15}")) {
                        throw new IllegalArgumentException("bridge=" + value + ": 1-15 of letters, digits, '.', '-', '_'");
                    }
                    bridge = value;
                }
                case "mtu" -> mtu = mtu(value);
                case "model" -> model = value.toLowerCase(Locale.ROOT);
                case "type" -> emulated = !"vif".equalsIgnoreCase(value);
                default -> {
                    // other xl keys are not the business of the Dom0 NIC halves
                }
            }
        }
        return new VifSpec(mac != null ? mac : defaultMac(domainName, devid), bridge, mtu, model, emulated);
    }

    private static long unicast(String value) {
        long m;
        try {
            m = Frames.parse(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("mac=" + value + " is not a MAC address", e);
        }
        if (Frames.isGroup(m) || m == 0) {
            throw new IllegalArgumentException("mac=" + value + " is not a unicast address");
        }
        return m;
    }

    private static int mtu(String value) {
        int mtu;
        try {
            mtu = Integer.parseInt(value);
        } catch (NumberFormatException e) {
            mtu = -1;
        }
        if (mtu < 68 || mtu > 65535 - 18) {
            throw new IllegalArgumentException("mtu=" + value + ": 68 to 65517");
        }
        return mtu;
    }

    /** 00:16:3e followed by three bytes of SHA-256("name/devid"). */
    public static long defaultMac(String domainName, int devid) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest((domainName + "/" + devid).getBytes(StandardCharsets.UTF_8));
            return XEN_OUI | ((h[0] & 0xffL) << 16) | ((h[1] & 0xffL) << 8) | (h[2] & 0xffL);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java platform", e);
        }
    }

    /** The largest frame the vif passes: MTU plus an Ethernet header with a VLAN tag. */
    public int maxFrame() {
        return mtu + 18;
    }

    public String macText() {
        return Frames.format(mac);
    }

    /** The address as six bytes, first byte first (an emulated NIC's EEPROM/PROM). */
    public byte[] macBytes() {
        byte[] b = new byte[6];
        for (int i = 0; i < 6; i++) {
            b[i] = (byte) (mac >>> (8 * (5 - i)));
        }
        return b;
    }
}
