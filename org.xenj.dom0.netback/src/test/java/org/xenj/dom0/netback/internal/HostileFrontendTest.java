package org.xenj.dom0.netback.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.xenj.dom0.vswitch.api.Port;
import org.xenj.dom0.vswitch.internal.SwitchService;

/**
 * A netfront that lies: bad grant refs, zero-length and oversize frames, endless fragment chains,
 * indices out of range, floods, and a million random tx requests. It gets error responses or a
 * disconnect with a log line; netback never throws on its executor, the other guest keeps
 * working, and no frame carries a byte that was not the sender's own.
 */
class HostileFrontendTest {

    final List<String> switchLog = new CopyOnWriteArrayList<>();
    final SwitchService sw = new SwitchService(System::nanoTime, switchLog::add, 300_000);
    final Netback netback = new Netback(sw);
    final FakeDomain.Store store = new FakeDomain.Store();
    final List<FakeDomain> domains = new ArrayList<>();
    final ExecutorService sniffer = Executors.newSingleThreadExecutor();

    @AfterEach
    void tearDown() {
        domains.forEach(FakeDomain::shutdown);
        sniffer.shutdownNow();
        netback.close();
        sw.close();
    }

    JavaNetfront connected(int domid, byte fill) throws Exception {
        FakeDomain d = new FakeDomain(domid, store, String.format("mac=00:16:3e:00:00:%02x", domid));
        domains.add(d);
        d.executor().execute(() -> netback.attach(d));
        JavaNetfront nf = new JavaNetfront(d, 0, fill);
        FakeDomain.awaitDevices(d);
        nf.connect();
        assertTrue(nf.awaitBackendState("4", 5000), d.log.toString());
        nf.postRx(256);
        return nf;
    }

    /** Every frame on the bridge, checked to be made of one byte value, one of {@code allowed} (each guest's memory has its own). */
    static final class Sniffer {
        final AtomicLong frames = new AtomicLong(), foreign = new AtomicLong();
        volatile String firstForeign;
    }

    Sniffer sniff(byte... allowed) {
        Sniffer s = new Sniffer();
        sw.bridge("xenbr0").attach("sniffer", sniffer, 4096, (f, len) -> {
            s.frames.incrementAndGet();
            boolean known = false;
            for (byte a : allowed) {
                known |= f[0] == a;
            }
            for (int i = 0; i < len; i++) {
                if (!known || f[i] != f[0]) {
                    s.foreign.incrementAndGet();
                    if (s.firstForeign == null) {
                        s.firstForeign = "byte " + i + " = " + f[i] + " in a frame of " + len;
                    }
                    return;
                }
            }
        });
        return s;
    }

    void assertOtherGuestStillWorks(JavaNetfront victim, JavaNetfront peer) throws Exception {
        // first the victim takes what is queued for it (a flood may have filled its ring and backlog)
        while (!victim.receive(10_000, 300).isEmpty()) {
            victim.postRx(256);
        }
        victim.postRx(256);
        byte[] f = NetbackTest.udpFrame(0x00163e000000L | victim.dom.domid, 0x00163e000000L | peer.dom.domid, 64, false);
        peer.send(f, 0, 4096);
        List<byte[]> got = victim.receive(50, 3000);
        assertTrue(got.stream().anyMatch(g -> java.util.Arrays.equals(g, f)), "the other guest still gets its frames");
        assertEquals(0, victim.dom.internalErrors.get(), victim.dom.errors.toString());
        assertEquals(0, peer.dom.internalErrors.get(), peer.dom.errors.toString());
    }

