package org.xenj.dom0.vswitch.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.xenj.dom0.vswitch.api.Bridge;
import org.xenj.dom0.vswitch.api.Frames;
import org.xenj.dom0.vswitch.api.MacEntry;
import org.xenj.dom0.vswitch.api.Port;
import org.xenj.dom0.vswitch.api.PortCounters;

/** Learning, flooding, ageing, counters, bounded queues and where receivers run. */
class LearningBridgeTest {

    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final List<String> log = new CopyOnWriteArrayList<>();
    private final SwitchService sw = new SwitchService(now::get, log::add, 300_000);
    private final List<ExecutorService> executors = new CopyOnWriteArrayList<>();

    @AfterEach
    void tearDown() {
        sw.close();
        executors.forEach(ExecutorService::shutdownNow);
    }

    /** A port whose frames land in a queue, received on its own thread. */
    private final class Nic {
        final BlockingQueue<ByteBuffer> got = new LinkedBlockingQueue<>();
        final List<Thread> threads = new CopyOnWriteArrayList<>();
        final Port port;

        Nic(Bridge b, String name) {
            ExecutorService ex = Executors.newSingleThreadExecutor(r -> new Thread(r, "nic-" + name));
            executors.add(ex);
            port = b.attach(name, ex, (f, len) -> {
                threads.add(Thread.currentThread());
                got.add(ByteBuffer.wrap(f, 0, len).slice());
            });
        }

        ByteBuffer next() throws InterruptedException {
            return got.poll(5, TimeUnit.SECONDS);
        }

        ByteBuffer none() throws InterruptedException {
            return got.poll(200, TimeUnit.MILLISECONDS);
        }
    }

    static byte[] frame(long dst, long src, int payload) {
        byte[] f = new byte[14 + payload];
        Frames.put(dst, f, 0);
        Frames.put(src, f, 6);
        f[12] = 0x08;
        for (int i = 14; i < f.length; i++) {
            f[i] = (byte) i;
        }
        return f;
    }

    static final long A = 0x00163e000001L, B = 0x00163e000002L, C = 0x00163e000003L, BCAST = 0xffffffffffffL;

    @Test
    void aParkedPortKeepsItsFramesAndAddressesForTheNextPortOfItsName() throws Exception {
        Bridge br = sw.bridge("xenbr0");
        Nic a = new Nic(br, "a"), b = new Nic(br, "vif1.0");
        byte[] hello = frame(A, B, 20);
        b.port.send(hello, hello.length); // the bridge learns B on vif1.0
        assertNotNull(a.next());
        b.port.park(); // a backend hand-over begins
        for (int i = 0; i < 5; i++) {
            byte[] f = frame(B, A, 30 + i);
            a.port.send(f, f.length);
        }
        assertNull(b.none(), "the parked port's receiver is never called again");
        Nic b2 = new Nic(br, "vif1.0"); // the next backend's port of the same name
        for (int i = 0; i < 5; i++) {
            ByteBuffer got = b2.next();
            assertNotNull(got, "frame " + i + " waited for the new port");
            assertEquals(14 + 30 + i, got.remaining(), "in order");
        }
        byte[] later = frame(B, A, 99);
        a.port.send(later, later.length);
        assertEquals(113, b2.next().remaining(), "B's address moved to the new port: no flooding needed, nothing lost");
        assertEquals(2, br.ports().size(), "the parked port left the bridge");
        assertEquals("vif1.0", br.macTable().stream().filter(m -> m.mac().equals("00:16:3e:00:00:02")).findFirst().get().port());
    }

    @Test
    void unknownDestinationsFloodThenLearnedOnesGoToOnePort() throws Exception {
        Bridge br = sw.bridge("xenbr0");
        Nic a = new Nic(br, "a"), b = new Nic(br, "b"), c = new Nic(br, "c");
        byte[] f1 = frame(B, A, 50);
        assertTrue(a.port.send(f1, f1.length));
        assertNotNull(b.next(), "flooded to b");
        assertNotNull(c.next(), "flooded to c");
        assertNull(a.none(), "never back to the sender");

        byte[] f2 = frame(A, B, 60); // B answers: A is known, goes to a only
        b.port.send(f2, f2.length);
        ByteBuffer got = a.next();
        assertNotNull(got);
        assertEquals(74, got.remaining());
        assertNull(c.none(), "a learned unicast is not flooded");

        byte[] f3 = frame(B, A, 10); // now B is known too
        a.port.send(f3, f3.length);
        assertNotNull(b.next());
        assertNull(c.none());
        assertEquals(List.of("00:16:3e:00:00:01", "00:16:3e:00:00:02"), br.macTable().stream().map(MacEntry::mac).toList());
        assertEquals("a", br.macTable().get(0).port());
    }

