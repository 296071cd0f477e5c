package org.xenj.dom0.netback.internal;

/**
 * TCP segmentation offload for the tx ring (netif.h's GSO extra info, offered as
 * {@code feature-gso-tcpv4}/{@code feature-gso-tcpv6}): the frontend hands over one large TCP
 * packet (up to 64 KiB, one set of headers, checksum left blank) and the MSS; this cuts it into
 * frames of at most MSS payload bytes that fit the MTU, each with its own IP length, IPv4 id and
 * header checksum, TCP sequence number and checksum, FIN/PSH only on the last and CWR only on the
 * first — what a NIC doing TSO puts on the wire. Why: a guest whose every instruction is emulated
 * spends most of its time per packet in its TCP stack and driver; with TSO it makes one packet
 * per 64 KiB instead of one per 1448 bytes, which is the point of a paravirtual NIC.
 *
 * <p>The packet is untrusted: headers are checked against its length and anything that is not
 * plain TCP over IPv4/IPv6 (one optional VLAN tag, no IPv4 fragment, no IPv6 extension header) is
 * refused with a reason.
 */
final class TcpSegmenter {

    static final int GSO_TCPV4 = 1, GSO_TCPV6 = 2;
    /** Smallest MSS taken (Linux's default net.ipv4.tcp_min_snd_mss): bounds the frames one request makes. */
    static final int MIN_MSS = 48;
    private static final int TCP_FIN = 0x01, TCP_PSH = 0x08, TCP_CWR = 0x80;

    /** Where the segments go, in order. */
    interface Sink {
        void frame(byte[] frame, int length);
    }

    private TcpSegmenter() {
    }

    /**
     * Cuts {@code packet[0, len)} into frames of at most {@code maxFrame} bytes and hands them to
     * {@code out}; null when done, otherwise why nothing was sent.
     */
    static String segment(byte[] packet, int len, int mss, int gsoType, int maxFrame, Sink out) {
        if (mss < MIN_MSS) {
            return "GSO size " + mss + " below " + MIN_MSS;
        }
        if (len < 14) {
            return "GSO packet of " + len + " bytes";
        }
        int l3 = 14;
        int ethType = Checksums.u16(packet, 12);
        if (ethType == 0x8100 && len >= 18) {
            ethType = Checksums.u16(packet, 16);
            l3 = 18;
        }
        boolean v4 = gsoType == GSO_TCPV4;
        int l4;
        if (v4) {
            if (ethType != 0x0800 || len < l3 + 20 || (packet[l3] >> 4 & 0xf) != 4) {
                return "GSO TCPv4 on a frame that is not IPv4";
            }
            int ihl = (packet[l3] & 0xf) * 4;
            if (ihl < 20 || (Checksums.u16(packet, l3 + 6) & 0x3fff) != 0 || (packet[l3 + 9] & 0xff) != 6) {
                return "GSO TCPv4 on an IPv4 packet that is a fragment, not TCP or has a bad header length";
            }
            l4 = l3 + ihl;
        } else if (gsoType == GSO_TCPV6) {
            if (ethType != 0x86dd || len < l3 + 40 || (packet[l3 + 6] & 0xff) != 6) {
                return "GSO TCPv6 on a frame that is not IPv6 with TCP next (extension headers are not taken)";
            }
            l4 = l3 + 40;
        } else {
            return "GSO type " + gsoType + " not offered";
        }
        if (len < l4 + 20) {
            return "GSO packet too short for its TCP header";
        }
        int tcpHeader = (packet[l4 + 12] >> 4 & 0xf) * 4;
        int headers = l4 + tcpHeader;
        if (tcpHeader < 20 || headers > len) {
            return "GSO packet's TCP header length " + tcpHeader + " does not fit";
        }
        int payload = len - headers;
        int segments = Math.max(1, (payload + mss - 1) / mss);
        if (headers + Math.min(mss, payload) > maxFrame) {
            return "GSO segments of " + (headers + Math.min(mss, payload)) + " bytes exceed the MTU (at most " + maxFrame + ")";
        }
        int id = Checksums.u16(packet, l3 + 4);
        long seq = u32(packet, l4 + 4);
        int flags = packet[l4 + 13] & 0xff;
        for (int k = 0; k < segments; k++) {
            int from = headers + k * mss;
            int chunk = Math.min(mss, len - from);
            int size = headers + chunk;
            byte[] f = new byte[size];
            System.arraycopy(packet, 0, f, 0, headers);
            System.arraycopy(packet, from, f, headers, chunk);
            if (v4) {
                put16(f, l3 + 2, size - l3);
                put16(f, l3 + 4, id + k);
                put16(f, l3 + 10, 0);
                put16(f, l3 + 10, ipv4HeaderChecksum(f, l3, l4 - l3));
            } else {
                put16(f, l3 + 4, size - l4);
            }
            put32(f, l4 + 4, seq + (long) k * mss);
            int segFlags = flags;
            if (k + 1 < segments) {
                segFlags &= ~(TCP_FIN | TCP_PSH);
            }
            if (k > 0) {
                segFlags &= ~TCP_CWR;
            }
            f[l4 + 13] = (byte) segFlags;
            if (!Checksums.fill(f, size)) {
                return "GSO segment " + k + ": TCP checksum could not be filled";
            }
            out.frame(f, size);
        }
        return null;
    }

    static int ipv4HeaderChecksum(byte[] f, int off, int len) {
        long s = Checksums.sum(f, off, len);
        while ((s >> 16) != 0) {
            s = (s & 0xffff) + (s >> 16);
        }
        return (int) (~s & 0xffff);
    }

    private static long u32(byte[] b, int o) {
        return ((long) Checksums.u16(b, o) << 16) | Checksums.u16(b, o + 2);
    }

    private static void put16(byte[] b, int o, int v) {
        b[o] = (byte) (v >> 8);
        b[o + 1] = (byte) v;
    }

    private static void put32(byte[] b, int o, long v) {
        put16(b, o, (int) (v >> 16));
        put16(b, o + 2, (int) v);
    }
}
