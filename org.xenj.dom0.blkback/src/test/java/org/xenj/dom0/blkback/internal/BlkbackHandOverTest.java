package org.xenj.dom0.blkback.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.xenj.dom0.block.internal.BlockImagesService;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.spi.backend.BackendInstance;

/**
 * Blkback replaced while its frontend does I/O, as {@code bundle:update org.xenj.dom0.blkback}
 * does it through the hypervisor's backend host: the old instance quiesces and gives its record,
 * it is detached, a new {@link BlkbackService} takes the domain over from the record. The Java
 * frontend keeps writing and reading 4 KiB blocks throughout on a real ring over a real image;
 * every request must be answered exactly once, OKAY, with the right data — and the frontend's
 * xenstore view never changes (no reconnect).
 */
class BlkbackHandOverTest {

    static final int XVDA = 51712;
    static final int SECTORS = 16384; // 8 MiB
    static final int SLOTS = 256; // 4 KiB blocks the frontend uses
    static final int HAND_OVERS = 12;

    @TempDir
    Path tmp;
    final BlockImagesService images = new BlockImagesService();
    FakeXen xen;
    BackendInstance instance;
    final List<Long> pausesNanos = Collections.synchronizedList(new ArrayList<>());

    @AfterEach
    void tearDown() throws Exception {
        if (xen != null) {
            assertTrue(xen.internalErrors.isEmpty(), "exceptions escaped to the executor: " + xen.internalErrors);
            xen.shutdown();
        }
        images.close();
    }