    @Test
    void badGrantRefsZeroLengthAndOversizeFramesGetErrors() throws Exception {
        JavaNetfront bad = connected(1, (byte) 0x11), good = connected(2, (byte) 0x22);
        Sniffer s = sniff((byte) 0x11);
        int page = bad.dom.grant((byte) 0x11);
        bad.txRaw(999_999, 0, 0, 1, 60); // not granted
        bad.txRaw(page, 0, 0, 2, 0); // zero length
        bad.txRaw(page, 0, 0, 3, 13); // shorter than a header
        bad.txRaw(page, 0, 0, 4, 1519); // past the MTU
        bad.txRaw(page, 4000, 0, 5, 200); // crosses the page
        bad.txRaw(page, 0, VifRings.NETTXF_MORE_DATA, 6, 100); // chain whose second slot is empty
        bad.txRaw(page, 0, 0, 7, 0);
        bad.txRaw(page, 0, VifRings.NETTXF_MORE_DATA, 8, 50); // fragments larger than the whole
        bad.txRaw(page, 0, 0, 9, 60);
        bad.pushTx();
        List<int[]> rsp = bad.awaitTxResponses(9, 5000);
        assertEquals(9, rsp.size());
        assertTrue(rsp.stream().allMatch(r -> r[1] == VifRings.RSP_ERROR), "all NETIF_RSP_ERROR");
        // a good frame still goes
        bad.txRaw(page, 0, 0, 10, 60);
        bad.pushTx();
        assertEquals(0, bad.awaitTxResponses(1, 5000).get(0)[1]);
        Thread.sleep(100);
        assertEquals(1, s.frames.get());
        assertEquals("4", bad.backendState(), "errors, not a disconnect");
        assertTrue(bad.dom.log.size() <= 12, "error lines are limited: " + bad.dom.log.size());
        assertOtherGuestStillWorks(good, bad);
    }

    @Test
    void anEndlessFragmentChainIsAnsweredWithErrorsAndDoesNotHang() throws Exception {
        JavaNetfront bad = connected(1, (byte) 0x11), good = connected(2, (byte) 0x22);
        int page = bad.dom.grant((byte) 0x11);
        for (int round = 0; round < 8; round++) { // 8 × 200 slots, every one "more data follows"
            for (int i = 0; i < 200; i++) {
                bad.txRaw(page, 0, VifRings.NETTXF_MORE_DATA, i, 64);
            }
            bad.pushTx();
            List<int[]> rsp = bad.awaitTxResponses(200, 5000);
            assertEquals(200, rsp.size(), "round " + round);
            assertTrue(rsp.stream().allMatch(r -> r[1] != VifRings.RSP_OKAY));
        }
        bad.txRaw(page, 0, 0, 1, 64); // the chain finally ends: its last slot is an error too
        bad.txRaw(page, 0, 0, 2, 64); // and the next frame is fine
        bad.pushTx();
        List<int[]> rsp = bad.awaitTxResponses(2, 5000);
        assertEquals(VifRings.RSP_ERROR, rsp.get(0)[1]);
        assertEquals(VifRings.RSP_OKAY, rsp.get(1)[1]);
        assertOtherGuestStillWorks(good, bad);
    }

    @Test
    void indicesOutOfRangeDisconnectThatGuestOnly() throws Exception {
        JavaNetfront bad = connected(1, (byte) 0x11), good = connected(2, (byte) 0x22);
        bad.txRing.write32(0, 100_000); // req_prod far past anything the ring holds
        bad.dom.kick();
        assertTrue(bad.awaitBackendState("5", 5000), "backend Closing after a broken ring");
        assertTrue(bad.dom.log.stream().anyMatch(l -> l.contains("disconnected")), bad.dom.log.toString());
        assertFalse(sw.bridge("xenbr0").ports().stream().map(Port::name).anyMatch("vif1.0"::equals));
        // rx indices: the other guest claims 10^6 buffers
        good.rxRing.write32(0, 1_000_000);
        JavaNetfront third = connected(3, (byte) 0x33);
        third.send(NetbackTest.udpFrame(0xffffffffffffL, 0x00163e000003L, 20, false), 0, 4096);
        assertTrue(good.awaitBackendState("5", 5000), "rx ring abuse disconnects too");
        assertEquals(0, bad.dom.internalErrors.get(), bad.dom.errors.toString());
        assertEquals(0, good.dom.internalErrors.get(), good.dom.errors.toString());
        assertEquals(0, third.dom.internalErrors.get(), third.dom.errors.toString());
    }

