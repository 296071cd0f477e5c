package org.xenj.dom0.blkback.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xenj.dom0.blkback.internal.TestFrontend.assertOk;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.xenj.dom0.block.internal.BlockImagesService;
import org.xenj.dom0.blkback.api.VirtualDisk;
import org.xenj.hypervisor.api.DomainConfig;

/**
 * Blkback against a Java frontend: the handshake, every operation in both ABIs, multi-page
 * rings, indirect requests, read-only disks, hot-plug, and what a hostile frontend can do. The
 * disk is a real image file under the real block layer; data is checked in the file itself.
 */
class BlkbackTest {

    static final int XVDA = 51712;
    static final int SECTORS = 16384; // 8 MiB

    @TempDir
    Path tmp;
    final BlockImagesService images = new BlockImagesService();
    FakeXen xen;
    BlkbackService blkback;

    @AfterEach
    void tearDown() throws Exception {
        if (xen != null) {
            assertTrue(xen.internalErrors.isEmpty(), "exceptions escaped to the executor: " + xen.internalErrors);
            xen.shutdown();
        }
        images.close();
    }

    Path image(String name) throws Exception {
        Path p = tmp.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(SECTORS * 512L);
        }
        return p;
    }

    /** A domain with the given disk specs, attached to blkback; returns the frontend of the first disk. */
    TestFrontend start(BlkifAbi abi, int order, String... disks) throws Exception {
        xen = new FakeXen(5, DomainConfig.builder("t").disks(List.of(disks)).build());
        blkback = new BlkbackService(images);
        xen.executor().execute(() -> blkback.attach(xen));
        xen.sync();
        xen.sync();
        TestFrontend f = new TestFrontend(xen, XVDA, abi, order);
        f.connect();
        waitState(f, "4");
        return f;
    }

    static void waitState(TestFrontend f, String state) throws Exception {
        long end = System.currentTimeMillis() + 10_000;
        while (!state.equals(f.beState()) && System.currentTimeMillis() < end) {
            f.xen.sync();
            Thread.sleep(5);
        }
        assertEquals(state, f.beState(), "backend state; log: " + f.xen.log);
    }

    static byte[] fileBytes(Path p, long offset, int len) throws Exception {
        byte[] b = new byte[len];
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "r")) {
            f.seek(offset);
            f.readFully(b);
        }
        return b;
    }

    @Test
    void emulatedDiskNamesArePublishedForPvhvmFrontendsToo() throws Exception {
        Path a = image("a.raw");
        Path b = image("b.raw");
        xen = new FakeXen(5, DomainConfig.builder("t").disks(List.of("format=raw, vdev=hda, target=" + a,
                "format=raw, vdev=sdb, access=ro, target=" + b)).build());
        blkback = new BlkbackService(images);
        xen.executor().execute(() -> blkback.attach(xen));
        xen.sync();
        assertEquals("/local/domain/0/backend/vbd/5/768", xen.read("/local/domain/5/device/vbd/768/backend"));
        assertEquals("2064", xen.read("/local/domain/5/device/vbd/2064/virtual-device"));
        assertEquals("2", xen.read("/local/domain/0/backend/vbd/5/768/state"));
        TestFrontend f = new TestFrontend(xen, 768, BlkifAbi.X86_32, 0).connect();
        waitState(f, "4");
        int page = f.grantPage(false);
        assertOk(f.one(f.rw(Blkif.OP_WRITE, 1, 0, new int[][] {{page, 0, 7}}), Blkif.OP_WRITE));
    }

    @Test
    void handshakeWritesBothDirectoriesAndConnects() throws Exception {
        Path a = image("a.raw");
        TestFrontend f = start(BlkifAbi.X86_32, 0, "format=raw, vdev=xvda, access=rw, target=" + a);
        String be = "/local/domain/0/backend/vbd/5/" + XVDA;
        String fe = "/local/domain/5/device/vbd/" + XVDA;
        assertEquals(be, xen.read(fe + "/backend"));
        assertEquals("0", xen.read(fe + "/backend-id"));
        assertEquals(Integer.toString(XVDA), xen.read(fe + "/virtual-device"));
        assertEquals("disk", xen.read(fe + "/device-type"));
        assertEquals(List.of("n5", "r0"), xen.perms.get(fe + "/backend"), "the guest owns its end");
        assertEquals(List.of("n0", "r5"), xen.perms.get(be), "the guest may read Domain 0's end");
        assertEquals(fe, xen.read(be + "/frontend"));
        assertEquals("w", xen.read(be + "/mode"));
        assertEquals("1", xen.read(be + "/feature-flush-cache"));
        assertEquals("1", xen.read(be + "/feature-discard"));
        assertEquals("256", xen.read(be + "/feature-max-indirect-segments"));
        assertEquals("4", xen.read(be + "/max-ring-page-order"));
        assertEquals(Integer.toString(SECTORS), xen.read(be + "/sectors"));
        assertEquals("0", xen.read(be + "/info"));
        assertEquals("512", xen.read(be + "/sector-size"));
        assertEquals("512", xen.read(be + "/physical-sector-size"));
        assertEquals(32, f.ringSize);

        // frontend closes: backend follows, the image is closed (a second writer may open it now)
        xen.guestWrites(fe + "/state", "5");
        waitState(f, "5");
        xen.guestWrites(fe + "/state", "6");
        waitState(f, "6");
        images.open(a, org.xenj.dom0.block.api.ImageFormat.RAW, false).close();
        assertEquals(0, xen.mapped.get(), "ring pages unmapped");
        // and reconnects (a rebooted or reloaded frontend)
        xen.guestWrites(fe + "/state", "1");
        waitState(f, "2");
        TestFrontend again = new TestFrontend(xen, XVDA, BlkifAbi.X86_64, 0).connect();
        waitState(again, "4");
        int page = again.grantPage(false);
        assertOk(again.one(again.rw(Blkif.OP_READ, 9, 0, new int[][] {{page, 0, 7}}), Blkif.OP_READ));
    }

    @ParameterizedTest
    @EnumSource(BlkifAbi.class)
    void writeReadFlushBarrierDiscardInBothAbis(BlkifAbi abi) throws Exception {
        Path a = image("a.raw");
        TestFrontend f = start(abi, 0, "format=raw, vdev=xvda, access=rw, target=" + a);
        Random rnd = new Random(abi.ordinal());
        int p1 = f.grantPage(false);
        int p2 = f.grantPage(false);
        rnd.nextBytes(xen.grants.get(p1).page);
        rnd.nextBytes(xen.grants.get(p2).page);
        // sectors 2..7 of p1 then 0..3 of p2 -> disk sectors 100..109
        assertOk(f.one(f.rw(Blkif.OP_WRITE, 0xdead_beef_0000_0001L, 100, new int[][] {{p1, 2, 7}, {p2, 0, 3}}), Blkif.OP_WRITE));
        byte[] expect = new byte[10 * 512];
        System.arraycopy(xen.grants.get(p1).page, 1024, expect, 0, 3072);
        System.arraycopy(xen.grants.get(p2).page, 0, expect, 3072, 2048);
        assertArrayEquals(expect, fileBytes(a, 100 * 512L, expect.length));

        int r1 = f.grantPage(false);
        assertOk(f.one(f.rw(Blkif.OP_READ, 2, 100, new int[][] {{r1, 0, 7}}), Blkif.OP_READ));
        assertArrayEquals(Arrays.copyOf(expect, 4096), xen.grants.get(r1).page);

        assertOk(f.one(f.rw(Blkif.OP_FLUSH_DISKCACHE, 3, 0, new int[0][]), Blkif.OP_FLUSH_DISKCACHE));
        // a flush carrying data (Linux's FUA/preflush writes with feature-flush-cache)
        assertOk(f.one(f.rw(Blkif.OP_FLUSH_DISKCACHE, 4, 200, new int[][] {{p2, 0, 7}}), Blkif.OP_FLUSH_DISKCACHE));
        assertArrayEquals(xen.grants.get(p2).page, fileBytes(a, 200 * 512L, 4096));
        assertOk(f.one(f.rw(Blkif.OP_WRITE_BARRIER, 5, 300, new int[][] {{p1, 0, 7}}), Blkif.OP_WRITE_BARRIER));
        assertArrayEquals(xen.grants.get(p1).page, fileBytes(a, 300 * 512L, 4096));
        assertOk(f.one(f.rw(Blkif.OP_WRITE_BARRIER, 6, 0, new int[0][]), Blkif.OP_WRITE_BARRIER));
        assertOk(f.one(f.discard(7, 0, 64), Blkif.OP_DISCARD));
        assertOk(f.one(f.discard(8, SECTORS - 8, 8), Blkif.OP_DISCARD));
        assertTrue(f.xen.notifications.get() > 0, "the frontend was signalled");
    }

    @Test
    void indirectRequestsCarryManySegments() throws Exception {
        Path a = image("a.raw");
        TestFrontend f = start(BlkifAbi.X86_32, 0, "format=raw, vdev=xvda, access=rw, target=" + a);
        int n = 40;
        int[][] segs = new int[n][];
        byte[] expect = new byte[n * 4096];
        Random rnd = new Random(3);
        for (int i = 0; i < n; i++) {
            int ref = f.grantPage(false);
            rnd.nextBytes(xen.grants.get(ref).page);
            System.arraycopy(xen.grants.get(ref).page, 0, expect, i * 4096, 4096);
            segs[i] = new int[] {ref, 0, 7};
        }
        assertOk(f.one(f.indirect(Blkif.OP_WRITE, 11, 1000, segs), Blkif.OP_WRITE));
        assertArrayEquals(expect, fileBytes(a, 1000 * 512L, expect.length));
        int[][] back = new int[256][];
        for (int i = 0; i < back.length; i++) {
            back[i] = new int[] {f.grantPage(false), 0, 7};
        }
        assertOk(f.one(f.indirect(Blkif.OP_READ, 12, 1000, back), Blkif.OP_READ));
        for (int i = 0; i < n; i++) {
            assertArrayEquals(Arrays.copyOfRange(expect, i * 4096, i * 4096 + 4096), xen.grants.get(back[i][0]).page, "segment " + i);
        }
    }

    @Test
    void multiPageRingsHoldMoreRequests() throws Exception {
        Path a = image("a.raw");
        TestFrontend f = start(BlkifAbi.X86_64, 2, "format=raw, vdev=xvda, access=rw, target=" + a);
        assertEquals(128, f.ringSize);
        int page = f.grantPage(false);
        for (int i = 0; i < 128; i++) {
            f.queue(f.rw(Blkif.OP_READ, i, i * 8L, new int[][] {{page, 0, 7}}));
        }
        f.push();
        List<long[]> r = f.responses(128);
        assertEquals(128, r.size());
        assertTrue(r.stream().allMatch(x -> x[2] == 0), "all ok");
        assertEquals(128, r.stream().mapToLong(x -> x[0]).distinct().count());
        assertTrue(xen.log.stream().anyMatch(l -> l.contains("ring of 128 on 4 page(s)")), xen.log.toString());
    }

    @Test
    void readOnlyDisksRefuseWritesAndDiscards() throws Exception {
        Path a = image("a.raw");
        TestFrontend f = start(BlkifAbi.X86_32, 0, "format=raw, vdev=xvda, access=ro, target=" + a);
        String be = f.be;
        assertEquals("r", xen.read(be + "/mode"));
        assertEquals("4", xen.read(be + "/info"));
        assertNull(xen.read(be + "/feature-discard"));
        int page = f.grantPage(false);
        xen.grants.get(page).page[0] = 42;
        assertEquals(Blkif.RSP_ERROR, f.one(f.rw(Blkif.OP_WRITE, 1, 0, new int[][] {{page, 0, 7}}), Blkif.OP_WRITE));
        assertEquals(Blkif.RSP_ERROR, f.one(f.indirect(Blkif.OP_WRITE, 2, 0, new int[][] {{page, 0, 7}}), Blkif.OP_WRITE));
        assertEquals(Blkif.RSP_ERROR, f.one(f.discard(3, 0, 8), Blkif.OP_DISCARD));
        assertEquals(Blkif.RSP_ERROR, f.one(f.rw(Blkif.OP_FLUSH_DISKCACHE, 4, 0, new int[][] {{page, 0, 7}}), Blkif.OP_FLUSH_DISKCACHE));
        assertEquals(0, fileBytes(a, 0, 1)[0], "nothing was written");
        assertOk(f.one(f.rw(Blkif.OP_READ, 5, 0, new int[][] {{page, 0, 7}}), Blkif.OP_READ));
        assertEquals(0, xen.grants.get(page).page[0]);
    }

    @Test
    void hostileRequestsAreAnsweredWithErrors() throws Exception {
        Path a = image("a.raw");
        TestFrontend f = start(BlkifAbi.X86_64, 0, "format=raw, vdev=xvda, access=rw, target=" + a);
        int page = f.grantPage(false);
        int roPage = f.grantPage(true);
        short err = Blkif.RSP_ERROR;
        assertEquals(err, f.one(f.rw(Blkif.OP_READ, 1, 0, new int[][] {{9999, 0, 7}}), Blkif.OP_READ), "ungranted ref");
        assertEquals(err, f.one(f.rw(Blkif.OP_WRITE, 1, 0, new int[][] {{9999, 0, 7}}), Blkif.OP_WRITE), "ungranted ref");
        assertEquals(err, f.one(f.rw(Blkif.OP_READ, 2, 0, new int[][] {{roPage, 0, 7}}), Blkif.OP_READ), "read into a read-only grant");
        xen.grants.get(page).revoked = true;
        assertEquals(err, f.one(f.rw(Blkif.OP_WRITE, 3, 0, new int[][] {{page, 0, 7}}), Blkif.OP_WRITE), "revoked grant");
        page = f.grantPage(false);
        assertEquals(err, f.one(f.rw(Blkif.OP_READ, 4, SECTORS - 7, new int[][] {{page, 0, 7}}), Blkif.OP_READ), "past the end");
        assertEquals(err, f.one(f.rw(Blkif.OP_READ, 5, -1L, new int[][] {{page, 0, 7}}), Blkif.OP_READ), "sector 2^64-1");
        assertEquals(err, f.one(f.rw(Blkif.OP_READ, 6, 0, new int[0][]), Blkif.OP_READ), "no segments");
        assertEquals(err, f.one(f.rw(Blkif.OP_READ, 7, 0, fill(12, page)), Blkif.OP_READ), "12 segments");
        assertEquals(err, f.one(f.rw(Blkif.OP_READ, 8, 0, new int[][] {{page, 5, 2}}), Blkif.OP_READ), "first > last");
        assertEquals(err, f.one(f.rw(Blkif.OP_READ, 9, 0, new int[][] {{page, 0, 8}}), Blkif.OP_READ), "sector 8 of a page");
        assertEquals(err, f.one(f.discard(10, SECTORS, 1), Blkif.OP_DISCARD), "discard past the end");
        assertEquals(err, f.one(f.discard(11, 1, -1L), Blkif.OP_DISCARD), "discard of 2^64-1 sectors");
        assertEquals(err, f.one(f.indirect(Blkif.OP_READ, 12, 0, fill(257, page)), Blkif.OP_READ), "257 indirect segments");
        byte[] zero = f.indirect(Blkif.OP_READ, 13, 0, new int[0][]);
        assertEquals(err, f.one(zero, Blkif.OP_READ), "0 indirect segments");
        byte[] badPage = f.indirect(Blkif.OP_READ, 14, 0, new int[][] {{page, 0, 7}});
        TestFrontend.le(badPage, BlkifAbi.X86_64.indirectGrefsOffset(), 7777, 4);
        assertEquals(err, f.one(badPage, Blkif.OP_READ), "indirect page not granted");
        byte[] flushIndirect = f.indirect(Blkif.OP_FLUSH_DISKCACHE, 15, 0, new int[][] {{page, 0, 7}});
        assertEquals(err, f.one(flushIndirect, Blkif.OP_FLUSH_DISKCACHE), "indirect flush");
        byte[] unknown = f.rw(4, 16, 0, new int[0][]);
        assertEquals(Blkif.RSP_EOPNOTSUPP, f.one(unknown, 4), "reserved op 4");
        byte[] op99 = f.rw(99, 17, 0, new int[0][]);
        assertEquals(Blkif.RSP_EOPNOTSUPP, f.one(op99, 99), "op 99");
        // still serving
        assertOk(f.one(f.rw(Blkif.OP_READ, 18, 0, new int[][] {{page, 0, 7}}), Blkif.OP_READ));
        assertEquals("4", f.beState());
        assertTrue(xen.log.stream().anyMatch(l -> l.contains("request refused")), xen.log.toString());
        assertTrue(xen.log.stream().filter(l -> l.contains("request refused")).count() <= VbdConnection.LOGGED_BAD_REQUESTS,
                "refusals are rate-limited in dmesg");
    }

    static int[][] fill(int n, int page) {
        int[][] s = new int[n][];
        for (int i = 0; i < n; i++) {
            s[i] = new int[] {page, 0, 7};
        }
        return s;
    }

    @Test
    void aFloodBeyondTheRingDisconnectsWithALogLine() throws Exception {
        Path a = image("a.raw");
        TestFrontend f = start(BlkifAbi.X86_64, 0, "format=raw, vdev=xvda, access=rw, target=" + a);
        f.put32(0, 1000); // req_prod 1000 ahead on a ring of 32
        xen.signal(f.localPort());
        waitState(f, "5");
        assertTrue(xen.log.stream().anyMatch(l -> l.contains("broke the ring protocol") && l.contains("past req_cons")), xen.log.toString());
        assertEquals(0, xen.mapped.get(), "ring unmapped");
        assertTrue(xen.ports.isEmpty(), "event channel closed");
        // a frontend that fills the ring exactly is served: the flood limit is the ring
        xen.guestWrites(f.fe + "/state", "6");
        waitState(f, "6");
        xen.guestWrites(f.fe + "/state", "1");
        waitState(f, "2");
        TestFrontend g = new TestFrontend(xen, XVDA, BlkifAbi.X86_64, 0).connect();
        waitState(g, "4");
        int page = g.grantPage(false);
        for (int i = 0; i < 32; i++) {
            g.queue(g.rw(Blkif.OP_READ, i, 0, new int[][] {{page, 0, 7}}));
        }
        g.push();
        assertEquals(32, g.responses(32).size());
    }

    @Test
    void aFrontendThatVanishesMidRequestIsDroppedQuietly() throws Exception {
        Path a = image("a.raw");
        TestFrontend f = start(BlkifAbi.X86_64, 0, "format=raw, vdev=xvda, access=rw, target=" + a);
        int[][] segs = new int[11][];
        for (int i = 0; i < 11; i++) {
            segs[i] = new int[] {f.grantPage(false), 0, 7};
        }
        for (int i = 0; i < 32; i++) {
            f.queue(f.rw(i % 2 == 0 ? Blkif.OP_READ : Blkif.OP_WRITE, i, i * 88L, segs));
        }
        f.push();
        // the domain dies: grants revoked, ring page gone, its xenstore directory removed
        xen.grants.values().forEach(g -> g.revoked = true);
        xen.guestRemoves(f.fe);
        long end = System.currentTimeMillis() + 10_000;
        while (xen.read(f.be + "/state") != null && System.currentTimeMillis() < end) {
            xen.sync();
            Thread.sleep(5);
        }
        assertNull(xen.read(f.be + "/state"), "device removed once its frontend is gone; log " + xen.log);
        assertEquals(0, xen.mapped.get());
        images.open(a, org.xenj.dom0.block.api.ImageFormat.RAW, false).close();
    }

    @Test
    void badHandshakesEndInClosingWithTheReason() throws Exception {
        Path a = image("a.raw");
        xen = new FakeXen(5, DomainConfig.builder("t").disks(List.of("format=raw, vdev=xvda, target=" + a,
                "format=raw, vdev=xvdb, target=" + tmp.resolve("missing.raw"), "vdev=nonsense, target=/x")).build());
        blkback = new BlkbackService(images);
        xen.executor().execute(() -> blkback.attach(xen));
        xen.sync();
        assertTrue(xen.log.stream().anyMatch(l -> l.contains("'nonsense'")), "bad spec logged: " + xen.log);
        String fe = "/local/domain/5/device/vbd/" + XVDA;
        xen.guestWrites(fe + "/ring-ref", "8");
        xen.guestWrites(fe + "/event-channel", "7");
        xen.guestWrites(fe + "/protocol", "sparc-abi");
        xen.guestWrites(fe + "/state", "3");
        xen.sync();
        xen.sync();
        String be = "/local/domain/0/backend/vbd/5/" + XVDA;
        assertEquals("5", xen.read(be + "/state"));
        assertTrue(xen.read(be + "/error").contains("unknown protocol"), xen.read(be + "/error"));
        // the missing image: refused when the frontend connects, with the file's name
        String feB = "/local/domain/5/device/vbd/51728";
        xen.grant(8, false);
        xen.guestWrites(feB + "/ring-ref", "8");
        xen.guestWrites(feB + "/event-channel", "7");
        xen.guestWrites(feB + "/state", "3");
        xen.sync();
        xen.sync();
        assertEquals("5", xen.read("/local/domain/0/backend/vbd/5/51728/state"));
        assertTrue(xen.read("/local/domain/0/backend/vbd/5/51728/error").contains("missing.raw"));
        // ring-page-order above what we offer
        xen.guestWrites(feB + "/state", "6");
        xen.sync();
        xen.guestWrites(feB + "/state", "1");
        xen.sync();
        xen.guestWrites(feB + "/ring-page-order", "9");
        xen.guestWrites(feB + "/state", "3");
        xen.sync();
        xen.sync();
        assertTrue(xen.read("/local/domain/0/backend/vbd/5/51728/error").contains("ring-page-order 9"));
    }

    @Test
    void hotplugAttachListDetach() throws Exception {
        Path a = image("a.raw");
        Path c = image("c.raw");
        start(BlkifAbi.X86_32, 0, "format=raw, vdev=xvda, access=rw, target=" + a);
        VirtualDisk v = blkback.attach(5, "format=raw, vdev=xvdc, access=ro, target=" + c);
        assertEquals("xvdc", v.vdev());
        assertEquals(51744, v.devid());
        assertEquals(2, v.backendState());
        assertThrows(IllegalStateException.class, () -> blkback.attach(5, "vdev=xvdc, target=" + c), "vdev taken");
        assertThrows(IllegalArgumentException.class, () -> blkback.attach(5, "vdev=xvdc, bogus=1, target=" + c), "bad spec");
        assertThrows(IllegalStateException.class, () -> blkback.attach(6, "vdev=xvdc, target=" + c), "domain not served");
        assertThrows(IllegalArgumentException.class, () -> blkback.attach(5, "vdev=xvdd, target=" + tmp.resolve("none.raw")),
                "missing image");
        List<VirtualDisk> l = blkback.list(5);
        assertEquals(List.of("xvda", "xvdc"), l.stream().map(VirtualDisk::vdev).toList());
        assertEquals(4, l.get(0).backendState());
        assertEquals(SECTORS, l.get(0).sectors());

        // a connected frontend closes when asked, then the device goes
        String fe = "/local/domain/5/device/vbd/" + XVDA;
        Thread closer = new Thread(() -> {
            try {
                while (!"5".equals(xen.read("/local/domain/0/backend/vbd/5/" + XVDA + "/state"))) {
                    Thread.sleep(5);
                }
                xen.guestWrites(fe + "/state", "6");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        closer.start();
        blkback.detach(5, "xvda", false);
        closer.join();
        assertFalse(xen.exists(fe));
        assertFalse(xen.exists("/local/domain/0/backend/vbd/5/" + XVDA));
        // never connected: goes at once
        blkback.detach(5, "xvdc", false);
        assertEquals(List.of(), blkback.list(5));
        assertThrows(IllegalArgumentException.class, () -> blkback.detach(5, "xvdq", false));
    }

    @Test
    void forcedDetachOfAFrontendThatDoesNotAnswer() throws Exception {
        Path a = image("a.raw");
        start(BlkifAbi.X86_32, 0, "format=raw, vdev=xvda, access=rw, target=" + a);
        long t0 = System.nanoTime();
        blkback.detach(5, "xvda", true);
        assertTrue((System.nanoTime() - t0) / 1_000_000 >= BlkbackService.FORCED_DETACH_MILLIS - 100);
        assertEquals(List.of(), blkback.list(5));
        assertEquals(0, xen.mapped.get());
        images.open(a, org.xenj.dom0.block.api.ImageFormat.RAW, false).close();
        assertTrue(Files.exists(a));
    }
}
