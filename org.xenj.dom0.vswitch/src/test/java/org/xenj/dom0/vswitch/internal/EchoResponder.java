package org.xenj.dom0.vswitch.internal;

import java.util.concurrent.atomic.AtomicInteger;

import org.xenj.dom0.vswitch.api.Frames;
import org.xenj.dom0.vswitch.api.Port;

/**
 * A tiny host on a bridge port, for tests: answers ARP requests for its IPv4 address, ICMP echo
 * requests and UDP datagrams to port 7 (echo) — enough for a real Linux stack on the other side
 * of a TAP to exchange frames with.
 */
final class EchoResponder {

    final long mac;
    final int ip;
    final AtomicInteger arpAnswered = new AtomicInteger();
    final AtomicInteger echoesAnswered = new AtomicInteger();
    Port port;

    EchoResponder(long mac, int ip) {
        this.mac = mac;
        this.ip = ip;
    }

    void receive(byte[] frame, int length) {
        byte[] f = java.util.Arrays.copyOf(frame, length);
        int type = u16(f, 12);
        if (type == 0x0806 && f.length >= 42 && u16(f, 20) == 1 && u32(f, 38) == ip) {
            byte[] r = new byte[42];
            System.arraycopy(f, 6, r, 0, 6);
            Frames.put(mac, r, 6);
            put16(r, 12, 0x0806);
            System.arraycopy(f, 14, r, 14, 6); // htype, ptype, hlen, plen
            put16(r, 20, 2);
            Frames.put(mac, r, 22);
            put32(r, 28, ip);
            System.arraycopy(f, 22, r, 32, 10); // sender becomes target
            arpAnswered.incrementAndGet();
            port.send(r, r.length);
        } else if (type == 0x0800 && f.length >= 34 && u32(f, 30) == ip) {
            int ihl = (f[14] & 0xf) * 4;
            int total = u16(f, 16);
            if (ihl < 20 || 14 + total > f.length || total < ihl + 8) {
                return;
            }
            int proto = f[23] & 0xff;
            int l4 = 14 + ihl;
            byte[] r = new byte[14 + total];
            System.arraycopy(f, 0, r, 0, r.length);
            System.arraycopy(f, 6, r, 0, 6);
            Frames.put(mac, r, 6);
            System.arraycopy(f, 26, r, 30, 4);
            put32(r, 26, ip);
            put16(r, 24, 0);
            put16(r, 24, checksum(r, 14, ihl, 0));
            if (proto == 1 && (f[l4] & 0xff) == 8) {
                r[l4] = 0;
                put16(r, l4 + 2, 0);
                put16(r, l4 + 2, checksum(r, l4, total - ihl, 0));
            } else if (proto == 17 && u16(f, l4 + 2) == 7) {
                put16(r, l4, 7);
                put16(r, l4 + 2, u16(f, l4));
                put16(r, l4 + 6, 0); // UDP over IPv4: no checksum is allowed
            } else {
                return;
            }
            echoesAnswered.incrementAndGet();
            port.send(r, r.length);
        }
    }

    static int checksum(byte[] b, int off, int len, int initial) {
        long sum = initial;
        for (int i = 0; i + 1 < len; i += 2) {
            sum += u16(b, off + i);
        }
        if ((len & 1) != 0) {
            sum += (b[off + len - 1] & 0xff) << 8;
        }
        while ((sum >> 16) != 0) {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return (int) (~sum & 0xffff);
    }

    static int u16(byte[] b, int o) {
        return ((b[o] & 0xff) << 8) | (b[o + 1] & 0xff);
    }

    static int u32(byte[] b, int o) {
        return (u16(b, o) << 16) | u16(b, o + 2);
    }

    static void put16(byte[] b, int o, int v) {
        b[o] = (byte) (v >> 8);
        b[o + 1] = (byte) v;
    }

    static void put32(byte[] b, int o, int v) {
        put16(b, o, v >>> 16);
        put16(b, o + 2, v);
    }
}
