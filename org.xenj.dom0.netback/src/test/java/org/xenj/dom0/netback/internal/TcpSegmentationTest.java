package org.xenj.dom0.netback.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.xenj.dom0.vswitch.api.Frames;
import org.xenj.dom0.vswitch.internal.SwitchService;

/**
 * TCP segmentation offload on the tx ring: netback offers {@code feature-gso-tcpv4/6}, takes a
 * TSO packet with its GSO extra-info slot as Linux's netfront sends it, and puts on the switch
 * exactly the frames a NIC doing TSO would (compared byte by byte with frames built here
 * independently); bad GSO requests get error responses and send nothing.
 */
class TcpSegmentationTest {

    static final long MAC_A = 0x00163e0000aaL, MAC_B = 0x00163e0000bbL;
    static final int TCP_FIN = 0x01, TCP_PSH = 0x08, TCP_ACK = 0x10, TCP_CWR = 0x80;
    /** MTU 1500 + Ethernet header and a VLAN tag: VifSpec's default maxFrame. */
    static final int MAX_FRAME = 1518;

    final SwitchService sw = new SwitchService();
    final Netback netback = new Netback(sw);
    final FakeDomain.Store store = new FakeDomain.Store();
    final List<FakeDomain> domains = new ArrayList<>();

    @AfterEach
    void tearDown() {
        domains.forEach(FakeDomain::shutdown);
        netback.close();
        sw.close();
    }

    /** An Ethernet frame with one TCP segment (checksum blank, as a TSO sender leaves it); IPv4 or IPv6. */
    static byte[] tcp(boolean v6, byte[] payload, int from, int len, long seq, int ipId, int tcpFlags) {
        int l3 = 14, l4 = v6 ? l3 + 40 : l3 + 20, options = 12; // TCP timestamps, as Linux sends them
        byte[] f = new byte[l4 + 20 + options + len];
        Frames.put(MAC_B, f, 0);
        Frames.put(MAC_A, f, 6);
        if (v6) {
            f[12] = (byte) 0x86;
            f[13] = (byte) 0xdd;
            f[l3] = 0x60;
            put16(f, l3 + 4, 20 + options + len);
            f[l3 + 6] = 6;
            f[l3 + 7] = 64;
            f[l3 + 8] = (byte) 0xfd;
            f[l3 + 23] = 1;
            f[l3 + 24] = (byte) 0xfd;
            f[l3 + 39] = 2;
        } else {
            f[12] = 0x08;
            f[l3] = 0x45;
            put16(f, l3 + 2, 20 + 20 + options + len);
            put16(f, l3 + 4, ipId);
            f[l3 + 6] = 0x40; // DF, as Linux's TCP sets it
            f[l3 + 8] = 64;
            f[l3 + 9] = 6;
            byte[] ips = { 10, 99, 0, 1, 10, 99, 0, (byte) 254 };
            System.arraycopy(ips, 0, f, l3 + 12, 8);
        }
        put16(f, l4, 40000);
        put16(f, l4 + 2, 5001);
        put16(f, l4 + 4, (int) (seq >> 16));
        put16(f, l4 + 6, (int) seq);
        put16(f, l4 + 8, 0x1234);
        put16(f, l4 + 10, 0x5678);
        f[l4 + 12] = (byte) ((20 + options) / 4 << 4);
        f[l4 + 13] = (byte) tcpFlags;
        put16(f, l4 + 14, 502);
        f[l4 + 20] = 1;
        f[l4 + 21] = 1;
        f[l4 + 22] = 8;
        f[l4 + 23] = 10;
        System.arraycopy(payload, from, f, l4 + 20 + options, len);
        return f;
    }

    /** What a TSO NIC sends for segment {@code k}: its own length, id and sequence, checksums filled. */
    static byte[] expectedSegment(boolean v6, byte[] payload, int mss, int k, int segments, long seq, int ipId, int tcpFlags) {
        int flags = tcpFlags;
        if (k + 1 < segments) {
            flags &= ~(TCP_FIN | TCP_PSH);
        }
        if (k > 0) {
            flags &= ~TCP_CWR;
        }
        int from = k * mss;
        byte[] f = tcp(v6, payload, from, Math.min(mss, payload.length - from), seq + (long) k * mss, ipId + k, flags);
        if (!v6) {
            long s = Checksums.sum(f, 14, 20);
            while (s >> 16 != 0) {
                s = (s & 0xffff) + (s >> 16);
            }
            put16(f, 24, (int) (~s & 0xffff));
        }
        assertTrue(Checksums.fill(f, f.length));
        return f;
    }

