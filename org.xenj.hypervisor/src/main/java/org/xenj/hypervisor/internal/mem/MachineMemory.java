package org.xenj.hypervisor.internal.mem;

import java.util.Arrays;

import org.xenj.hypervisor.api.HypervisorException;

/**
 * The memory given to xenj ({@code xenj.memory}), split into 4 KiB machine frames, each owned by
 * exactly one domain or free. Frames live in 1 MiB chunks of {@code byte[]} allocated on first
 * use, so that a large configured size costs host memory only as domains take it. The CPU's TLB
 * caches (chunk, offset) pairs from {@link #chunk} and {@link #offset}; nothing here is on the
 * per-instruction path.
 */
public final class MachineMemory {

    public static final int PAGE_SHIFT = 12;
    public static final int PAGE_SIZE = 1 << PAGE_SHIFT;
    /** Frames per chunk (256 x 4 KiB = 1 MiB). */
    public static final int CHUNK_FRAMES_SHIFT = 8;
    public static final int CHUNK_FRAMES = 1 << CHUNK_FRAMES_SHIFT;
    /** Owner value of a free frame. */
    public static final int FREE = -1;
    /**
     * Owner value of a frame shared copy-on-write between domains' p2m entries (clones; Xen's
     * {@code dom_cow}). Such a frame is never written while shared: every writer of a domain
     * "unshares" first ({@link DomainMemory#unshare}), and every {@code owner(mfn) == domid} check
     * refuses it. Its {@link #shareRefs} count the p2m entries (and clone tokens) pointing at it.
     */
    public static final int SHARED = -3;

    private final int totalFrames;
    private final byte[][] chunks;
    private final int[] chunkUse;
    private final int[] owner;
    /** References to each {@link #SHARED} frame (0 for every other frame). */
    private final int[] shareRefs;
    /** Frames now {@link #SHARED}. */
    private int sharedFrames;
    /** Frames given by {@link #reserve}: owned, but not counted in {@link #chunkUse}, maybe no chunk. */
    private final boolean[] unbacked;
    /** Free frames as a stack, lowest mfn on top at start so that allocations are compact. */
    private final int[] freeStack;
    private int freeTop;
    /** Log-dirty bits for live migration (see {@link DirtyLog}). */
    private final DirtyLog dirtyLog;

    public MachineMemory(long bytes) {
        long frames = bytes >>> PAGE_SHIFT;
        if (frames < CHUNK_FRAMES || frames > (1L << 30)) {
            throw new IllegalArgumentException("xenj.memory must be between 1 MiB and 4 TiB, was " + bytes + " bytes");
        }
        this.totalFrames = (int) (frames & ~(CHUNK_FRAMES - 1));
        this.chunks = new byte[totalFrames >>> CHUNK_FRAMES_SHIFT][];
        this.chunkUse = new int[chunks.length];
        this.owner = new int[totalFrames];
        Arrays.fill(owner, FREE);
        this.unbacked = new boolean[totalFrames];
        this.shareRefs = new int[totalFrames];
        this.freeStack = new int[totalFrames];
        for (int i = 0; i < totalFrames; i++) {
            freeStack[i] = totalFrames - 1 - i;
        }
        this.freeTop = totalFrames;
        this.dirtyLog = new DirtyLog(totalFrames);
    }

    /** The machine's log-dirty bits. */
    public DirtyLog dirtyLog() {
        return dirtyLog;
    }

    /** Marks a frame written for log-dirty mode (nothing unless a domain logs). */
    public void markDirty(int mfn) {
        dirtyLog.mark(mfn);
    }

    /**
     * Counts writes into guest RAM by anyone but a vCPU's own stores: device models and DMA,
     * backends, hypercalls' copies, grant copies, PV page-table updates, restores, p2m changes.
     * Bumped <em>after</em> the bytes are stored, so a vCPU that reads the count and then compares
     * cached code with RAM sees at least those writes. The vCPUs read it at each slice: while it
     * has not moved, blocks compared earlier need not be compared again ({@code CpuBlocks#newEpoch}).
     */
    private final java.util.concurrent.atomic.AtomicLong ramWrites = new java.util.concurrent.atomic.AtomicLong();

    /** A writer other than a vCPU's own stores has written guest RAM (call after the store). */
    public void wroteRam() {
        ramWrites.incrementAndGet();
    }

    /** Writes counted by {@link #wroteRam} so far. */
    public long ramWrites() {
        return ramWrites.get();
    }

