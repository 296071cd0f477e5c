package org.xenj.dom0.blkback.internal;

import java.nio.ByteBuffer;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import org.xenj.dom0.block.api.BlockDevice;
import org.xenj.hypervisor.spi.backend.BackendContext;
import org.xenj.hypervisor.spi.backend.EventChannel;
import org.xenj.hypervisor.spi.backend.GrantMapping;

/**
 * One connected blkif ring: takes requests off the ring on the backend's executor, checks every
 * field the frontend wrote, and hands the disk I/O to the block layer's own threads, so
 * independent requests run in parallel; each completion comes back to the executor to write its
 * response. A request the frontend got wrong is answered {@code BLKIF_RSP_ERROR} (or
 * {@code EOPNOTSUPP} for an operation we do not offer); a broken ring or a revoked ring page ends
 * the connection through {@code onBroken} with a log line. Nothing the frontend does throws out of
 * here.
 *
 * <p>Flush semantics: FLUSH_DISKCACHE and WRITE_BARRIER wait until every request taken before them
 * has completed, write their data if they carry any, then force the image to stable storage; only
 * then is the response written. A WRITE_BARRIER additionally holds back the requests after it.
 */
final class VbdConnection {

    /** Bad requests logged per connection before the log goes quiet (a fuzzer or flood must not fill dmesg). */
    static final int LOGGED_BAD_REQUESTS = 8;

    private final BackendContext ctx;
    private final Executor executor;
    private final String name;
    private final BlockDevice disk;
    private final boolean readOnly;
    private final long sectors;
    private final BlkifAbi abi;
    private final BlkRing ring;
    private final GrantMapping[] pages;
    private final Consumer<String> onBroken;
    private final byte[] request;
    private final byte[] response;
    private final byte[] indirectPage = new byte[GrantMapping.PAGE_SIZE];
    /** Requests whose I/O is under way (executor only). */
    private final Set<CompletableFuture<Void>> inflight = new HashSet<>();
    private CompletableFuture<Void> gate = CompletableFuture.completedFuture(null);
    private EventChannel port;
    private boolean draining;
    private boolean pendingPush;
    /** A hand-over is under way: no request is taken any more; {@link #idle} completes when the last one is answered. */
    private boolean quiescing;
    private CompletableFuture<Void> idle;
    private volatile boolean closed;
    private int badLogged;

    final AtomicLong okay = new AtomicLong();
    final AtomicLong errors = new AtomicLong();
    final AtomicLong unsupported = new AtomicLong();
    /** Requests taken, by operation (READ .. INDIRECT; others in the last slot), for the disconnect line. */
    private final long[] taken = new long[Blkif.OP_INDIRECT + 2];

    VbdConnection(BackendContext ctx, String name, BlockDevice disk, boolean readOnly, BlkifAbi abi, GrantMapping[] pages,
            Consumer<String> onBroken) {
        this(ctx, name, disk, readOnly, abi, pages, onBroken, null);
    }

    /** With {@code resumed}, a ring a previous blkback served: its indices and counters carry on. */
    VbdConnection(BackendContext ctx, String name, BlockDevice disk, boolean readOnly, BlkifAbi abi, GrantMapping[] pages,
            Consumer<String> onBroken, BlkbackState.Ring resumed) {
        this.ctx = ctx;
        this.executor = ctx.executor();
        this.name = name;
        this.disk = disk;
        this.readOnly = readOnly;
        this.sectors = disk == null ? 0 : disk.size() / Blkif.SECTOR_SIZE;
        this.abi = abi;
        this.pages = pages.clone();
        this.ring = resumed == null ? new BlkRing(pages, abi.requestSize, abi.responseSize)
                : new BlkRing(pages, abi.requestSize, abi.responseSize, resumed.requestsConsumed(), resumed.responsesProduced());
        if (resumed != null) {
            okay.set(resumed.served());
            errors.set(resumed.failed());
            unsupported.set(resumed.unsupported());
        }
        this.onBroken = onBroken;
        this.request = new byte[abi.requestSize];
        this.response = new byte[abi.responseSize];
    }

    void setPort(EventChannel port) {
        this.port = port;
    }

    int ringSize() {
        return ring.size();
    }