    static void put16(byte[] b, int o, int v) {
        b[o] = (byte) (v >> 8);
        b[o + 1] = (byte) v;
    }

    static byte[] payload(int n) {
        byte[] p = new byte[n];
        new Random(n).nextBytes(p);
        return p;
    }

    /** Segments straight from the segmenter (no rings). */
    static List<byte[]> segment(byte[] packet, int mss, int type, List<String> error) {
        List<byte[]> out = new ArrayList<>();
        String why = TcpSegmenter.segment(packet, packet.length, mss, type, MAX_FRAME, (f, len) -> out.add(Arrays.copyOf(f, len)));
        if (why != null) {
            error.add(why);
        }
        return out;
    }

    @Test
    void aTsoPacketBecomesTheFramesANicWouldSend() {
        for (boolean v6 : new boolean[] { false, true }) {
            byte[] data = payload(10_000);
            int flags = TCP_ACK | TCP_PSH | TCP_FIN | TCP_CWR;
            long seq = 0xfffff000L; // wraps within the packet
            byte[] packet = tcp(v6, data, 0, data.length, seq, 0xfffe, flags);
            List<String> error = new ArrayList<>();
            int mss = v6 ? 1428 : 1448; // what fits a 1500-byte MTU with timestamps
            List<byte[]> got = segment(packet, mss, v6 ? TcpSegmenter.GSO_TCPV6 : TcpSegmenter.GSO_TCPV4, error);
            assertEquals(List.of(), error);
            int segments = v6 ? 8 : 7;
            assertEquals(segments, got.size(), "10000 bytes at an MSS of " + mss);
            for (int k = 0; k < segments; k++) {
                byte[] want = expectedSegment(v6, data, mss, k, segments, seq, 0xfffe, flags);
                assertArrayEquals(want, got.get(k), (v6 ? "IPv6" : "IPv4") + " segment " + k);
                assertTrue(got.get(k).length <= MAX_FRAME);
                if (!v6) {
                    assertTrue(Checksums.verify(got.get(k), got.get(k).length), "TCP checksum of segment " + k);
                }
            }
            if (!v6) {
                assertEquals(0xffff, (int) fold(Checksums.sum(got.get(3), 14, 20)), "IPv4 header checksum verifies");
                assertEquals(0xfffe + 3 & 0xffff, Checksums.u16(got.get(3), 18), "IP id counts up (and wraps)");
            }
            assertEquals(0, got.get(2)[(v6 ? 54 : 34) + 13] & (TCP_FIN | TCP_PSH | TCP_CWR), "middle: no FIN, PSH or CWR");
            assertEquals(TCP_ACK | TCP_FIN | TCP_PSH, got.get(segments - 1)[(v6 ? 54 : 34) + 13] & 0xff, "last: FIN and PSH, no CWR");
            assertEquals(TCP_ACK | TCP_CWR, got.get(0)[(v6 ? 54 : 34) + 13] & 0xff, "first: CWR, no FIN or PSH");
        }
    }

    static long fold(long s) {
        while (s >> 16 != 0) {
            s = (s & 0xffff) + (s >> 16);
        }
        return s;
    }

