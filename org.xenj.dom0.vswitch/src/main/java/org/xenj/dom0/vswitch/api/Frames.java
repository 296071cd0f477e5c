package org.xenj.dom0.vswitch.api;

/** Ethernet frame facts and MAC address helpers shared by the switch's users. */
public final class Frames {

    /** Destination, source and EtherType. */
    public static final int HEADER_LENGTH = 14;
    /** The largest frame a port may send: a 64 KiB payload (scatter-gather NICs) plus a VLAN-tagged header. */
    public static final int MAX_LENGTH = 65536 + 18;

    private Frames() {
    }

    /** The 48-bit address at {@code offset} as a long (first byte most significant). */
    public static long mac(byte[] frame, int offset) {
        long v = 0;
        for (int i = 0; i < 6; i++) {
            v = (v << 8) | (frame[offset + i] & 0xff);
        }
        return v;
    }

    /** Group (broadcast or multicast) addresses have the I/G bit, the lowest bit of the first byte, set. */
    public static boolean isGroup(long mac) {
        return (mac & (1L << 40)) != 0;
    }

    /** {@code 00:16:3e:01:02:03}. */
    public static String format(long mac) {
        StringBuilder b = new StringBuilder(17);
        for (int i = 5; i >= 0; i--) {
            int octet = (int) (mac >>> (8 * i)) & 0xff;
            b.append(Character.forDigit(octet >> 4, 16)).append(Character.forDigit(octet & 0xf, 16));
            if (i > 0) {
                b.append(':');
            }
        }
        return b.toString();
    }

    /**
     * Parses {@code 00:16:3e:01:02:03} (or with '-'); {@link IllegalArgumentException} for anything
     * else.
     */
    public static long parse(String text) {
        if (text == null || text.length() != 17) {
            throw new IllegalArgumentException("not a MAC address: " + text);
        }
        long v = 0;
        for (int i = 0; i < 6; i++) {
            int hi = Character.digit(text.charAt(3 * i), 16);
            int lo = Character.digit(text.charAt(3 * i + 1), 16);
            if (hi < 0 || lo < 0 || (i < 5 && text.charAt(3 * i + 2) != ':' && text.charAt(3 * i + 2) != '-')) {
                throw new IllegalArgumentException("not a MAC address: " + text);
            }
            v = (v << 8) | (hi << 4) | lo;
        }
        return v;
    }

    /** Writes {@code mac} as six bytes at {@code offset}. */
    public static void put(long mac, byte[] into, int offset) {
        for (int i = 0; i < 6; i++) {
            into[offset + i] = (byte) (mac >>> (8 * (5 - i)));
        }
    }
}