    /** Parses sizes like {@code 2048M}, {@code 2G}, {@code 512k} or plain bytes. */
    public static long parseSize(String text) {
        String t = text.trim().toUpperCase();
        long mul = 1;
        if (t.endsWith("B")) {
            t = t.substring(0, t.length() - 1);
        }
        char last = t.isEmpty() ? ' ' : t.charAt(t.length() - 1);
        switch (last) {
            case 'K' -> mul = 1L << 10;
            case 'M' -> mul = 1L << 20;
            case 'G' -> mul = 1L << 30;
            case 'T' -> mul = 1L << 40;
            default -> mul = 1;
        }
        if (mul != 1) {
            t = t.substring(0, t.length() - 1);
        }
        try {
            return Math.multiplyExact(Long.parseLong(t.trim()), mul);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("not a memory size: '" + text + "' (use e.g. 2048M or 2G)");
        }
    }

    public int totalFrames() {
        return totalFrames;
    }

    public synchronized int freeFrames() {
        return freeTop;
    }

    /**
     * Gives {@code count} free frames to {@code domid}, zeroed. All or nothing: when memory is short
     * nothing changes and the error says how much was asked for and how much is free.
     */
    public synchronized int[] allocate(int domid, int count) {
        return take(domid, count, true);
    }

    /**
     * Gives {@code count} free frames to {@code domid} for accounting only: owned like any frame, but
     * with no host bytes behind them until {@link #transfer}red ({@link #chunk} is then not to be
     * used). For memory nothing executes in, e.g. Domain-0's share, which the JVM then does not
     * have to hold. All or nothing, as {@link #allocate}.
     */
    public synchronized int[] reserve(int domid, int count) {
        return take(domid, count, false);
    }

    /**
     * A PV restore's allocation plan (see {@link #planAllocations}): the frames the thread that set
     * it takes next, in order, for any domain but Domain 0 (a PV guest's frame numbers are machine
     * frame numbers, so its restore must get back exactly the frames it had).
     */
    private int[] plan;
    private int planNext;
    private Thread planThread;

    /**
     * From now on, and until {@link #endPlan}, backed allocations made on this thread for a domain
     * other than 0 take {@code frames} in this order (then, once used up, any free frame). Refused
     * with the first frame that is not free and its owner, changing nothing.
     */
    public synchronized void planAllocations(int[] frames) {
        java.util.BitSet seen = new java.util.BitSet();
        for (int f : frames) {
            if (f < 0 || f >= totalFrames) {
                throw new HypervisorException("machine frame " + f + " is outside this host's " + totalFrames + " frames");
            }
            if (owner[f] != FREE) {
                throw new HypervisorException("machine frame 0x" + Integer.toHexString(f) + " is held by "
                        + (owner[f] == SHARED ? "shared clones" : "domain " + owner[f]));
            }
            if (seen.get(f)) {
                throw new HypervisorException("machine frame 0x" + Integer.toHexString(f) + " is planned twice");
            }
            seen.set(f);
        }
        plan = frames.clone();
        planNext = 0;
        planThread = Thread.currentThread();
    }

    /** Ends this thread's plan; returns how many of its frames were taken. */
    public synchronized int endPlan() {
        int used = planNext;
        if (planThread == Thread.currentThread()) {
            plan = null;
            planThread = null;
        }
        return used;
    }

    /** Takes the next {@code count} planned frames off the free stack (one pass), or null when no plan applies. */
    private int[] takePlanned(int domid, int count, boolean backed) {
        if (plan == null || planThread != Thread.currentThread() || domid == 0 || !backed || planNext + count > plan.length) {
            return null;
        }
        java.util.BitSet want = new java.util.BitSet();
        for (int i = 0; i < count; i++) {
            int f = plan[planNext + i];
            if (owner[f] != FREE) {
                throw new HypervisorException("machine frame 0x" + Integer.toHexString(f) + " is held by "
                        + (owner[f] == SHARED ? "shared clones" : "domain " + owner[f]));
            }
            want.set(f);
        }
        int w = 0;
        for (int i = 0; i < freeTop; i++) {
            if (!want.get(freeStack[i])) {
                freeStack[w++] = freeStack[i];
            }
        }
        freeTop = w;
        int[] mfns = java.util.Arrays.copyOfRange(plan, planNext, planNext + count);
        planNext += count;
        for (int mfn : mfns) {
            owner[mfn] = domid;
            int c = mfn >>> CHUNK_FRAMES_SHIFT;
            if (chunks[c] == null) {
                chunks[c] = new byte[CHUNK_FRAMES << PAGE_SHIFT];
            }
            chunkUse[c]++;
        }
        return mfns;
    }