    /** The frontend signalled (or responses made room): serve what the ring holds. Executor only. */
    void drain() {
        if (draining || closed || quiescing) {
            return;
        }
        draining = true;
        try {
            do {
                while (!closed && ring.takeRequest(request)) {
                    dispatch();
                }
                pushResponses();
            } while (!closed && ring.finalCheckForRequests());
        } catch (RuntimeException e) {
            broken(e);
        } finally {
            draining = false;
        }
    }

    private void broken(RuntimeException e) {
        if (closed) {
            return;
        }
        onBroken.accept(e.getClass().getSimpleName() + ": " + e.getMessage());
    }

    private void pushResponses() {
        if (pendingPush && !closed) {
            pendingPush = false;
            if (ring.pushResponsesAndCheckNotify() && port != null) {
                port.notifyRemote();
            }
        }
    }

    // ------------------------------------------------------------------ requests

    private int u8(int off) {
        return request[off] & 0xff;
    }

    private int u16(int off) {
        return (request[off] & 0xff) | (request[off + 1] & 0xff) << 8;
    }

    private int s32(byte[] b, int off) {
        return (b[off] & 0xff) | (b[off + 1] & 0xff) << 8 | (b[off + 2] & 0xff) << 16 | (b[off + 3] & 0xff) << 24;
    }

    private long u64(int off) {
        return (s32(request, off) & 0xffffffffL) | (long) s32(request, off + 4) << 32;
    }

    private void dispatch() {
        int op = u8(0);
        long id = u64(abi.idOffset);
        taken[Math.min(op, taken.length - 1)]++;
        switch (op) {
            case Blkif.OP_READ:
            case Blkif.OP_WRITE:
            case Blkif.OP_WRITE_BARRIER:
            case Blkif.OP_FLUSH_DISKCACHE: {
                int n = u8(1);
                boolean flush = op == Blkif.OP_WRITE_BARRIER || op == Blkif.OP_FLUSH_DISKCACHE;
                if (n > Blkif.MAX_SEGMENTS || (n == 0 && !flush)) {
                    bad(id, op, "segment count " + n);
                    return;
                }
                Segments segs = new Segments(n);
                for (int i = 0; i < n; i++) {
                    int at = abi.segmentsOffset() + i * Blkif.SEGMENT_SIZE;
                    segs.set(i, s32(request, at), request[at + 4] & 0xff, request[at + 5] & 0xff);
                }
                rw(op, id, u64(abi.sectorOffset()), segs, op != Blkif.OP_READ, flush, op == Blkif.OP_WRITE_BARRIER);
                return;
            }
            case Blkif.OP_DISCARD:
                discard(id, u64(abi.sectorOffset()), u64(abi.discardSectorsOffset()));
                return;
            case Blkif.OP_INDIRECT:
                indirect(id);
                return;
            default:
                unsupported.incrementAndGet();
                respond(id, op, Blkif.RSP_EOPNOTSUPP);
                note("unsupported operation " + op);
        }
    }

    private void indirect(long id) {
        int op = u8(1);
        int n = u16(2);
        if (op != Blkif.OP_READ && op != Blkif.OP_WRITE) {
            bad(id, op, "indirect operation " + op + " (only read and write)");
            return;
        }
        if (n == 0 || n > Blkif.MAX_INDIRECT_SEGMENTS) {
            bad(id, op, "indirect segment count " + n + " (1.." + Blkif.MAX_INDIRECT_SEGMENTS + ")");
            return;
        }
        Segments segs = new Segments(n);
        int pagesNeeded = (n + Blkif.SEGMENTS_PER_INDIRECT_PAGE - 1) / Blkif.SEGMENTS_PER_INDIRECT_PAGE;
        int done = 0;
        try {
            for (int p = 0; p < pagesNeeded; p++) {
                int gref = s32(request, abi.indirectGrefsOffset() + 4 * p);
                int here = Math.min(Blkif.SEGMENTS_PER_INDIRECT_PAGE, n - done);
                ctx.copyFromGrant(gref, 0, indirectPage, 0, here * Blkif.SEGMENT_SIZE);
                for (int i = 0; i < here; i++) {
                    int at = i * Blkif.SEGMENT_SIZE;
                    segs.set(done + i, s32(indirectPage, at), indirectPage[at + 4] & 0xff, indirectPage[at + 5] & 0xff);
                }
                done += here;
            }
        } catch (RuntimeException e) {
            bad(id, op, "indirect segment page: " + e.getMessage());
            return;
        }
        rw(op, id, u64(abi.sectorOffset()), segs, op == Blkif.OP_WRITE, false, false);
    }