    @Test
    void aFloodIsServedInTurnsAndEveryRequestAnswered() throws Exception {
        JavaNetfront bad = connected(1, (byte) 0x11), good = connected(2, (byte) 0x22);
        int page = bad.dom.grant((byte) 0x11);
        byte[] hdr = NetbackTest.udpFrame(0xffffffffffffL, 0x00163e000001L, 0, false);
        bad.dom.page(page).write(0, hdr, 0, 14);
        long answered = 0;
        long t0 = System.nanoTime();
        for (int round = 0; round < 400; round++) { // 100,000 broadcast frames, a full ring at a time
            for (int i = 0; i < 250; i++) {
                bad.txRaw(page, 0, 0, i, 60);
            }
            bad.pushTx();
            answered += bad.awaitTxResponses(250, 10_000).size();
        }
        System.out.printf("[netback] flood: 100000 tx requests answered in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        assertEquals(100_000, answered);
        // the other guest's rx backlog is bounded: it got at most ring + backlog frames, the rest were dropped and counted
        assertOtherGuestStillWorks(good, bad);
    }

    @Test
    void fuzzAMillionRandomTxRequestsWithoutAnInternalErrorOrAForeignByte() throws Exception {
        JavaNetfront bad = connected(1, (byte) 0x11), other = connected(2, (byte) 0x22);
        // the fuzzer's grants include its own rings and rx buffers, whose content is not one byte value:
        // here every switched frame must only have a sane length (isolation has its own test below)
        AtomicLong frames = new AtomicLong(), badLength = new AtomicLong();
        sw.bridge("xenbr0").attach("sniffer", sniffer, 4096, (f, len) -> {
            frames.incrementAndGet();
            if (len < 14 || len > 1518) {
                badLength.incrementAndGet();
            }
        });
        List<Integer> pages = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            pages.add(bad.dom.grant((byte) 0x11));
        }
        // the other guest's pages exist in the same fake hypervisor; refs it granted are not the fuzzer's
        for (int i = 0; i < 16; i++) {
            other.dom.grant((byte) 0x22);
        }
        Random r = new Random(20261205L);
        long requests = 0, responses = 0;
        long t0 = System.nanoTime();
        byte[] otherFrame = new byte[100];
        java.util.Arrays.fill(otherFrame, (byte) 0x22);
        while (requests < 1_000_000) {
            int batch = 1 + r.nextInt(250);
            for (int i = 0; i < batch; i++) {
                int gref = switch (r.nextInt(8)) {
                    case 0 -> r.nextInt();
                    case 1 -> r.nextInt(64); // small refs: the rings, rx buffers, other pages
                    default -> pages.get(r.nextInt(pages.size()));
                };
                int offset = r.nextInt(8) == 0 ? r.nextInt(65536) : r.nextInt(4096);
                int flags = r.nextInt(4) == 0 ? r.nextInt(65536) : r.nextInt(16);
                int size = switch (r.nextInt(4)) {
                    case 0 -> r.nextInt(65536);
                    case 1 -> r.nextInt(64);
                    default -> r.nextInt(1600);
                };
                bad.txRaw(gref, offset, flags, r.nextInt(65536), size);
            }
            requests += batch;
            bad.pushTx();
            if (r.nextInt(16) == 0) {
                other.send(otherFrame, 0, 4096); // traffic of another domain through the same netback
            }
            int got = bad.awaitTxResponses(batch, 10_000).size();
            responses += got;
            assertEquals(batch, got, "every request answered (after " + requests + ")");
            assertEquals("4", bad.backendState(), "random requests never break the ring: " + bad.dom.log);
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        Thread.sleep(200);
        System.out.printf("[netback] fuzz: %d random tx requests, %d responses, %d frames switched, %d internal errors, %.1f s%n",
                requests, responses, frames.get(), bad.dom.internalErrors.get(), secs);
        assertEquals(0, bad.dom.internalErrors.get(), bad.dom.errors.toString());
        assertEquals(0, other.dom.internalErrors.get(), other.dom.errors.toString());
        assertTrue(frames.get() > 1000, "some random requests were valid frames: " + frames.get());
        assertEquals(0, badLength.get(), "frames shorter than a header or longer than the MTU allows");
    }

    @Test
    void noByteOfAnotherDomainsMemoryAppearsInAFrame() throws Exception {
        JavaNetfront a = connected(1, (byte) 0xaa), b = connected(2, (byte) 0xbb);
        // frames from A: any byte that is not A's (0xaa) is a leak, whether from B, from netback's buffers or stale data
        Sniffer fromA = new Sniffer();
        sw.bridge("xenbr0").attach("sniffer", sniffer, 4096, (f, len) -> {
            byte owner = f[6 + 5] == 0x01 ? (byte) 0xaa : (byte) 0xbb; // source MAC 00:16:3e:00:00:0N
            fromA.frames.incrementAndGet();
            for (int i = 12; i < len; i++) {
                if (f[i] != owner) {
                    fromA.foreign.incrementAndGet();
                    fromA.firstForeign = "frame of " + len + " from d" + f[11] + ": byte " + i + " = " + f[i];
                    return;
                }
            }
        });
        Random r = new Random(7);
        List<Integer> pagesA = new ArrayList<>(), pagesB = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            int pa = a.dom.grant((byte) 0xaa), pb = b.dom.grant((byte) 0xbb);
            // at offset 0 of each page: destination (the other guest) and source MAC
            // broadcast, so that the sniffer sees every frame (a learned unicast would go to the other guest only)
            a.dom.page(pa).write(0, new byte[] { -1, -1, -1, -1, -1, -1, 0, 0x16, 0x3e, 0, 0, 1 }, 0, 12);
            b.dom.page(pb).write(0, new byte[] { -1, -1, -1, -1, -1, -1, 0, 0x16, 0x3e, 0, 0, 2 }, 0, 12);
            pagesA.add(pa);
            pagesB.add(pb);
        }
        int sent = 0;
        List<byte[]> receivedByA = new ArrayList<>();
        for (int round = 0; round < 1000; round++) {
            for (JavaNetfront n : List.of(a, b)) {
                List<Integer> pages = n == a ? pagesA : pagesB;
                int slots = 1 + r.nextInt(3);
                int first = 14 + r.nextInt(1000);
                int[] rest = new int[slots - 1];
                int total = first;
                for (int k = 0; k < rest.length; k++) {
                    rest[k] = 1 + r.nextInt(250);
                    total += rest[k];
                }
                // the first slot at offset 0 (the MACs), further ones anywhere in the sender's own pages
                n.txRaw(pages.get(r.nextInt(pages.size())), 0, slots > 1 ? VifRings.NETTXF_MORE_DATA : 0, 0, total);
                for (int k = 0; k < rest.length; k++) {
                    n.txRaw(pages.get(r.nextInt(pages.size())), 12 + r.nextInt(3000), k + 1 < rest.length ? VifRings.NETTXF_MORE_DATA : 0, k + 1,
                            rest[k]);
                }
                n.pushTx();
                n.awaitTxResponses(slots, 5000);
                sent++;
            }
            receivedByA.addAll(a.receive(10_000, 1));
            a.postRx(256);
            b.receive(10_000, 1);
            b.postRx(256);
        }
        Thread.sleep(300);
        receivedByA.addAll(a.receive(10_000, 200));
        System.out.printf("[netback] isolation: %d frames sent, %d seen on the bridge, %d with a foreign byte%n", sent, fromA.frames.get(),
                fromA.foreign.get());
        assertTrue(fromA.frames.get() > 1500, "frames flowed: " + fromA.frames.get());
        assertEquals(0, fromA.foreign.get(), fromA.firstForeign);
        // what reached each guest's rx buffers came from the other one only
        assertTrue(receivedByA.size() > 250, "A received B's frames: " + receivedByA.size());
        for (byte[] f : receivedByA) {
            for (int i = 12; i < f.length; i++) {
                assertEquals((byte) 0xbb, f[i], "A received a byte that is not B's");
            }
        }
        assertEquals(0, a.dom.internalErrors.get(), a.dom.errors.toString());
        assertEquals(0, b.dom.internalErrors.get(), b.dom.errors.toString());
    }
}