    @Test
    void badGsoPacketsAreRefusedWithAReason() {
        byte[] data = payload(3000);
        byte[] v4 = tcp(false, data, 0, data.length, 1, 1, TCP_ACK);
        List<String> error = new ArrayList<>();
        assertTrue(segment(v4, 0, TcpSegmenter.GSO_TCPV4, error).isEmpty());
        assertTrue(segment(v4, 47, TcpSegmenter.GSO_TCPV4, error).isEmpty(), "below the minimum MSS");
        assertTrue(segment(v4, 1500, TcpSegmenter.GSO_TCPV4, error).isEmpty(), "segments over the MTU");
        assertTrue(segment(v4, 1448, TcpSegmenter.GSO_TCPV6, error).isEmpty(), "v6 GSO on a v4 packet");
        assertTrue(segment(v4, 1448, 3, error).isEmpty(), "unknown GSO type");
        byte[] udp = NetbackTest.udpFrame(MAC_B, MAC_A, 3000, true);
        assertTrue(segment(udp, 1448, TcpSegmenter.GSO_TCPV4, error).isEmpty(), "UDP");
        byte[] fragment = v4.clone();
        fragment[20] = 0x20; // more fragments
        assertTrue(segment(fragment, 1448, TcpSegmenter.GSO_TCPV4, error).isEmpty(), "IPv4 fragment");
        byte[] badOffset = v4.clone();
        badOffset[34 + 12] = (byte) 0xf0; // data offset 60 bytes: fits; 0x10 is 4 bytes (< 20)
        badOffset[34 + 12] = 0x10;
        assertTrue(segment(badOffset, 1448, TcpSegmenter.GSO_TCPV4, error).isEmpty(), "TCP header shorter than 20");
        assertTrue(segment(Arrays.copyOf(v4, 40), 1448, TcpSegmenter.GSO_TCPV4, error).isEmpty(), "truncated");
        assertEquals(9, error.size(), error.toString());
    }

    @Test
    void randomGsoPacketsAreSegmentedOrRefusedNeverThrow() {
        Random r = new Random(42);
        byte[] data = payload(4000);
        int refused = 0;
        for (int i = 0; i < 200_000; i++) {
            byte[] p = tcp(r.nextBoolean(), data, 0, r.nextInt(4000), r.nextLong() & 0xffffffffL, r.nextInt(65536), r.nextInt(256));
            int len = r.nextInt(p.length + 1);
            for (int m = r.nextInt(4); m > 0; m--) {
                p[r.nextInt(Math.min(p.length, 80))] = (byte) r.nextInt(256);
            }
            int[] frames = { 0 };
            String why = TcpSegmenter.segment(p, len, r.nextInt(2000), 1 + r.nextInt(3), MAX_FRAME, (f, n) -> {
                assertTrue(n <= MAX_FRAME && n <= f.length, "frame of " + n);
                frames[0]++;
            });
            if (why != null) {
                refused++;
                assertEquals(0, frames[0], "a refused packet sends nothing: " + why);
            }
        }
        assertTrue(refused > 0 && refused < 200_000, "some refused, some taken: " + refused);
    }

    // ------------------------------------------------------------------ through the rings

    JavaNetfront[] pair() throws Exception {
        FakeDomain a = new FakeDomain(1, store, "mac=00:16:3e:00:00:aa"), b = new FakeDomain(2, store, "mac=00:16:3e:00:00:bb");
        for (FakeDomain d : List.of(a, b)) {
            domains.add(d);
            d.executor().execute(() -> netback.attach(d));
            FakeDomain.awaitDevices(d);
        }
        JavaNetfront na = new JavaNetfront(a, 0, (byte) 0xa1), nb = new JavaNetfront(b, 0, (byte) 0xb2);
        na.connect();
        nb.connect();
        assertTrue(na.awaitBackendState("4", 5000) && nb.awaitBackendState("4", 5000), a.log + " " + b.log);
        na.postRx(256);
        nb.postRx(256);
        return new JavaNetfront[] { na, nb };
    }

