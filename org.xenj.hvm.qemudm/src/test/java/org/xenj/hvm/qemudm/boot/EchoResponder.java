package org.xenj.hvm.qemudm.boot;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

import org.xenj.dom0.vswitch.api.Bridge;
import org.xenj.dom0.vswitch.api.Port;

/**
 * A host on the bridge for boot tests: answers ARP requests for its IPv4 addresses and ICMP echo
 * requests to them, from its own MAC, on a thread of its own.
 */
final class EchoResponder implements AutoCloseable {

    static final byte[] MAC = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

    final AtomicInteger arpAnswered = new AtomicInteger();
    final AtomicInteger echoAnswered = new AtomicInteger();
    private final int[] addresses;
    private final ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "echo-responder");
        t.setDaemon(true);
        return t;
    });
    private final Port port;

    EchoResponder(Bridge bridge, int... addresses) {
        this.addresses = addresses.clone();
        this.port = bridge.attach("responder", thread, this::receive);
    }

    static int ip(int a, int b, int c, int d) {
        return a << 24 | b << 16 | c << 8 | d;
    }

    private boolean mine(int ip) {
        for (int a : addresses) {
            if (a == ip) {
                return true;
            }
        }
        return false;
    }

    final java.util.Map<Integer, Integer> seen = new java.util.concurrent.ConcurrentSkipListMap<>();

    private void receive(byte[] frame, int length) {
        byte[] f = java.util.Arrays.copyOf(frame, length);
        int type = u16(f, 12);
        seen.merge(type, 1, Integer::sum);
        if (type == 0x0806 && length >= 42 && u16(f, 20) == 1 && mine(u32(f, 38))) {
            byte[] r = new byte[42];
            System.arraycopy(f, 6, r, 0, 6);
            System.arraycopy(MAC, 0, r, 6, 6);
            r[12] = 0x08;
            r[13] = 0x06;
            System.arraycopy(f, 14, r, 14, 6); // htype, ptype, hlen, plen
            r[21] = 2; // reply
            System.arraycopy(MAC, 0, r, 22, 6);
            System.arraycopy(f, 38, r, 28, 4); // the address asked for
            System.arraycopy(f, 22, r, 32, 10); // the asker's MAC and address
            if (port.send(r, r.length)) {
                arpAnswered.incrementAndGet();
            }
        } else if (type == 0x0800 && length >= 34) {
            int ihl = (f[14] & 0x0f) * 4;
            int total = u16(f, 16);
            if (f[23] != 1 || !mine(u32(f, 30)) || 14 + total > length || ihl < 20 || total < ihl + 8 || f[14 + ihl] != 8) {
                return;
            }
            byte[] r = java.util.Arrays.copyOf(f, 14 + total);
            System.arraycopy(f, 6, r, 0, 6);
            System.arraycopy(MAC, 0, r, 6, 6);
            System.arraycopy(f, 30, r, 26, 4);
            System.arraycopy(f, 26, r, 30, 4);
            r[22] = 64;
            r[24] = 0;
            r[25] = 0;
            put16(r, 24, checksum(r, 14, ihl));
            int icmp = 14 + ihl;
            r[icmp] = 0; // echo reply
            r[icmp + 2] = 0;
            r[icmp + 3] = 0;
            put16(r, icmp + 2, checksum(r, icmp, total - ihl));
            if (port.send(r, r.length)) {
                echoAnswered.incrementAndGet();
            }
        }
    }

    private static int checksum(byte[] b, int off, int len) {
        long sum = 0;
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

    private static int u16(byte[] b, int off) {
        return (b[off] & 0xff) << 8 | (b[off + 1] & 0xff);
    }

    private static int u32(byte[] b, int off) {
        return u16(b, off) << 16 | u16(b, off + 2);
    }

    private static void put16(byte[] b, int off, int v) {
        b[off] = (byte) (v >> 8);
        b[off + 1] = (byte) v;
    }

    String counters() {
        StringBuilder b = new StringBuilder(port.counters().toString()).append(", EtherTypes seen:");
        seen.forEach((t, n) -> b.append(String.format(" %04x x%d", t, n)));
        return b.toString();
    }

    @Override
    public void close() {
        port.close();
        thread.shutdownNow();
    }
}