    private int[] take(int domid, int count, boolean backed) {
        if (domid < 0) {
            throw new IllegalArgumentException("bad domid " + domid);
        }
        int[] planned = takePlanned(domid, count, backed);
        if (planned != null) {
            return planned;
        }
        if (count < 0 || count > freeTop) {
            throw new HypervisorException("not enough free memory: asked for " + ((long) count << PAGE_SHIFT >> 10)
                    + " KiB, " + ((long) freeTop << PAGE_SHIFT >> 10) + " KiB free of "
                    + ((long) totalFrames << PAGE_SHIFT >> 10) + " KiB");
        }
        int[] mfns = new int[count];
        for (int i = 0; i < count; i++) {
            int mfn = freeStack[--freeTop];
            owner[mfn] = domid;
            if (backed) {
                int c = mfn >>> CHUNK_FRAMES_SHIFT;
                if (chunks[c] == null) {
                    chunks[c] = new byte[CHUNK_FRAMES << PAGE_SHIFT];
                }
                chunkUse[c]++;
            } else {
                unbacked[mfn] = true;
            }
            mfns[i] = mfn;
        }
        return mfns;
    }

    /** Returns frames to the free pool, scrubbed. Frames not owned by {@code domid} are refused. */
    public synchronized void free(int domid, int[] mfns) {
        for (int mfn : mfns) {
            if (mfn < 0 || mfn >= totalFrames || owner[mfn] != domid) {
                throw new IllegalStateException("frame " + mfn + " is not owned by domain " + domid);
            }
        }
        for (int mfn : mfns) {
            owner[mfn] = FREE;
            if (unbacked[mfn]) {
                unbacked[mfn] = false; // reserved only: no bytes to scrub or give back
            } else {
                int c = mfn >>> CHUNK_FRAMES_SHIFT;
                Arrays.fill(chunks[c], offset(mfn), offset(mfn) + PAGE_SIZE, (byte) 0);
                if (--chunkUse[c] == 0) {
                    chunks[c] = null; // give the host its memory back
                }
            }
            freeStack[freeTop++] = mfn;
        }
        wroteRam(); // scrubbed
    }

    /**
     * Adds {@code refs} references to {@code mfn}, which {@code domid} owns (it then becomes
     * {@link #SHARED} with one reference for the domain's own p2m entry plus {@code refs}) or which
     * is shared already. Returns false, changing nothing, for any other frame (free, another
     * domain's, reserved without bytes).
     */
    public synchronized boolean share(int domid, int mfn, int refs) {
        return shareHeld(domid, mfn, refs);
    }

    /** {@link #share}'s work, for callers that hold this object's lock. */
    private boolean shareHeld(int domid, int mfn, int refs) {
        if (mfn < 0 || mfn >= totalFrames || refs < 1) {
            return false;
        }
        if (owner[mfn] == SHARED) {
            shareRefs[mfn] += refs;
            return true;
        }
        if (owner[mfn] != domid || domid < 0 || unbacked[mfn]) {
            return false;
        }
        owner[mfn] = SHARED;
        shareRefs[mfn] = 1 + refs;
        sharedFrames++;
        return true;
    }

    /**
     * Drops one reference to a {@link #SHARED} frame; at none left it is scrubbed and free again.
     * Only after every vCPU that could have cached it dropped its translations (see
     * {@link DomainMemory#unshare}): a shared frame is only read, so a stale read sees what it held,
     * never what its next owner writes.
     */
    public synchronized void unref(int mfn) {
        if (mfn < 0 || mfn >= totalFrames || owner[mfn] != SHARED || shareRefs[mfn] <= 0) {
            throw new IllegalStateException("frame " + mfn + " is not shared");
        }
        if (--shareRefs[mfn] == 0) {
            sharedFrames--;
            owner[mfn] = FREE;
            int c = mfn >>> CHUNK_FRAMES_SHIFT;
            Arrays.fill(chunks[c], offset(mfn), offset(mfn) + PAGE_SIZE, (byte) 0);
            if (--chunkUse[c] == 0) {
                chunks[c] = null;
            }
            freeStack[freeTop++] = mfn;
            wroteRam();
        }
    }

