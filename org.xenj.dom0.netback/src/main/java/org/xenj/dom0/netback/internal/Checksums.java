package org.xenj.dom0.netback.internal;

/**
 * Fills in the TCP or UDP checksum of a frame whose sender left it blank (NETTXF_csum_blank: the
 * frontend offloaded it, as a NIC would compute it). IPv4 and IPv6 (without extension headers);
 * anything else, or a frame whose headers do not add up, is reported as false and dropped by
 * the caller. Every offset is checked against the frame's length: the frame is untrusted.
 */
final class Checksums {

    private static final int ETH_HLEN = 14;

    private Checksums() {
    }

    static boolean fill(byte[] f, int len) {
        int l3 = ETH_HLEN;
        int type = u16(f, 12);
        if (type == 0x8100 && len >= 18) { // one VLAN tag
            type = u16(f, 16);
            l3 += 4;
        }
        int proto, l4, l4len;
        long pseudo;
        if (type == 0x0800) {
            if (len < l3 + 20 || (f[l3] >> 4 & 0xf) != 4) {
                return false;
            }
            int ihl = (f[l3] & 0xf) * 4;
            int total = u16(f, l3 + 2);
            if (ihl < 20 || total < ihl || l3 + total > len || (u16(f, l3 + 6) & 0x3fff) != 0) {
                return false; // fragments carry no whole L4 segment to checksum
            }
            proto = f[l3 + 9] & 0xff;
            l4 = l3 + ihl;
            l4len = total - ihl;
            pseudo = sum(f, l3 + 12, 8) + proto + l4len;
        } else if (type == 0x86dd) {
            if (len < l3 + 40) {
                return false;
            }
            l4len = u16(f, l3 + 4);
            proto = f[l3 + 6] & 0xff;
            l4 = l3 + 40;
            if (l4 + l4len > len) {
                return false;
            }
            pseudo = sum(f, l3 + 8, 32) + proto + l4len;
        } else {
            return false;
        }
        int at;
        if (proto == 6 && l4len >= 20) {
            at = l4 + 16;
        } else if (proto == 17 && l4len >= 8) {
            at = l4 + 6;
        } else {
            return false;
        }
        f[at] = 0;
        f[at + 1] = 0;
        long s = pseudo + sum(f, l4, l4len);
        while ((s >> 16) != 0) {
            s = (s & 0xffff) + (s >> 16);
        }
        int c = (int) (~s & 0xffff);
        if (c == 0 && proto == 17) {
            c = 0xffff; // a computed 0 is sent as all ones in UDP (0 means "no checksum")
        }
        f[at] = (byte) (c >> 8);
        f[at + 1] = (byte) c;
        return true;
    }

    /** One's-complement sum of 16-bit big-endian words (not folded). */
    static long sum(byte[] b, int off, int len) {
        long s = 0;
        int i = 0;
        for (; i + 1 < len; i += 2) {
            s += ((b[off + i] & 0xff) << 8) | (b[off + i + 1] & 0xff);
        }
        if (i < len) {
            s += (b[off + i] & 0xff) << 8;
        }
        return s;
    }

    /** Whether a frame's TCP/UDP checksum verifies (tests). */
    static boolean verify(byte[] f, int len) {
        byte[] copy = java.util.Arrays.copyOf(f, len);
        int l3 = ETH_HLEN;
        int ihl = (f[l3] & 0xf) * 4;
        int proto = f[l3 + 9] & 0xff;
        int at = l3 + ihl + (proto == 6 ? 16 : 6);
        int before = u16(f, at);
        return fill(copy, len) && u16(copy, at) == before;
    }

    static int u16(byte[] b, int o) {
        return ((b[o] & 0xff) << 8) | (b[o + 1] & 0xff);
    }
}
