package org.xenj.hypervisor.internal.mem;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

/**
 * Log-dirty mode for live migration: one bit per machine frame, set by every writer of guest
 * memory while at least one domain is logging. Keeping the bits per machine frame (not per guest
 * frame) means a writer only needs the frame it writes: device DMA and backends through
 * {@link DomainMemory}, the hypervisor's own structures in guest frames through
 * {@link MachineFrames}, a backend writing a granted frame through its own p2m — all mark the
 * owning domain's frame; {@link DomainMemory#takeDirty} turns the bits of the frames a domain
 * owns back into its guest frame numbers.
 *
 * <p>CPU stores do not mark per store: while logging is on, a vCPU's TLB fills a page's write
 * entry only on a write, after marking the page ({@code CpuMmu.fill}), so later stores to the page
 * cost nothing extra. Taking the bits must then drop every write entry, or a page written through
 * an old entry after the take would be missed. Those entries belong to vCPU threads, so the drop
 * is a request: {@link #flushWriteCaches} moves the epoch on and waits until every {@link
 * WriteCache} either acknowledged it (a vCPU checks between blocks of instructions) or is outside
 * its run loop (it checks on entry, before any guest instruction). The order a migration round uses
 * is take, then flush, then copy: a store through an entry older than the take went to a page that
 * was marked when the entry was filled (so it is in the taken set, copied after the flush); an
 * entry filled after the take marked the page in the next round's set.
 */
public final class DirtyLog {

    /** A holder of cached write permissions (a vCPU's TLB). */
    public interface WriteCache {
        /** The last epoch whose write entries this cache dropped. */
        long flushedEpoch();

        /** Whether it may be storing through cached entries now (a vCPU inside its run loop). */
        boolean active();
    }

    private final AtomicLongArray bits;
    /** Domains logging; writers test it before marking (one volatile read on slow paths). */
    private volatile int logging;
    private volatile long epoch;
    private final Set<WriteCache> caches = Collections.synchronizedSet(Collections.newSetFromMap(new WeakHashMap<>()));

    DirtyLog(int frames) {
        this.bits = new AtomicLongArray((frames + 63) >>> 6);
    }

    /** Whether any domain logs dirty frames. */
    public boolean on() {
        return logging != 0;
    }

    /** Marks machine frame {@code mfn} written, if logging is on. */
    public void mark(int mfn) {
        if (logging != 0 && mfn >= 0 && (mfn >>> 6) < bits.length()) {
            long bit = 1L << (mfn & 63);
            int w = mfn >>> 6;
            if ((bits.get(w) & bit) == 0) {
                bits.getAndAccumulate(w, bit, (a, b) -> a | b);
            }
        }
    }

    /** Whether {@code mfn} is marked, and clears it. */
    boolean testAndClear(int mfn) {
        int w = mfn >>> 6;
        long bit = 1L << (mfn & 63);
        if (w < 0 || w >= bits.length() || (bits.get(w) & bit) == 0) {
            return false;
        }
        return (bits.getAndAccumulate(w, ~bit, (a, b) -> a & b) & bit) != 0;
    }

    boolean test(int mfn) {
        int w = mfn >>> 6;
        return w >= 0 && w < bits.length() && (bits.get(w) & (1L << (mfn & 63))) != 0;
    }

    synchronized void start() {
        logging++;
    }

    synchronized void stop() {
        if (logging > 0) {
            logging--;
        }
    }

    /** The epoch write caches compare against (vCPU side, once per block of instructions). */
    public long epoch() {
        return epoch;
    }

    /** A vCPU's TLB, from its construction; held weakly (a destroyed domain's vCPUs just go away). */
    public void register(WriteCache cache) {
        caches.add(cache);
    }

    /**
     * Asks every write cache to drop its write entries and waits until each did or is outside its
     * run loop. Returns false if one did not within {@code timeoutMillis} (the caller gives up the
     * round: a page might be missed).
     */
    public boolean flushWriteCaches(long timeoutMillis) {
        long e;
        synchronized (this) {
            e = ++epoch;
        }
        List<WriteCache> snapshot;
        synchronized (caches) {
            snapshot = new ArrayList<>(caches);
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        for (WriteCache c : snapshot) {
            while (c.active() && c.flushedEpoch() < e) {
                if (System.nanoTime() - deadline > 0) {
                    return false;
                }
                LockSupport.parkNanos(20_000);
            }
        }
        return true;
    }
}