    @Test
    void netbackOffersTsoAndSegmentsWhatTheFrontendSends() throws Exception {
        JavaNetfront[] p = pair();
        String be = "/local/domain/0/backend/vif/1/0";
        assertEquals("1", store.read(be + "/feature-gso-tcpv4"));
        assertEquals("1", store.read(be + "/feature-gso-tcpv6"));
        byte[] data = payload(60_000);
        byte[] packet = tcp(false, data, 0, data.length, 1000, 7, TCP_ACK | TCP_PSH);
        assertEquals(60_066, packet.length);
        // 16 data slots of 3996 bytes (and the rest) plus the GSO extra: as netfront lays out a 64 KiB skb
        p[0].sendGso(packet, VifRings.NETTXF_CSUM_BLANK | VifRings.NETTXF_DATA_VALIDATED, 3996, 1448, TcpSegmenter.GSO_TCPV4);
        List<int[]> rsp = p[0].awaitTxResponses(17, 5000);
        assertEquals(17, rsp.size());
        assertEquals(16, rsp.stream().filter(r -> r[1] == VifRings.RSP_OKAY).count(), "every data slot OKAY");
        assertEquals(1, rsp.stream().filter(r -> r[1] == VifRings.RSP_NULL).count(), "the extra slot NULL");
        int segments = (60_000 + 1447) / 1448;
        List<byte[]> got = p[1].receive(segments, 10_000);
        assertEquals(segments, got.size());
        for (int k = 0; k < segments; k++) {
            assertArrayEquals(expectedSegment(false, data, 1448, k, segments, 1000, 7, TCP_ACK | TCP_PSH), got.get(k), "segment " + k);
        }
        assertEquals(0, p[1].receive(1, 200).size(), "nothing more");
        assertEquals(segments, netback.list(1).get(0).counters().rxFrames(), "the switch took " + segments + " frames from vif1.0");
        assertEquals(0, domains.get(0).internalErrors.get(), domains.get(0).errors.toString());
    }

    @Test
    void badGsoRequestsGetErrorsAndSendNothing() throws Exception {
        JavaNetfront[] p = pair();
        byte[] data = payload(5000);
        byte[] packet = tcp(false, data, 0, data.length, 1, 1, TCP_ACK);
        // MSS 0, an unknown GSO type, a second GSO extra, a multicast-control extra, a GSO UDP frame, segments over the MTU
        p[0].sendGso(packet, VifRings.NETTXF_CSUM_BLANK, 3000, 0, TcpSegmenter.GSO_TCPV4);
        p[0].sendGso(packet, VifRings.NETTXF_CSUM_BLANK, 3000, 1448, 9);
        int ref = domains.get(0).grant((byte) 0);
        domains.get(0).page(ref).write(0, packet, 0, 3000);
        p[0].txRaw(ref, 0, VifRings.NETTXF_EXTRA_INFO, 40, 3000);
        p[0].txExtra(VifRings.XEN_NETIF_EXTRA_TYPE_GSO, VifRings.XEN_NETIF_EXTRA_FLAG_MORE, 1448, TcpSegmenter.GSO_TCPV4);
        p[0].txExtra(VifRings.XEN_NETIF_EXTRA_TYPE_GSO, 0, 1448, TcpSegmenter.GSO_TCPV4);
        p[0].txRaw(ref, 0, VifRings.NETTXF_EXTRA_INFO, 41, 3000);
        p[0].txExtra(2, 0, 0, 0); // XEN_NETIF_EXTRA_TYPE_MCAST_ADD
        p[0].pushTx();
        p[0].sendGso(NetbackTest.udpFrame(MAC_B, MAC_A, 3000, true), VifRings.NETTXF_CSUM_BLANK, 4000, 1448, TcpSegmenter.GSO_TCPV4);
        p[0].sendGso(packet, VifRings.NETTXF_CSUM_BLANK, 3000, 3000, TcpSegmenter.GSO_TCPV4);
        // 2 + 1 extra, 2 + 1, 1 + 2, 1 + 1, 1 + 1, 2 + 1 slots
        List<int[]> rsp = p[0].awaitTxResponses(16, 5000);
        assertEquals(16, rsp.size());
        assertEquals(9, rsp.stream().filter(r -> r[1] == VifRings.RSP_ERROR).count(), "every data slot an error");
        assertEquals(7, rsp.stream().filter(r -> r[1] == VifRings.RSP_NULL).count(), "every extra slot NULL");
        assertEquals(0, p[1].receive(1, 300).size(), "nothing reached the other guest");
        // and a good one still goes through
        p[0].sendGso(packet, VifRings.NETTXF_CSUM_BLANK, 3000, 1448, TcpSegmenter.GSO_TCPV4);
        assertEquals(4, p[1].receive(4, 5000).size());
        assertEquals(0, domains.get(0).internalErrors.get(), domains.get(0).errors.toString());
        assertEquals(6, netback.list(1).get(0).refused(), "six refused packets counted");
    }
}