    private void rw(int op, long id, long sector, Segments segs, boolean write, boolean flush, boolean barrier) {
        long total = 0;
        for (int i = 0; i < segs.count; i++) {
            if (segs.first[i] > segs.last[i] || segs.last[i] >= Blkif.SECTORS_PER_PAGE) {
                bad(id, op, "segment " + i + " sectors " + segs.first[i] + ".." + segs.last[i]);
                return;
            }
            total += segs.last[i] - segs.first[i] + 1;
        }
        if (segs.count > 0 && (sector < 0 || sector > sectors || total > sectors - sector)) {
            bad(id, op, "sectors " + Long.toUnsignedString(sector) + "+" + total + " past the end (" + sectors + ")");
            return;
        }
        if ((write && segs.count > 0 || flush) && readOnly) {
            bad(id, op, Blkif.opName(op) + " to a read-only disk");
            return;
        }
        if (disk == null) {
            bad(id, op, "no medium");
            return;
        }
        byte[] data = new byte[(int) total * Blkif.SECTOR_SIZE];
        if (write) {
            try {
                int pos = 0;
                for (int i = 0; i < segs.count; i++) {
                    int len = (segs.last[i] - segs.first[i] + 1) * Blkif.SECTOR_SIZE;
                    ctx.copyFromGrant(segs.gref[i], segs.first[i] * Blkif.SECTOR_SIZE, data, pos, len);
                    pos += len;
                }
            } catch (RuntimeException e) {
                bad(id, op, "grant: " + e.getMessage());
                return;
            }
        }
        long offset = sector * Blkif.SECTOR_SIZE;
        CompletableFuture<Void> start = flush ? everythingBefore() : gate;
        CompletableFuture<Void> io;
        if (segs.count == 0) {
            io = start;
        } else if (write) {
            io = start.thenCompose(v -> disk.writeAsync(offset, ByteBuffer.wrap(data)));
        } else {
            io = start.thenCompose(v -> disk.readAsync(offset, ByteBuffer.wrap(data))).thenRun(() -> scatter(segs, data));
        }
        if (flush) {
            io = io.thenCompose(v -> disk.flushAsync());
        }
        track(io, id, op);
        if (barrier) {
            gate = io.handle((v, t) -> null);
        }
    }

    /** Copies what a read brought into the frontend's pages (on the block layer's thread). */
    private void scatter(Segments segs, byte[] data) {
        int pos = 0;
        for (int i = 0; i < segs.count; i++) {
            int len = (segs.last[i] - segs.first[i] + 1) * Blkif.SECTOR_SIZE;
            ctx.copyToGrant(segs.gref[i], segs.first[i] * Blkif.SECTOR_SIZE, data, pos, len);
            pos += len;
        }
    }

    private void discard(long id, long sector, long count) {
        if (readOnly) {
            bad(id, Blkif.OP_DISCARD, "discard on a read-only disk");
            return;
        }
        if (disk == null || sector < 0 || count < 0 || sector > sectors || count > sectors - sector) {
            bad(id, Blkif.OP_DISCARD, "discard of sectors " + Long.toUnsignedString(sector) + "+" + Long.toUnsignedString(count)
                    + " past the end (" + sectors + ")");
            return;
        }
        track(gate.thenCompose(v -> disk.discardAsync(sector * Blkif.SECTOR_SIZE, count * Blkif.SECTOR_SIZE)), id,
                Blkif.OP_DISCARD);
    }

    private CompletableFuture<Void> everythingBefore() {
        if (inflight.isEmpty()) {
            return gate;
        }
        CompletableFuture<?>[] all = inflight.toArray(new CompletableFuture<?>[inflight.size() + 1]);
        all[all.length - 1] = gate;
        return CompletableFuture.allOf(all).handle((v, t) -> null);
    }

    private void track(CompletableFuture<Void> io, long id, int op) {
        inflight.add(io);
        io.whenComplete((v, t) -> {
            try {
                executor.execute(() -> completed(io, id, op, t));
            } catch (RuntimeException e) {
                // the backend is detached: nobody to answer
            }
        });
    }