    @Test
    void broadcastAndMulticastReachEveryOtherPortAndShareOneArray() throws Exception {
        Bridge br = sw.bridge("xenbr0");
        Nic a = new Nic(br, "a"), b = new Nic(br, "b"), c = new Nic(br, "c");
        byte[] arp = frame(BCAST, A, 28);
        a.port.send(arp, arp.length);
        ByteBuffer fb = b.next(), fc = c.next();
        assertEquals(fb, fc);
        assertSame(fb.array(), fc.array(), "one array for every port");
        assertSame(arp, fb.array(), "the sender's own array: the switch copies nothing");
        // no copy per port: changing the sender's array (which it must not do) shows through both views
        arp[20] = 99;
        assertEquals(99, fb.get(20));
        assertEquals(99, fc.get(20));

        byte[] mcast = frame(0x01005e000001L, B, 28); // learned B is a unicast address; the destination is a group
        b.port.send(mcast, mcast.length);
        assertNotNull(a.next());
        assertNotNull(c.next());
        assertEquals(2, br.macTable().size());
    }

    @Test
    void learnedAddressesAgeOutAndAreFloodedAgain() throws Exception {
        Bridge br = sw.bridge("xenbr0");
        Nic a = new Nic(br, "a"), b = new Nic(br, "b"), c = new Nic(br, "c");
        byte[] fromB = frame(BCAST, B, 10);
        b.port.send(fromB, fromB.length);
        a.next();
        c.next();
        now.addAndGet(299_000_000_000L);
        byte[] toB = frame(B, A, 10);
        a.port.send(toB, toB.length);
        assertNotNull(b.next());
        assertNull(c.none(), "still known after 299 s");
        now.addAndGet(302_000_000_000L); // B silent for 302 s
        assertFalse(br.macTable().stream().anyMatch(e -> e.mac().equals(Frames.format(B))), "B aged out");
        a.port.send(toB, toB.length);
        assertNotNull(b.next());
        assertNotNull(c.next(), "an aged-out address is unknown: flooded");
    }

    @Test
    void closingAPortForgetsItsAddresses() throws Exception {
        Bridge br = sw.bridge("xenbr0");
        Nic a = new Nic(br, "a"), b = new Nic(br, "b");
        byte[] f = frame(BCAST, B, 10);
        b.port.send(f, f.length);
        a.next();
        b.port.close();
        assertTrue(br.macTable().isEmpty());
        assertEquals(1, br.ports().size());
        assertFalse(b.port.send(f, f.length));
        assertEquals(1, b.port.counters().rxDrops());
    }

    @Test
    void countersCountFramesBytesAndDrops() throws Exception {
        Bridge br = sw.bridge("xenbr0");
        Nic a = new Nic(br, "a"), b = new Nic(br, "b");
        for (int i = 0; i < 5; i++) {
            byte[] f = frame(B, A, 100);
            a.port.send(f, f.length);
            b.next();
        }
        assertFalse(a.port.send(new byte[13], 13), "runt");
        assertFalse(a.port.send(new byte[Frames.MAX_LENGTH + 1], Frames.MAX_LENGTH + 1), "giant");
        assertFalse(a.port.send(new byte[20], 21), "length past the array");
        assertEquals(new PortCounters(5, 570, 3, 0, 0, 0), a.port.counters());
        awaitCounters(b.port, 5);
        assertEquals(new PortCounters(0, 0, 0, 5, 570, 0), b.port.counters());
    }

    private static void awaitCounters(Port p, long txFrames) throws InterruptedException {
        long end = System.currentTimeMillis() + 5000;
        while (p.counters().txFrames() < txFrames && System.currentTimeMillis() < end) {
            Thread.sleep(5);
        }
    }