    private Path image() throws Exception {
        Path p = tmp.resolve("disk.img");
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(SECTORS * 512L);
        }
        return p;
    }

    private TestFrontend start(Path img, BlkifAbi abi, int order) throws Exception {
        xen = new FakeXen(5, DomainConfig.builder("t").disks(List.of("format=raw, vdev=xvda, access=rw, target=" + img)).build());
        xen.quietLog = true;
        BlkbackService blkback = new BlkbackService(images);
        xen.executor().execute(() -> instance = blkback.attach(xen));
        xen.sync();
        xen.sync();
        TestFrontend f = new TestFrontend(xen, XVDA, abi, order).connect();
        BlkbackTest.waitState(f, "4");
        return f;
    }

    /** What the backend host does: quiesce and save, detach, a new blkback attaches with the record. */
    private void handOver(Runnable whileNobodyServes) throws Exception {
        long t0 = System.nanoTime();
        BackendInstance old = instance;
        byte[] state = old.saveState();
        assertNotNull(state, "blkback gives a record");
        xen.executor().execute(old::detach);
        xen.sync();
        whileNobodyServes.run();
        BlkbackService next = new BlkbackService(images);
        CompletableFuture<BackendInstance> attached = new CompletableFuture<>();
        xen.executor().execute(() -> {
            try {
                attached.complete(next.attach(xen, state));
            } catch (Throwable t) {
                attached.completeExceptionally(t);
            }
        });
        instance = attached.get(10, TimeUnit.SECONDS);
        pausesNanos.add(System.nanoTime() - t0);
    }

    static byte[] pattern(int slot, int version) {
        byte[] b = new byte[4096];
        if (version == 0) {
            return b;
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) (slot * 31 + version * 7 + i * 13 ^ i >> 8);
        }
        return b;
    }

    /** The guest: up to 24 requests in flight, each on a block nobody else touches meanwhile. */
    static final class Workload implements Runnable {
        record Req(int slot, boolean write, int version, int pageIndex, FakeXen.Grant page) {
        }

        final TestFrontend f;
        final SplittableRandom rnd = new SplittableRandom(42);
        final int[] version = new int[SLOTS];
        final boolean[] busy = new boolean[SLOTS];
        final Map<Long, Req> outstanding = new HashMap<>();
        final FakeXen.Grant[] pages;
        /** Pages not under any request: responses come back out of order, so a ring slot's index is no free page. */
        final java.util.ArrayDeque<Integer> freePages = new java.util.ArrayDeque<>();
        volatile boolean stop;
        volatile long issued, completed;
        final AtomicReference<Throwable> failure = new AtomicReference<>();

        Workload(TestFrontend f) {
            this.f = f;
            pages = new FakeXen.Grant[f.ringSize];
            for (int i = 0; i < pages.length; i++) {
                pages[i] = f.xen.grant(50_000 + i, false);
                freePages.add(i);
            }
        }

        @Override
        public void run() {
            try {
                long nextId = 1;
                while (!stop || !outstanding.isEmpty()) {
                    int queued = 0;
                    while (!stop && outstanding.size() < 24) {
                        int slot = rnd.nextInt(SLOTS);
                        if (busy[slot]) {
                            continue;
                        }
                        boolean write = version[slot] == 0 || rnd.nextBoolean();
                        int idx = freePages.remove();
                        FakeXen.Grant page = pages[idx];
                        int v = write ? version[slot] + 1 : version[slot];
                        System.arraycopy(write ? pattern(slot, v) : new byte[4096], 0, page.page, 0, 4096);
                        long id = nextId++ * 1_000_003L; // ids far apart: a response with a wrong id is no one's
                        f.queue(f.rw(write ? Blkif.OP_WRITE : Blkif.OP_READ, id, slot * 8L, new int[][] {{50_000 + idx, 0, 7}}));
                        outstanding.put(id, new Req(slot, write, v, idx, page));
                        busy[slot] = true;
                        issued++;
                        queued++;
                    }
                    if (queued > 0) {
                        f.push();
                    }
                    for (long[] r : f.poll()) {
                        Req q = outstanding.remove(r[0]);
                        if (q == null) {
                            throw new AssertionError("response for id " + r[0] + " that is not outstanding (answered twice?)");
                        }
                        if (r[2] != 0 || r[1] != (q.write ? Blkif.OP_WRITE : Blkif.OP_READ)) {
                            throw new AssertionError("request " + r[0] + " answered op " + r[1] + " status " + r[2]);
                        }
                        if (q.write) {
                            version[q.slot] = q.version;
                        } else if (!Arrays.equals(pattern(q.slot, q.version), q.page.page)) {
                            throw new AssertionError("read of block " + q.slot + " (version " + q.version + ") got other data");
                        }
                        busy[q.slot] = false;
                        freePages.add(q.pageIndex);
                        completed++;
                    }
                    Thread.sleep(0, 100_000);
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        }
    }

    private Map<String, String> xenstoreOf(TestFrontend f) {
        Map<String, String> m = new TreeMap<>();
        synchronized (xen.store) {
            xen.store.forEach((k, v) -> {
                if (k.startsWith(f.fe) || k.startsWith(f.be)) {
                    m.put(k, v);
                }
            });
        }
        return m;
    }

    @ParameterizedTest(name = "{0}, ring order {1}")
    @CsvSource({"X86_64, 0", "X86_32, 2"})
    void replacedTwelveTimesUnderContinuousIoNoRequestIsLostDuplicatedOrWrong(BlkifAbi abi, int order) throws Exception {
        Path img = image();
        TestFrontend f = start(img, abi, order);
        Map<String, String> before = xenstoreOf(f);
        Workload w = new Workload(f);
        Thread guest = new Thread(w, "guest-blkfront");
        guest.start();
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < HAND_OVERS; i++) {
            long seen = w.completed;
            long end = System.currentTimeMillis() + 10_000;
            while (w.completed < seen + 50 + r.nextInt(200) && w.failure.get() == null && System.currentTimeMillis() < end) {
                Thread.sleep(1);
            }
            assertNull(w.failure.get(), () -> "guest: " + w.failure.get());
            assertTrue(w.completed > seen, "I/O goes on after hand-over " + i + "; log " + xen.log);
            handOver(() -> { });
            assertEquals("4", f.beState(), "the backend stays Connected across the hand-over");
        }
        w.stop = true;
        guest.join(20_000);
        assertNull(w.failure.get(), () -> "guest: " + w.failure.get());
        assertTrue(w.outstanding.isEmpty(), w.outstanding.size() + " requests never answered");
        assertEquals(w.issued, w.completed, "every request answered exactly once");
        assertEquals(before, xenstoreOf(f), "the frontend's and backend's directories are as before: no reconnect");
        assertTrue(xen.log.stream().filter(l -> l.startsWith("took over 1 vbd")).count() == HAND_OVERS, xen.log.toString());

        // the image itself holds the last version of every block
        xen.executor().execute(instance::detach);
        xen.sync();
        try (RandomAccessFile file = new RandomAccessFile(img.toFile(), "r")) {
            byte[] b = new byte[4096];
            for (int slot = 0; slot < SLOTS; slot++) {
                file.seek(slot * 4096L);
                file.readFully(b);
                assertArrayEquals(pattern(slot, w.version[slot]), b, "block " + slot + " in the image");
            }
        }
        List<Long> sorted = new ArrayList<>(pausesNanos);
        Collections.sort(sorted);
        System.out.printf("[hand-over] blkback %s order %d: %d hand-overs under I/O, %d requests, pause median %.2f ms, max %.2f ms%n",
                abi, order, HAND_OVERS, w.completed, sorted.get(sorted.size() / 2) / 1e6, sorted.get(sorted.size() - 1) / 1e6);
    }

    @Test
    void withNoBlkbackTheRequestsWaitOnTheRingUntilOneTakesOver() throws Exception {
        TestFrontend f = start(image(), BlkifAbi.X86_64, 0);
        FakeXen.Grant page = xen.grant(60_000, false);
        int[] consumedWhileAlone = new int[1];
        handOver(() -> {
            for (int i = 0; i < 5; i++) {
                f.queue(f.rw(Blkif.OP_READ, 900 + i, i * 8L, new int[][] {{60_000, 0, 7}}));
            }
            f.push(); // nobody listens: dropped, as Xen drops a send on an unbound port
            try {
                Thread.sleep(200);
                xen.sync();
            } catch (Exception e) {
                throw new AssertionError(e);
            }
            consumedWhileAlone[0] = f.poll().size();
            assertEquals(0, f.get32(8), "no response while no blkback serves the ring");
        });
        assertEquals(0, consumedWhileAlone[0]);
        List<long[]> rs = f.responses(5);
        List<Long> ids = new ArrayList<>();
        for (long[] r : rs) {
            ids.add(r[0]);
            assertEquals(0, r[2], "status of request " + r[0]);
        }
        Collections.sort(ids);
        assertEquals(List.of(900L, 901L, 902L, 903L, 904L), ids, "each waiting request answered once");
        assertNotNull(page);
        assertEquals("4", f.beState());
    }
}
