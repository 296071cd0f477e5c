package org.xenj.hypervisor.internal.mem;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Cross-modifying code between the vCPUs of one domain (SDM vol. 3 §8.1.3: a processor that
 * executes code another one wrote must see it after its next serialising instruction), so that a
 * vCPU's block cache need not compare every block's bytes again at each slice, as it did while a
 * domain had more than one vCPU (22 % of the block-cache hits of a 2-vCPU Debian guest compared
 * bytes, 13 % with one vCPU, and 10.6 M validation epochs against 1.5 M).
 *
 * <p>Three shared facts, each touched only on slow paths:
 * <ul>
 * <li>a bit per machine frame that some vCPU runs validated cached code from ({@link #mark}). A
 * vCPU's TLB never keeps a write tag for a marked frame, so every store into one passes the page
 * walk, clears the mark (a frame reused as data is then fast again; whoever runs code from it next
 * marks it again) and is counted after the store ({@link #wrote});</li>
 * <li>the count of such stores, {@link #writes()}: a vCPU keeps its validation epoch at a slice
 * or serialising instruction only if no <em>other</em> vCPU's store was counted since it began;</li>
 * <li>the generation of marks, {@link #marks()}: a vCPU may still hold a write tag it filled before
 * a frame was marked, and its stores through it are not counted. So each vCPU
 * {@linkplain Sharer#syncedMarks syncs} at every slice start and when it starts or stops running: if
 * the generation moved it drops all its write tags, counts one store (its tags may have written
 * marked frames unseen) and only then publishes the generation it is synced to. A vCPU keeps its
 * epoch only while every other running vCPU is synced to the generation of its own last mark. (A
 * vCPU that is not running is synced when it starts: a marker writes the generation before it
 * reads the other's running flag, which writes its flag before it reads the generation; with
 * volatile accesses one of the two sees the other.)</li>
 * </ul>
 * Stores by devices and the hypervisor are not counted here: {@link MachineMemory#wroteRam} counts
 * them for every vCPU already.
 */
public final class SharedCode {

    /** One vCPU of the domain, as the others see it. */
    public interface Sharer {
        /** The mark generation whose stale write tags this vCPU has dropped (volatile). */
        long syncedMarks();

        /**
         * Whether it is in its run loop (volatile). One that is not stores nothing, syncs before it
         * stops and again when it starts (before any store), so it counts as synced: a vCPU parked
         * in HLT or offline must not cost the others an epoch at every slice.
         */
        boolean active();
    }

    private static final VarHandle BITS = MethodHandles.arrayElementVarHandle(long[].class);

    private final long[] bits;
    private final AtomicLong marks = new AtomicLong();
    private final AtomicLong writes = new AtomicLong();
    private volatile Sharer[] sharers = new Sharer[0];

    SharedCode(long machineFrames) {
        bits = new long[(int) ((machineFrames + 63) >>> 6)];
    }

    /** A vCPU joins (from its own thread, before it caches code as a sharer). */
    public synchronized void join(Sharer s) {
        Sharer[] a = Arrays.copyOf(sharers, sharers.length + 1);
        a[a.length - 1] = s;
        sharers = a;
    }

    /** Whether {@code mfn} holds code some vCPU ran from since its last store (plain read: a stale answer is covered by the sync). */
    public boolean marked(int mfn) {
        int w = mfn >>> 6;
        return w < bits.length && ((long) BITS.getOpaque(bits, w) & (1L << mfn)) != 0;
    }

    /**
     * A vCPU runs validated code from {@code mfn}: returns the new mark generation if this set the
     * bit, 0 if it was set already (the common case: one read).
     */
    public long mark(int mfn) {
        int w = mfn >>> 6;
        if (w >= bits.length) {
            return 0;
        }
        long bit = 1L << mfn;
        long old = (long) BITS.getOpaque(bits, w);
        while ((old & bit) == 0) {
            long seen = (long) BITS.compareAndExchange(bits, w, old, old | bit);
            if (seen == old) {
                return marks.incrementAndGet();
            }
            old = seen;
        }
        return 0;
    }

    /** A vCPU is about to store into marked {@code mfn}: later stores need not be seen until it is marked again. */
    public void unmark(int mfn) {
        int w = mfn >>> 6;
        if (w < bits.length) {
            long bit = 1L << mfn;
            long old = (long) BITS.getOpaque(bits, w);
            while ((old & bit) != 0) {
                long seen = (long) BITS.compareAndExchange(bits, w, old, old & ~bit);
                if (seen == old) {
                    return;
                }
                old = seen;
            }
        }
    }

    /** Counts a store into code (after the store: whoever sees the count sees the bytes). */
    public void wrote() {
        writes.incrementAndGet();
    }

    public long writes() {
        return writes.get();
    }

    public long marks() {
        return marks.get();
    }

    /** Whether every vCPU but {@code self} has synced to generation {@code generation}. */
    public boolean othersSynced(Sharer self, long generation) {
        for (Sharer s : sharers) {
            if (s != self && s.active() && s.syncedMarks() < generation) {
                return false;
            }
        }
        return true;
    }
}
