package org.xenj.dom0.blkback.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenj.dom0.block.internal.BlockImagesService;
import org.xenj.hypervisor.api.DomainConfig;

/**
 * Random ring requests against blkback (x86_32 and x86_64, a raw and a qcow2 disk): structured
 * requests with every field drawn from valid, borderline and hostile values (operations 0..7 and
 * random, segment counts 0..12, direct and indirect up to 300 segments, granted / read-only /
 * ungranted refs, first/last sectors 0..9, sectors inside, at and past the end, 2^64-1) and
 * requests of random bytes. Every request must get exactly one response with its id and a status
 * of OKAY, ERROR or EOPNOTSUPP; the ring must stay connected; nothing may escape to the executor.
 * Anything else is an internal error. {@code -Dxenj.blkback.fuzz.requests=1000000} for the long
 * run ({@code -Dxenj.blkback.fuzz.seed=} to repeat one); 100,000 per {@code mvn test}.
 */
class BlkbackFuzzTest {

    static final int SECTORS = 4096;

    @TempDir
    Path tmp;

    @Test
    void randomRingRequestsNeverCauseInternalErrors() throws Exception {
        long total = Long.getLong("xenj.blkback.fuzz.requests", 100_000);
        long seed = Long.getLong("xenj.blkback.fuzz.seed", System.nanoTime());
        Random rnd = new Random(seed);
        Path raw = tmp.resolve("f.raw");
        try (RandomAccessFile f = new RandomAccessFile(raw.toFile(), "rw")) {
            f.setLength(SECTORS * 512L);
        }
        BlockImagesService images = new BlockImagesService();
        Path qcow = tmp.resolve("f.qcow2");
        images.create(qcow, org.xenj.dom0.block.api.ImageFormat.QCOW2, SECTORS * 512L, null, null);
        long[] statuses = new long[3];
        long internal = 0;
        long t0 = System.nanoTime();
        long done = 0;
        int round = 0;
        try {
            while (done < total) {
                BlkifAbi abi = BlkifAbi.values()[round % 2];
                String disk = round % 4 < 2 ? "format=raw, vdev=xvda, access=rw, target=" + raw
                        : "format=qcow2, vdev=xvda, access=rw, target=" + qcow;
                round++;
                FakeXen xen = new FakeXen(3, DomainConfig.builder("fuzz").disks(List.of(disk)).build());
                xen.quietLog = true;
                BlkbackService blkback = new BlkbackService(images);
                xen.executor().execute(() -> blkback.attach(xen));
                xen.sync();
                TestFrontend fe = new TestFrontend(xen, 51712, abi, rnd.nextInt(3)).connect();
                fe.reuseIndirectPages = true;
                BlkbackTest.waitState(fe, "4");
                int[] pool = new int[24];
                for (int i = 0; i < pool.length; i++) {
                    pool[i] = i < 20 ? fe.grantPage(i >= 16) : 5000 + i; // 16 writable, 4 read-only, 4 never granted
                    if (i < 20) {
                        rnd.nextBytes(xen.grants.get(pool[i]).page);
                    }
                }
                long perConnection = Math.min(total - done, 25_000);
                long served = 0;
                while (served < perConnection) {
                    int batch = (int) Math.min(fe.ringSize, perConnection - served);
                    Map<Long, Integer> ids = new HashMap<>();
                    for (int i = 0; i < batch; i++) {
                        byte[] r = rnd.nextInt(10) < 2 ? randomBytes(rnd, abi) : structured(rnd, fe, abi, pool);
                        long id = done + served + i;
                        TestFrontend.le(r, abi.idOffset, id, 8);
                        ids.merge(id, 1, Integer::sum);
                        fe.queue(r);
                    }
                    fe.push();
                    for (long[] resp : fe.responses(batch)) {
                        Integer left = ids.get(resp[0]);
                        if (left == null) {
                            internal++;
                            System.out.println("[fuzz] blkback: response for an id never sent: " + resp[0]);
                            continue;
                        }
                        ids.put(resp[0], left - 1);
                        int s = (int) resp[2];
                        if (s == 0 || s == -1 || s == -2) {
                            statuses[-s]++;
                        } else {
                            internal++;
                            System.out.println("[fuzz] blkback: status " + s);
                        }
                    }
                    served += batch;
                }
                done += served;
                if (!"4".equals(fe.beState()) || xen.log.stream().anyMatch(l -> l.contains("broke the ring"))) {
                    internal++;
                    System.out.println("[fuzz] blkback: connection lost: " + xen.log);
                }
                internal += xen.internalErrors.size();
                xen.internalErrors.forEach(t -> t.printStackTrace(System.out));
                xen.guestWrites(fe.fe + "/state", "6");
                BlkbackTest.waitState(fe, "6");
                xen.shutdown();
            }
        } finally {
            images.close();
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        System.out.printf("[fuzz] blkback: %d random ring requests (seed 0x%x, %d connections, x86_32/x86_64, raw/qcow2) in %.1f s: "
                + "%d OKAY, %d ERROR, %d EOPNOTSUPP, %d internal errors%n", done, seed, round, secs, statuses[0], statuses[1],
                statuses[2], internal);
        assertEquals(0, internal, "internal errors (seed 0x" + Long.toHexString(seed) + ")");
        assertEquals(done, statuses[0] + statuses[1] + statuses[2]);
        assertTrue(statuses[0] > done / 20 && statuses[1] > done / 20, "the fuzzer reaches both served and refused requests");
    }

    private static byte[] randomBytes(Random rnd, BlkifAbi abi) {
        byte[] r = new byte[abi.requestSize];
        rnd.nextBytes(r);
        return r;
    }

    private static final int[] OPS = {0, 0, 0, 1, 1, 1, 2, 3, 5, 5, 6, 6, 6, 4, 7};

    private static byte[] structured(Random rnd, TestFrontend fe, BlkifAbi abi, int[] pool) {
        int op = rnd.nextInt(50) == 0 ? rnd.nextInt(256) : OPS[rnd.nextInt(OPS.length)];
        long sector = sector(rnd);
        if (op == Blkif.OP_DISCARD) {
            long n = rnd.nextInt(8) == 0 ? rnd.nextLong() : rnd.nextInt(64);
            return fe.discard(0, sector, n);
        }
        if (op == Blkif.OP_INDIRECT) {
            int n = rnd.nextInt(16) == 0 ? rnd.nextInt(300) : 1 + rnd.nextInt(40);
            int inner = rnd.nextInt(10) == 0 ? rnd.nextInt(8) : rnd.nextInt(2);
            byte[] r = fe.indirect(inner, 0, sector, segments(rnd, n, pool));
            if (rnd.nextInt(20) == 0) {
                TestFrontend.le(r, abi.indirectGrefsOffset() + 4 * rnd.nextInt(8), rnd.nextInt(), 4);
            }
            return r;
        }
        int n = op == Blkif.OP_FLUSH_DISKCACHE || op == Blkif.OP_WRITE_BARRIER ? rnd.nextInt(3) : rnd.nextInt(13);
        if (op == Blkif.OP_FLUSH_DISKCACHE || op == Blkif.OP_WRITE_BARRIER) {
            if (rnd.nextInt(8) != 0) { // flushes force the file: keep them rarer so the run stays short
                op = rnd.nextInt(2);
                n = 1 + rnd.nextInt(11);
            }
        }
        return fe.rw(op, 0, sector, segments(rnd, n, pool));
    }

    private static long sector(Random rnd) {
        switch (rnd.nextInt(10)) {
            case 0: return rnd.nextLong();
            case 1: return SECTORS - rnd.nextInt(16);
            case 2: return -1L;
            default: return rnd.nextInt(SECTORS);
        }
    }

    private static int[][] segments(Random rnd, int n, int[] pool) {
        int[][] s = new int[n][];
        for (int i = 0; i < n; i++) {
            int first = rnd.nextInt(12) == 0 ? rnd.nextInt(10) : 0;
            int last = rnd.nextInt(12) == 0 ? rnd.nextInt(10) : 7;
            int ref = rnd.nextInt(40) == 0 ? rnd.nextInt() : pool[rnd.nextInt(rnd.nextInt(6) == 0 ? pool.length : 16)];
            s[i] = new int[] {ref, first, last};
        }
        return s;
    }
}
