package org.xenj.dom0.blkback.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.dom0.block.internal.BlockImagesService;
import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.hypervisor.internal.platform.StateFuzz;
import org.xenj.hypervisor.spi.backend.BackendInstance;

/**
 * {@link BlkbackState}: a record taken from a running blkback round-trips through bytes and
 * through a new blkback (which then saves exactly the same record); damaged records are refused
 * with the reason; thousands of mutated records are each refused (by the parser, or by the new
 * blkback with a clear message when they name grants, ports or images it cannot have) or taken
 * over and saved back unchanged — never an internal exception.
 */
class BlkbackStateTest {

    static final int XVDA = 51712;

    @TempDir
    Path tmp;
    final BlockImagesService images = new BlockImagesService();
    FakeXen xen;

    @AfterEach
    void tearDown() throws Exception {
        if (xen != null) {
            assertTrue(xen.internalErrors.isEmpty(), "exceptions escaped to the executor: " + xen.internalErrors);
            xen.shutdown();
        }
        images.close();
    }

    private Path image(String name) throws Exception {
        Path p = tmp.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(4 << 20);
        }
        return p;
    }

    private <T> T onExecutor(java.util.concurrent.Callable<T> task) throws Exception {
        CompletableFuture<T> f = new CompletableFuture<>();
        xen.executor().execute(() -> {
            try {
                f.complete(task.call());
            } catch (Throwable t) {
                f.completeExceptionally(t);
            }
        });
        try {
            return f.get(10, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw e;
        }
    }

    /** A blkback serving xvda (connected, some I/O done) and xvdb (read-only, never connected); its record. */
    private byte[] runningRecord(Path a, Path b) throws Exception {
        xen = new FakeXen(5, DomainConfig.builder("t").disks(List.of("format=raw, vdev=xvda, access=rw, target=" + a,
                "format=raw, vdev=xvdb, access=ro, target=" + b)).build());
        xen.quietLog = true;
        BlkbackService blkback = new BlkbackService(images);
        BackendInstance i = onExecutor(() -> blkback.attach(xen));
        xen.sync();
        TestFrontend f = new TestFrontend(xen, XVDA, BlkifAbi.X86_32, 1).connect();
        BlkbackTest.waitState(f, "4");
        int data = f.grantPage(false);
        for (int k = 0; k < 40; k++) {
            TestFrontend.assertOk(f.one(f.rw(k % 2 == 0 ? Blkif.OP_WRITE : Blkif.OP_READ, k, k * 8L, new int[][] {{data, 0, 7}}),
                    k % 2 == 0 ? Blkif.OP_WRITE : Blkif.OP_READ));
        }
        assertEquals(Blkif.RSP_EOPNOTSUPP, f.one(f.rw(99, 77, 0, new int[0][]), 99));
        byte[] state = i.saveState();
        xen.executor().execute(i::detach);
        xen.sync();
        return state;
    }

    @Test
    void aRunningBlkbacksRecordRoundTripsThroughBytesAndThroughANewBlkback() throws Exception {
        byte[] bytes = runningRecord(image("a.img"), image("b.img"));
        BlkbackState s = BlkbackState.fromBytes(bytes);
        assertEquals(2, s.vbds().size());
        BlkbackState.Vbd a = s.vbds().get(0);
        assertEquals(4, a.backendState());
        assertEquals(3, a.frontendState());
        assertEquals(BlkbackState.Features.offered(false), a.features());
        assertEquals("x86_32-abi", a.ring().protocol());
        assertEquals(List.of(8, 9), a.ring().refs());
        assertEquals(TestFrontend.REMOTE_PORT, a.ring().remotePort());
        assertEquals(41, a.ring().requestsConsumed());
        assertEquals(40, a.ring().served());
        assertEquals(1, a.ring().failed() + a.ring().unsupported());
        BlkbackState.Vbd b = s.vbds().get(1);
        assertEquals(2, b.backendState(), "xvdb waits in InitWait");
        assertEquals(null, b.ring());
        assertEquals(false, b.features().discard(), "no discard offered on a read-only disk");
        assertEquals(s, BlkbackState.fromBytes(s.toBytes()));
        assertTrue(Arrays.equals(bytes, s.toBytes()));

        BlkbackService next = new BlkbackService(images);
        BackendInstance taken = onExecutor(() -> next.attach(xen, bytes));
        byte[] again = taken.saveState();
        assertEquals(s, BlkbackState.fromBytes(again), "the new blkback holds exactly the record");
        xen.executor().execute(taken::detach);
        xen.sync();
    }

    @Test
    void damagedRecordsAreRefusedWithTheReason() throws Exception {
        byte[] good = runningRecord(image("a.img"), image("b.img"));
        byte[] magic = good.clone();
        magic[0] = 0;
        assertTrue(assertThrows(IOException.class, () -> BlkbackState.fromBytes(magic)).getMessage().contains("not a blkback"));
        byte[] version = good.clone();
        version[7] = 2;
        assertTrue(assertThrows(IOException.class, () -> BlkbackState.fromBytes(version)).getMessage().contains("version 2"));
        assertTrue(assertThrows(IOException.class, () -> BlkbackState.fromBytes(Arrays.copyOf(good, good.length - 3)))
                .getMessage().contains("too short"));
        assertTrue(assertThrows(IOException.class, () -> BlkbackState.fromBytes(Arrays.copyOf(good, good.length + 1)))
                .getMessage().contains("trailing"));
        BlkbackState.Features f = BlkbackState.Features.offered(false);
        String spec = "format=raw, vdev=xvda, access=rw, target=/x";
        assertThrows(IllegalArgumentException.class, () -> new BlkbackState.Ring("x86_64-abi", List.of(8), 7, 5, 4, 0, 0, 0),
                "a request taken and not answered: not quiesced");
        assertThrows(IllegalArgumentException.class, () -> new BlkbackState.Ring("sparc-abi", List.of(8), 7, 5, 5, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new BlkbackState.Ring("x86_64-abi", List.of(8, 9, 10), 7, 5, 5, 0, 0, 0),
                "three ring pages");
        BlkbackState.Ring ring = new BlkbackState.Ring("x86_64-abi", List.of(8), 7, 5, 5, 0, 0, 0);
        assertThrows(IllegalArgumentException.class, () -> new BlkbackState.Vbd(spec, 2, 1, false, f, ring),
                "a ring while the backend is in InitWait");
        assertThrows(IllegalArgumentException.class, () -> new BlkbackState.Vbd("vdev=xvda", 4, 4, false, f, ring),
                "a spec without target");
        assertThrows(IllegalArgumentException.class, () -> new BlkbackState.Vbd(spec.replace("rw", "ro"), 4, 4, false, f, ring),
                "discard on a read-only disk");
        BlkbackState.Vbd v = new BlkbackState.Vbd(spec, 4, 4, false, f, ring);
        assertThrows(IllegalArgumentException.class, () -> new BlkbackState(List.of(v, v)), "one device twice");
        // a record promising more than this blkback offers is refused by the take-over, not half-honoured
        BlkbackState.Vbd greedy = new BlkbackState.Vbd(spec, 2, 1, false, new BlkbackState.Features(8, 256, true, true, true), null);
        BlkbackService next = new BlkbackService(images);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> onExecutor(() -> next.attach(xen, new BlkbackState(List.of(greedy)).toBytes())));
        assertTrue(e.getMessage().contains("promised"), e.getMessage());
    }

    @Test
    void mutatedRecordsAreRefusedOrTakenOverAndSavedBackUnchanged() throws Exception {
        Path a = image("a.img");
        Path b = image("b.img");
        List<byte[]> goods = new ArrayList<>();
        goods.add(runningRecord(a, b));
        String sa = "format=raw, vdev=xvda, access=rw, target=" + a;
        String sb = "format=raw, vdev=xvdb, access=ro, target=" + b;
        BlkbackState.Features rw = BlkbackState.Features.offered(false);
        goods.add(new BlkbackState(List.of(new BlkbackState.Vbd(sa, 4, 4, false, rw,
                new BlkbackState.Ring("x86_64-abi", List.of(8), 7, 1000, 1000, 990, 9, 1)))).toBytes());
        goods.add(new BlkbackState(List.of(new BlkbackState.Vbd(sa, 5, 5, true, rw, null),
                new BlkbackState.Vbd(sb, 2, 1, false, BlkbackState.Features.offered(true), null))).toBytes());
        goods.add(new BlkbackState(List.of()).toBytes());
        // the frontend's grants the records name (refs 8..11 are ring pages) and nothing else
        for (int ref = 8; ref < 12; ref++) {
            xen.grant(ref, false);
        }
        int[] takenOver = {0};
        int[] refusedByBlkback = {0};
        StateFuzz.run("blkback", 0xb1b, 10_000, goods, BlkbackState::fromBytes, (s, r) -> {
            // the frontend is where the record left it: its xenbus state as recorded, and it queued
            // nothing new (its req_prod is where the record's blkback stopped)
            for (BlkbackState.Vbd v : s.vbds()) {
                xen.store.put(xen.frontendPath() + "/device/vbd/" + v.devid() + "/state", Integer.toString(v.frontendState()));
                if (v.ring() != null && v.ring().refs().get(0) >= 8 && v.ring().refs().get(0) < 12) {
                    FakeXen.INT.setVolatile(xen.grants.get(v.ring().refs().get(0)).page, 0, v.ring().requestsConsumed());
                }
            }
            BlkbackService next = new BlkbackService(images);
            BackendInstance i;
            try {
                i = onExecutor(() -> next.attach(xen, s.toBytes()));
            } catch (IllegalStateException | IllegalArgumentException e) {
                assertTrue(e.getMessage() != null && !e.getMessage().isEmpty(), "a refusal says why");
                refusedByBlkback[0]++;
                return;
            } catch (Exception e) {
                throw new AssertionError(e);
            }
            byte[] again = i.saveState();
            try {
                BlkbackState back = BlkbackState.fromBytes(again);
                assertEquals(s.vbds().size(), back.vbds().size(), "every device taken over");
                for (int k = 0; k < s.vbds().size(); k++) {
                    BlkbackState.Vbd was = s.vbds().get(k);
                    BlkbackState.Vbd is = back.vbds().get(k);
                    if (was.frontendState() == 3 && was.backendState() == 2 && !was.removing()) {
                        // an Initialised frontend waiting for InitWait's backend: the new blkback connects (or refuses)
                        assertTrue(is.backendState() == 4 || is.backendState() == 5, "acted on the waiting frontend: " + is);
                    } else {
                        assertEquals(was, is, "the new blkback holds exactly the record");
                    }
                }
                onExecutor(() -> {
                    i.detach();
                    return null;
                });
            } catch (Exception e) {
                throw new AssertionError(e);
            }
            takenOver[0]++;
        });
        System.out.printf("[fuzz] blkback take-over: %d taken over and saved back unchanged, %d refused by blkback%n", takenOver[0],
                refusedByBlkback[0]);
        assertTrue(takenOver[0] > 0 && refusedByBlkback[0] > 0, "both outcomes exercised");
        assertEquals(0, xen.mapped.get(), "every ring mapping of a refused or detached take-over was released");
    }
}