    private void completed(CompletableFuture<Void> io, long id, int op, Throwable failure) {
        inflight.remove(io);
        if (closed) {
            return;
        }
        try {
            if (failure == null) {
                okay.incrementAndGet();
                respond(id, op, Blkif.RSP_OKAY);
            } else {
                errors.incrementAndGet();
                Throwable cause = failure.getCause() != null ? failure.getCause() : failure;
                note(Blkif.opName(op) + " failed: " + cause);
                respond(id, op, Blkif.RSP_ERROR);
            }
            pushResponses();
            drain();
        } catch (RuntimeException e) {
            broken(e);
        }
        checkIdle();
    }

    private void bad(long id, int op, String why) {
        errors.incrementAndGet();
        respond(id, op, Blkif.RSP_ERROR);
        note(why);
    }

    private void note(String why) {
        if (badLogged < LOGGED_BAD_REQUESTS) {
            badLogged++;
            ctx.log(name + ": request refused: " + why
                    + (badLogged == LOGGED_BAD_REQUESTS ? " (further refusals on this ring are not logged)" : ""));
        }
    }

    private void respond(long id, int op, short status) {
        for (int i = 0; i < 8; i++) {
            response[i] = (byte) (id >>> (8 * i));
        }
        response[8] = (byte) op;
        response[9] = 0;
        response[10] = (byte) status;
        response[11] = (byte) (status >> 8);
        ring.putResponse(response);
        pendingPush = true;
    }

    /** "read 12, write 30, flush-diskcache 4, indirect 7": what the frontend asked for. */
    String takenSummary() {
        StringBuilder sb = new StringBuilder();
        for (int op = 0; op < taken.length; op++) {
            if (taken[op] > 0) {
                sb.append(sb.length() == 0 ? "" : ", ").append(op == taken.length - 1 ? "other" : Blkif.opName(op)).append(' ')
                        .append(taken[op]);
            }
        }
        return sb.length() == 0 ? "no requests" : sb.toString();
    }

    // ------------------------------------------------------------------ hand-over

    /**
     * Stops taking requests (executor only); the future completes, on the executor, once every
     * request taken has been answered and pushed — or at once if the ring broke or closed.
     */
    CompletableFuture<Void> quiesce() {
        quiescing = true;
        idle = new CompletableFuture<>();
        checkIdle();
        return idle;
    }

    private void checkIdle() {
        if (idle != null && !idle.isDone() && (closed || inflight.isEmpty())) {
            if (!closed) {
                pushResponses();
            }
            idle.complete(null);
        }
    }

    /** The ring as the record keeps it (executor only, quiesced). */
    BlkbackState.Ring save(List<Integer> refs, int remotePort) {
        if (!quiescing || !inflight.isEmpty() || pendingPush) {
            throw new IllegalStateException(name + ": not quiesced (" + inflight.size() + " requests in flight)");
        }
        return new BlkbackState.Ring(abi.protocolName, refs, remotePort, ring.requestsConsumed(), ring.responsesProduced(),
                okay.get(), errors.get(), unsupported.get());
    }

    boolean isClosed() {
        return closed;
    }

    // ------------------------------------------------------------------ teardown

    /** Requests still under way. */
    int inflight() {
        return inflight.size();
    }

    /**
     * Stops serving: no more requests are taken or answered, the port closes and the ring pages are
     * unmapped; then waits (bounded) for the disk I/O already started, so the image can be closed.
     */
    void close(long waitMillis) {
        closed = true;
        if (port != null) {
            port.close();
        }
        for (GrantMapping p : pages) {
            p.unmap();
        }
        if (!inflight.isEmpty()) {
            try {
                CompletableFuture.allOf(inflight.toArray(new CompletableFuture<?>[0])).handle((v, t) -> null)
                        .get(waitMillis, TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                ctx.log(name + ": " + inflight.size() + " requests still under way at disconnect");
            }
            inflight.clear();
        }
        if (idle != null) {
            idle.complete(null);
        }
    }

    /** The segments of one request (gref, first and last 512-byte sector within the page). */
    private static final class Segments {
        final int count;
        final int[] gref;
        final int[] first;
        final int[] last;

        Segments(int n) {
            count = n;
            gref = new int[n];
            first = new int[n];
            last = new int[n];
        }

        void set(int i, int g, int f, int l) {
            gref[i] = g;
            first[i] = f;
            last[i] = l;
        }
    }
}
