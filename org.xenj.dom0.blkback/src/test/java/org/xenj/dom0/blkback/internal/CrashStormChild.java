package org.xenj.dom0.blkback.internal;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The child JVM of {@link BlkbackCrashTest}: attaches the image through blkback and runs the
 * {@link WriteStorm} on the ring as a guest's blkfront would, keeping the ring full, until the
 * parent kills it with SIGKILL. Whenever a FLUSH or FUA write completes it prints
 * {@code durable <gen> acked <n> submitted <n>}: every write of generation ≤ gen is now on stable
 * storage (blkback answers a flush after every request taken before it and after the image's
 * {@code force}). A request that fails prints {@code error ...} and ends the child with status 2.
 *
 * <p>Arguments: image path, format (raw|qcow2), storm seed.
 */
public final class CrashStormChild {

    /** Pages per request buffer: {@link WriteStorm#MAX_SECTORS} / 8. */
    private static final int PAGES = WriteStorm.MAX_SECTORS / Blkif.SECTORS_PER_PAGE;

    private CrashStormChild() {
    }

    public static void main(String[] args) throws Exception {
        Path image = Path.of(args[0]);
        String format = args[1];
        long seed = Long.parseLong(args[2]);
        long stopAt = args.length > 3 ? Long.parseLong(args[3]) : Long.MAX_VALUE;
        // The storm never ends by itself: if the parent goes away (its end of our stdin closes) or
        // forgets us, stop rather than write on forever.
        Thread orphan = new Thread(() -> {
            try {
                while (System.in.read() >= 0) {
                    // the parent never writes; EOF means it is gone
                }
            } catch (java.io.IOException e) {
                // same
            }
            Runtime.getRuntime().halt(3);
        }, "orphan-watch");
        orphan.setDaemon(true);
        orphan.start();
        Thread limit = new Thread(() -> {
            try {
                Thread.sleep(120_000);
            } catch (InterruptedException e) {
                return;
            }
            Runtime.getRuntime().halt(4);
        }, "time-limit");
        limit.setDaemon(true);
        limit.start();
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false, "UTF-8");
        AttachedDisk disk = new AttachedDisk(image, format);
        TestFrontend f = disk.frontend;
        WriteStorm storm = new WriteStorm(seed, disk.sectors);
        // One buffer of data pages per request in flight, taken at submit and given back at its response.
        ArrayDeque<int[]> free = new ArrayDeque<>();
        for (int i = 0; i < f.ringSize; i++) {
            int[] refs = new int[PAGES];
            for (int p = 0; p < PAGES; p++) {
                refs[p] = f.grantPage(true);
            }
            free.add(refs);
        }
        Map<Long, int[]> buffers = new HashMap<>();
        Map<Long, Long> covers = new HashMap<>(); // flush/FUA request id -> generation it makes durable
        f.reuseIndirectPages = true;
        out.println("ready sectors " + disk.sectors + " ring " + f.ringSize);
        out.flush();
        long id = 0;
        long acked = 0;
        long durable = 0;
        int inflight = 0;
        // A write waits while another write to its region is in flight: requests complete in any
        // order (a FUA waits for everything before it while later writes pass it), so only writes
        // that cannot overlap may be in flight together, as a filesystem's are.
        boolean[] regionBusy = new boolean[WriteStorm.REGIONS];
        Map<Long, Integer> regionOf = new HashMap<>();
        WriteStorm.Op pending = null;
        while (true) {
            boolean queued = false;
            if (storm.gen() >= stopAt && pending == null) {
                if (inflight == 0) {
                    out.println("stopped at gen " + storm.gen());
                    out.flush();
                    System.exit(0);
                }
            }
            while (inflight < f.ringSize && (pending != null || storm.gen() < stopAt)) {
                WriteStorm.Op op = pending != null ? pending : storm.next();
                int region = (int) (op.gen() % WriteStorm.REGIONS);
                if (op.kind() != WriteStorm.Kind.FLUSH && regionBusy[region]) {
                    pending = op;
                    break;
                }
                pending = null;
                int[] refs = free.poll();
                long rid = ++id;
                buffers.put(rid, refs);
                if (op.kind() == WriteStorm.Kind.FLUSH) {
                    covers.put(rid, op.gen());
                    f.queue(f.rw(Blkif.OP_FLUSH_DISKCACHE, rid, 0, new int[0][]));
                } else {
                    regionBusy[region] = true;
                    regionOf.put(rid, region);
                    int[][] segs = fill(disk.xen, refs, op);
                    if (op.kind() == WriteStorm.Kind.FUA) {
                        covers.put(rid, op.gen());
                        f.queue(f.rw(Blkif.OP_FLUSH_DISKCACHE, rid, op.sector(), segs));
                    } else if (segs.length <= Blkif.MAX_SEGMENTS) {
                        f.queue(f.rw(Blkif.OP_WRITE, rid, op.sector(), segs));
                    } else {
                        f.queue(f.indirect(Blkif.OP_WRITE, rid, op.sector(), segs));
                    }
                }
                inflight++;
                queued = true;
            }
            if (queued) {
                f.push();
            }
            List<long[]> responses = f.poll();
            for (long[] r : responses) {
                if (r[2] != Blkif.RSP_OKAY) {
                    out.println("error request " + r[0] + " op " + r[1] + " status " + r[2] + "; log " + disk.xen.log);
                    out.flush();
                    System.exit(2);
                }
                free.add(buffers.remove(r[0]));
                Integer region = regionOf.remove(r[0]);
                if (region != null) {
                    regionBusy[region] = false;
                }
                inflight--;
                acked++;
                Long g = covers.remove(r[0]);
                if (g != null && g > durable) {
                    durable = g;
                    out.println("durable " + durable + " acked " + acked + " submitted " + id);
                    out.flush();
                }
            }
            if (responses.isEmpty()) {
                Thread.sleep(0, 100_000);
            }
        }
    }

    /** Writes generation {@code op.gen()}'s pattern into the buffer's pages; returns the segments. */
    private static int[][] fill(FakeXen xen, int[] refs, WriteStorm.Op op) {
        int pages = (op.sectors() + Blkif.SECTORS_PER_PAGE - 1) / Blkif.SECTORS_PER_PAGE;
        int[][] segs = new int[pages][];
        for (int p = 0; p < pages; p++) {
            int n = Math.min(Blkif.SECTORS_PER_PAGE, op.sectors() - p * Blkif.SECTORS_PER_PAGE);
            byte[] page = xen.grants.get(refs[p]).page;
            for (int s = 0; s < n; s++) {
                WriteStorm.fill(page, s * Blkif.SECTOR_SIZE, op.sector() + p * Blkif.SECTORS_PER_PAGE + s, op.gen());
            }
            segs[p] = new int[] {refs[p], 0, n - 1};
        }
        return segs;
    }
}