    /**
     * {@link #share} with one more reference for each frame of {@code p2m} (a domain's map) that can
     * be shared, in one tight loop under one lock (a 256 MiB domain has 65,536, and a snapshot's
     * pause waits for it): {@code out[gfn]} gets the frame, the others stay as they are. Returns
     * {frames shared, frames the domain holds (its own or shared) that could not be}.
     */
    public synchronized int[] shareMapped(int domid, int[] p2m, int[] out) {
        int n = 0;
        int left = 0;
        for (int gfn = 0; gfn < p2m.length; gfn++) {
            int m = p2m[gfn];
            if (shareHeld(domid, m, 1)) {
                out[gfn] = m;
                n++;
            } else if (m >= 0 && m < totalFrames && owner[m] == domid) {
                left++; // held but not shareable (unbacked)
            }
        }
        return new int[] {n, left};
    }

    /**
     * A {@link #SHARED} frame with one reference left, held by {@code domid}, becomes that domain's
     * own again (its content stays): the end of a snapshot's share, so that the domain's later
     * writes there need no copy. False (nothing changed) if others still hold it.
     */
    public synchronized boolean reclaimSole(int domid, int mfn) {
        if (mfn < 0 || mfn >= totalFrames || owner[mfn] != SHARED || shareRefs[mfn] != 1 || domid < 0) {
            return false;
        }
        owner[mfn] = domid;
        shareRefs[mfn] = 0;
        sharedFrames--;
        return true;
    }

    /** References to {@code mfn} if it is {@link #SHARED}, else 0. */
    public synchronized int shareRefs(int mfn) {
        return mfn >= 0 && mfn < totalFrames && owner[mfn] == SHARED ? shareRefs[mfn] : 0;
    }

    /** Frames now shared copy-on-write (each counted once, however many domains map it). */
    public synchronized int sharedFrames() {
        return sharedFrames;
    }

    /** Moves ownership of one frame (grant transfer, page exchange). A reserved frame gets its bytes. */
    public synchronized void transfer(int mfn, int fromDomid, int toDomid) {
        if (owner[mfn] != fromDomid) {
            throw new IllegalStateException("frame " + mfn + " is not owned by domain " + fromDomid);
        }
        if (unbacked[mfn]) {
            unbacked[mfn] = false;
            int c = mfn >>> CHUNK_FRAMES_SHIFT;
            if (chunks[c] == null) {
                chunks[c] = new byte[CHUNK_FRAMES << PAGE_SHIFT];
            }
            chunkUse[c]++;
        }
        owner[mfn] = toDomid;
        wroteRam();
    }

    /** The domain owning {@code mfn}, or {@link #FREE}; -2 for an mfn outside machine memory. */
    public int owner(long mfn) {
        if (mfn < 0 || mfn >= totalFrames) {
            return -2;
        }
        return owner[(int) mfn];
    }

    /**
     * Locks held by the hypervisor's atomic updates of guest memory ({@link MachineFrames}'s
     * getAndOr32, getAndAnd32, compareAndSet16: event channel bits, grant flags). They used to make
     * a guest's LOCK-prefixed read-modify-writes atomic with those updates too; the CPU now performs
     * such an instruction as a compare-and-set of the aligned word it read (CpuMmu.lockedRead), which
     * fails and retries when a hypervisor update (itself a real atomic) came in between, so guests no
     * longer take these. Striped by 64-byte line of the byte's offset in its chunk.
     */
    private final java.util.concurrent.locks.ReentrantLock[] atomicStripes = newStripes();

    private static java.util.concurrent.locks.ReentrantLock[] newStripes() {
        var s = new java.util.concurrent.locks.ReentrantLock[64];
        for (int i = 0; i < s.length; i++) {
            s[i] = new java.util.concurrent.locks.ReentrantLock();
        }
        return s;
    }

    /** The lock of the guest-memory line at byte {@code offsetInChunk} of its {@link #chunk}. */
    public java.util.concurrent.locks.ReentrantLock atomicStripe(int offsetInChunk) {
        return atomicStripes[(offsetInChunk >>> 6) & 63];
    }

    /** The backing array of a frame. Valid only while the frame is owned and was not {@link #reserve}d. */
    public byte[] chunk(int mfn) {
        return chunks[mfn >>> CHUNK_FRAMES_SHIFT];
    }

    /** Byte offset of a frame within its {@link #chunk}. */
    public static int offset(int mfn) {
        return (mfn & (CHUNK_FRAMES - 1)) << PAGE_SHIFT;
    }
}