    @Test
    void aFullQueueDropsAndCountsInsteadOfBlockingTheSender() throws Exception {
        Bridge br = sw.bridge("xenbr0");
        Nic a = new Nic(br, "a");
        CountDownLatch release = new CountDownLatch(1);
        ExecutorService slow = Executors.newSingleThreadExecutor();
        executors.add(slow);
        List<ByteBuffer> got = new CopyOnWriteArrayList<>();
        Port stuck = br.attach("stuck", slow, 8, (f, len) -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            got.add(ByteBuffer.wrap(f, 0, len));
        });
        long t0 = System.nanoTime();
        for (int i = 0; i < 1000; i++) {
            byte[] f = frame(BCAST, A, 10);
            a.port.send(f, f.length);
        }
        assertTrue(System.nanoTime() - t0 < 2_000_000_000L, "the sender never waits for a slow receiver");
        assertTrue(stuck.queued() <= 8);
        release.countDown();
        long end = System.currentTimeMillis() + 5000;
        while (stuck.counters().txFrames() + stuck.counters().txDrops() < 1000 && System.currentTimeMillis() < end) {
            Thread.sleep(5);
        }
        PortCounters c = stuck.counters();
        assertTrue(c.txFrames() <= 9, "at most the queue (plus the one in the receiver) got through: " + c);
        assertEquals(1000, c.txFrames() + c.txDrops(), "every frame delivered or counted as dropped: " + c);
    }

    @Test
    void receiversRunOnTheirPortsExecutorNeverOnTheSendersThread() throws Exception {
        Bridge br = sw.bridge("xenbr0");
        Nic a = new Nic(br, "a"), b = new Nic(br, "b");
        byte[] f = frame(BCAST, A, 10);
        a.port.send(f, f.length);
        b.next();
        assertEquals(1, b.threads.size());
        assertEquals("nic-b", b.threads.get(0).getName());
        assertNotSame(Thread.currentThread(), b.threads.get(0));
    }

    @Test
    void aReceiverThatThrowsCostsOneDropAndOneLogLine() throws Exception {
        Bridge br = sw.bridge("xenbr0");
        Nic a = new Nic(br, "a");
        ExecutorService ex = Executors.newSingleThreadExecutor();
        executors.add(ex);
        Port bad = br.attach("bad", ex, (f, len) -> {
            throw new IllegalStateException("boom");
        });
        for (int i = 0; i < 3; i++) {
            byte[] f = frame(BCAST, A, 10);
            a.port.send(f, f.length);
        }
        long end = System.currentTimeMillis() + 5000;
        while (bad.counters().txDrops() < 3 && System.currentTimeMillis() < end) {
            Thread.sleep(5);
        }
        assertEquals(3, bad.counters().txDrops());
        assertEquals(1, log.stream().filter(l -> l.contains("boom")).count(), log.toString());
    }

    @Test
    void bridgesAreNamedCreatedOnDemandAndSeparate() throws Exception {
        Bridge one = sw.bridge("xenbr0"), two = sw.bridge("xenbr1");
        assertSame(one, sw.bridge("xenbr0"));
        assertEquals(List.of("xenbr0", "xenbr1"), sw.bridges().stream().map(Bridge::name).toList());
        assertThrows(IllegalArgumentException.class, () -> sw.bridge("no spaces"));
        assertThrows(IllegalArgumentException.class, () -> sw.bridge("sixteen-chars-xx"));
        Nic a = new Nic(one, "a"), b = new Nic(two, "b");
        byte[] f = frame(BCAST, A, 10);
        a.port.send(f, f.length);
        assertNull(b.none(), "no traffic between bridges");
        assertEquals("none", one.hostLink());
    }

    @Test
    void macHelpersRoundTrip() {
        assertEquals(0x00163e0a0b0cL, Frames.parse("00:16:3e:0a:0b:0c"));
        assertEquals("00:16:3e:0a:0b:0c", Frames.format(0x00163e0a0b0cL));
        assertTrue(Frames.isGroup(BCAST));
        assertFalse(Frames.isGroup(A));
        assertThrows(IllegalArgumentException.class, () -> Frames.parse("00:16:3e:0a:0b"));
        assertThrows(IllegalArgumentException.class, () -> Frames.parse("00:16:3e:0a:0b:0g"));
    }
}
