package org.xenj.hypervisor.internal.cpu;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

import org.xenj.hypervisor.internal.exec.CpuEnvironment;
import org.xenj.hypervisor.internal.exec.MmioRange;
import org.xenj.hypervisor.internal.mem.DirtyLog;
import org.xenj.hypervisor.internal.mem.DomainMemory;
import org.xenj.hypervisor.internal.mem.MachineMemory;
import org.xenj.hypervisor.internal.mem.SharedCode;

/**
 * The software TLB's state and the invalidations of it: two direct-mapped sets (supervisor and user)
 * of read/write tags, host chunk and offset, global and no-execute bits, MMIO tags with their range;
 * the code pages watched for self-modifying stores while compiled blocks run from them; and the
 * log-dirty epoch that drops every write tag. {@link CpuMmu} fills the slots (page walks) and reads
 * through them; the arrays are package-private for it, never for devices.
 */
abstract class CpuTlb extends CpuRegs implements DirtyLog.WriteCache, SharedCode.Sharer, org.xenj.hypervisor.internal.mem.RemapSync {

    static final VarHandle LE16 = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    static final VarHandle LE32 = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    static final VarHandle LE64 = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    static final int TLB_BITS = 12;
    static final int TLB_SIZE = 1 << TLB_BITS;
    static final int TLB_MASK = TLB_SIZE - 1;
    static final int PAGE_MASK = ~0xfff;

    static final int PF_W = 2, PF_U = 4;

    final DomainMemory memory;
    final MachineMemory machine;
    final CpuEnvironment env;

    final int[] kTagR = new int[TLB_SIZE], kTagW = new int[TLB_SIZE], kOff = new int[TLB_SIZE];
    final byte[][] kMem = new byte[TLB_SIZE][];
    final boolean[] kGlobal = new boolean[TLB_SIZE];
    final int[] uTagR = new int[TLB_SIZE], uTagW = new int[TLB_SIZE], uOff = new int[TLB_SIZE];
    final byte[][] uMem = new byte[TLB_SIZE][];
    final boolean[] uGlobal = new boolean[TLB_SIZE];
    /** The slot's machine frame (RAM slots only): code pages are marked by frame in {@link SharedCode}. */
    final int[] kMfn = new int[TLB_SIZE], uMfn = new int[TLB_SIZE];
    /** The slot's page may not be fetched from (XD under EFER.NXE): code fetches walk again and fault. */
    final boolean[] kNoExec = new boolean[TLB_SIZE], uNoExec = new boolean[TLB_SIZE];

    final int[] kMmioTagR = new int[TLB_SIZE], kMmioTagW = new int[TLB_SIZE];
    final int[] uMmioTagR = new int[TLB_SIZE], uMmioTagW = new int[TLB_SIZE];
    final MmioRange[] kMmio = new MmioRange[TLB_SIZE], uMmio = new MmioRange[TLB_SIZE];
    /** Offset of the slot's page within its range. */
    final long[] kMmioOff = new long[TLB_SIZE], uMmioOff = new long[TLB_SIZE];

    /** The set in use for the current privilege (user set at CPL 3). */
    int[] tagR, tagW, tOff, tMfn;
    byte[][] tMem;
    boolean[] tNoExec;
    boolean userMode;

    /**
     * Set when something may have made the cached block being run stale or inapplicable: a TLB
     * flush, a code-segment change, or a write to the linear page the block runs from
     * ({@link #codeWatchPage}). The block runner ends the block after the current instruction.
     */
    boolean blockBreak;
    /**
     * Set with {@link #blockBreak} ({@link #breakEpoch}) when code bytes or mappings may have changed:
     * the next block starts a new validation epoch. A break without it (a code-segment or privilege
     * change: {@link #codeModeBreak}) only ends the block; no memory changed, so the blocks compared
     * in the epoch stay valid (each interrupt, IRET, SYSENTER and far transfer used to start an
     * epoch and compare every block again).
     */
    boolean epochDue;

    /** Ends the block in progress and starts a new validation epoch at the next block. */
    final void breakEpoch() {
        blockBreak = true;
        epochDue = true;
    }
    /**
     * Linear page the current block runs from. Its write tag is dropped when a block starts, so
     * every store to that page comes through {@link #fill} and is seen here (self-modifying code
     * inside one block). 1 = none (never a page base).
     */
    int codeWatchPage = 1;

    /**
     * Linear code pages blocks ran from in the current validation epoch (direct mapped by page
     * number; 1 = empty): their write tags are kept dropped in both TLBs, so every store to them
     * passes {@link #fill} and raises {@link #blockBreak}. While execution moves among these pages
     * no store can have changed their code unseen, so the block cache need not compare blocks'
     * bytes again (it did so at each code-page change before: 13-26 % of a Linux boot's CPU time).
     * 256 pages: with 16, a page pushing another out of the set caused 8.9 M of the 9.7 M epochs
     * of a Linux boot (the kernel's hot code spans far more than 16 pages); emptying the set costs
     * one fill of 256 ints per epoch.
     */
    static final int WATCH_SLOTS = 256;
    final int[] watchedPages = new int[WATCH_SLOTS];
    /**
     * The host chunk and the index of the first byte of each watched page's frame (null: none), so
     * that a store by this vCPU that has no linear address &mdash; the page walker's accessed/dirty
     * bits &mdash; can tell whether it hit code blocks ran from in this epoch ({@link #wroteFrame}).
     */
    final byte[][] watchedChunks = new byte[WATCH_SLOTS][];
    /** Breaks raised by {@link #wroteFrame} (the lockstep check carries the shadow run's over to the interpreter's). */
    long frameBreaks;
    final int[] watchedFrameIdx = new int[WATCH_SLOTS];

    /**
     * This vCPU stored into the frame at {@code chunk[frameIdx]} without a linear address (the
     * page walker setting accessed/dirty bits): if a watched code page is that frame, the blocks
     * compared in this epoch may have changed, so the block in progress ends and a new epoch starts
     * ({@link #blockBreak}). Any other frame holds no block compared in this epoch (those are all on
     * watched pages), so nothing else is needed: such blocks are compared when next entered.
     */
    final void wroteFrame(byte[] chunk, int frameIdx) {
        byte[][] c = watchedChunks;
        for (int w = 0; w < WATCH_SLOTS; w++) {
            if (c[w] == chunk && watchedFrameIdx[w] == frameIdx && watchedPages[w] != 1) {
                breakEpoch();
                frameBreaks++;
                return;
            }
        }
    }

    final boolean isWatched(int page) {
        return watchedPages[(page >>> 12) & (WATCH_SLOTS - 1)] == page;
    }

    /**
     * Forces stores to the linear page of {@code lin} (whose frame starts at {@code chunk[frameIdx]})
     * through the slow path while blocks run from it (this epoch). Returns false when it pushed another page out of the watched set: that
     * page's stores are not seen any more, so the caller must start a new validation epoch.
     */
    final boolean watchCodePage(int lin, byte[] chunk, int frameIdx, int mfn) {
        SharedCode sc = sharedCode;
        if (sc != null) {
            long generation = sc.mark(mfn);
            if (generation != 0) {
                ownMark = generation;
            }
        }
        int page = lin & PAGE_MASK;
        codeWatchPage = page;
        int w = (page >>> 12) & (WATCH_SLOTS - 1);
        int old = watchedPages[w];
        watchedPages[w] = page;
        watchedChunks[w] = chunk;
        watchedFrameIdx[w] = frameIdx;
        int i = (lin >>> 12) & TLB_MASK;
        if (kTagW[i] == page) {
            kTagW[i] = -1;
        }
        if (uTagW[i] == page) {
            uTagW[i] = -1;
        }
        return old == 1 || old == page;
    }

    /**
     * Whether a block's remembered successor on another page, at linear {@code lin} of a page that
     * mapped to {@code mem[off + lin]} when it was linked, is still what the dispatcher's steps
     * ({@code codeIndexAtEip}, {@code otherCodePage}, the set scan) would reach: one vCPU (with
     * several, watching marks the frame in {@link SharedCode} each time); the page's TLB entry is an
     * instruction-fetch hit to the same chunk and offset (no fault, no walk, the same frame); the
     * page is in the watched set with that frame (watched since before this epoch's blocks on it
     * were compared; watching it again would change nothing and not move the epoch). Sets
     * {@link #codeWatchPage} as watching would.
     */
    final boolean crossLinkHolds(int lin, byte[] mem, int off) {
        int i = (lin >>> 12) & TLB_MASK;
        int pg = lin & PAGE_MASK;
        int w = (pg >>> 12) & (WATCH_SLOTS - 1);
        if (sharedCode == null && tagR[i] == pg && !tNoExec[i] && tMem[i] == mem && tOff[i] == off && watchedPages[w] == pg
                && watchedChunks[w] == mem && watchedFrameIdx[w] == off + pg) {
            codeWatchPage = pg;
            return true;
        }
        return false;
    }

    /** Empties the watched set (a new validation epoch starts: everything is compared again anyway). */
    final void unwatchAll() {
        Arrays.fill(watchedPages, 1);
    }

    /** Drops the write tags of every watched page again (after the lockstep shadow's probes filled some). */
    final void rewatchAll() {
        for (int page : watchedPages) {
            if (page != 1) {
                int i = (page >>> 12) & TLB_MASK;
                if (kTagW[i] == page) {
                    kTagW[i] = -1;
                }
                if (uTagW[i] == page) {
                    uTagW[i] = -1;
                }
            }
        }
    }

    // ------------------------------------------------------------------ code shared with other vCPUs (SharedCode)

    /** The domain's shared code while it has more than one vCPU (null before: nothing is marked or counted). */
    SharedCode sharedCode;
    /** The mark generation this vCPU dropped its write tags for (read by the other vCPUs). */
    private volatile long syncedMarks;
    /** The generation of this vCPU's own last mark: the others must be synced to it. */
    long ownMark;
    /** Stores into shared code this vCPU counted itself (not another vCPU's). */
    long ownCodeWrites;
    /** Others' stores into shared code when this epoch began. */
    long seenOthersCodeWrites;
    /** A fill let this vCPU store into a marked frame: the store is counted after it is made. */
    boolean pendingCodeWrite;
    /** Statistics: validation epochs begun because another vCPU wrote shared code or had not synced. */
    long sharedEpochs;

    @Override
    public final long syncedMarks() {
        return syncedMarks;
    }

    /** From this vCPU's thread when its domain gets a second vCPU: marks and counts from now on. */
    final void joinSharedCode() {
        SharedCode sc = memory.sharedCode();
        sharedCode = sc;
        syncedMarks = -1;
        sc.join(this);
        syncSharedCode();
    }

    /**
     * Drops every write tag if frames were marked since the last sync (a tag filled before its
     * frame was marked lets stores in unseen), counts one store for what such tags may have
     * written, then publishes the generation: whoever sees it synced also sees the count.
     */
    final void syncSharedCode() {
        SharedCode sc = sharedCode;
        if (sc == null) {
            return;
        }
        long m = sc.marks();
        if (m != syncedMarks) {
            Arrays.fill(kTagW, -1);
            Arrays.fill(uTagW, -1);
            sc.wrote();
            ownCodeWrites++;
            syncedMarks = m;
        }
    }

    /** Counts the store a fill let into a marked frame, after it was made. */
    final void countCodeWrite() {
        pendingCodeWrite = false;
        SharedCode sc = sharedCode;
        if (sc != null) {
            sc.wrote();
            ownCodeWrites++;
        }
    }

    /**
     * Whether code blocks were compared against may have been changed by another vCPU since the
     * epoch began: a store of theirs into shared code was counted, or one of them may still hold a
     * write tag for a frame this vCPU marked. Reads the others' sync state before the count (see
     * {@link #syncSharedCode}). Does not take the answer as seen: {@link #othersWroteSharedCode}.
     */
    final boolean sharedCodeChanged() {
        SharedCode sc = sharedCode;
        if (sc == null) {
            return false;
        }
        boolean synced = sc.othersSynced(this, ownMark);
        return !synced || sc.writes() - ownCodeWrites != seenOthersCodeWrites;
    }

    /** {@link #sharedCodeChanged} at a slice start, taking the others' count as seen for the epoch that follows. */
    final boolean othersWroteSharedCode() {
        SharedCode sc = sharedCode;
        if (sc == null) {
            return false;
        }
        syncSharedCode();
        boolean synced = sc.othersSynced(this, ownMark);
        long others = sc.writes() - ownCodeWrites;
        boolean changed = !synced || others != seenOthersCodeWrites;
        seenOthersCodeWrites = others;
        if (changed) {
            sharedEpochs++;
        }
        return changed;
    }

    /** Log-dirty: the last epoch whose write tags were dropped, and whether the run loop is in. */
    private volatile long flushedEpoch;
    private volatile boolean active;

    @Override
    public final long flushedEpoch() {
        return flushedEpoch;
    }

    @Override
    public final boolean active() {
        return active;
    }

    /** The run loop is entered (true, then a sync before any instruction) or left. */
    public final void setActive(boolean on) {
        active = on;
        if (on) {
            syncWriteCache();
        }
        syncSharedCode(); // a vCPU that stops running is synced while it sleeps; one that starts drops stale tags first
    }

    /**
     * Drops every write tag if the log-dirty epoch moved on, and every translation if the p2m left
     * a shared frame ({@link DomainMemory#unshare}: another thread gave a gfn a frame of its own;
     * a clone shared the frames); between blocks of instructions.
     */
    public final void syncWriteCache() {
        long e = machine.dirtyLog().epoch();
        if (e != flushedEpoch) {
            Arrays.fill(kTagW, -1);
            Arrays.fill(uTagW, -1);
            flushedEpoch = e;
        }
        syncRemap();
    }

    /**
     * Drops every translation if the p2m left a shared frame since the last look; also right before
     * an external interrupt is delivered: a device that unshared a frame for its DMA and then raised
     * the interrupt must not have its handler read the old copy in the block it starts.
     */
    public final void syncRemap() {
        long r = memory.remapEpoch();
        if (r != remapSeen) {
            flushTlb(true);
            remapSeen = r; // after the flush: the unsharer may now drop its reference to the old frame
        }
    }

    /** Copy-on-write: the remap epoch whose translations this vCPU dropped. */
    private volatile long remapSeen;

    @Override
    public final long remapSeen() {
        return remapSeen;
    }

    @Override
    public final void remapSeen(long epoch) {
        remapSeen = epoch;
    }

    /**
     * Drops every translation of machine frame {@code mfn} (this vCPU is about to unshare it; aliases
     * of the frame at other linear pages must not read the old copy after the store). The caller
     * drops the fetch cache too if it holds the frame.
     */
    final void dropFrame(int mfn) {
        for (int i = 0; i < TLB_SIZE; i++) {
            if (kMfn[i] == mfn) {
                kTagR[i] = kTagW[i] = -1;
            }
            if (uMfn[i] == mfn) {
                uTagR[i] = uTagW[i] = -1;
            }
        }
    }

    CpuTlb(DomainMemory memory, CpuEnvironment env) {
        this.memory = memory;
        this.machine = memory.machine();
        this.env = env;
        machine.dirtyLog().register(this);
        memory.registerRemapSync(this);
        remapSeen = memory.remapEpoch();
        Arrays.fill(kTagR, -1);
        Arrays.fill(kTagW, -1);
        Arrays.fill(uTagR, -1);
        Arrays.fill(uTagW, -1);
        Arrays.fill(kMmioTagR, -1);
        Arrays.fill(kMmioTagW, -1);
        Arrays.fill(uMmioTagR, -1);
        Arrays.fill(uMmioTagW, -1);
        Arrays.fill(watchedPages, 1);
        selectTlb(false);
    }

    final void selectTlb(boolean user) {
        userMode = user;
        if (user) {
            tagR = uTagR; tagW = uTagW; tOff = uOff; tMem = uMem; tNoExec = uNoExec; tMfn = uMfn;
        } else {
            tagR = kTagR; tagW = kTagW; tOff = kOff; tMem = kMem; tNoExec = kNoExec; tMfn = kMfn;
        }
    }

    /** Forgets every cached translation ({@code globalsToo=false}: keeps PGE global pages, as a CR3 load). */
    final void flushTlb(boolean globalsToo) {
        breakEpoch(); // mappings changed: a watched linear page may now be another frame
        boolean keepGlobals = !globalsToo && (cr4 & CR4_PGE) != 0;
        for (int i = 0; i < TLB_SIZE; i++) {
            if (!keepGlobals || !kGlobal[i]) {
                kTagR[i] = -1;
                kTagW[i] = -1;
                kMmioTagR[i] = -1;
                kMmioTagW[i] = -1;
            }
            if (!keepGlobals || !uGlobal[i]) {
                uTagR[i] = -1;
                uTagW[i] = -1;
                uMmioTagR[i] = -1;
                uMmioTagW[i] = -1;
            }
        }
        flushFetch();
    }

    final void invlpg(int lin) {
        breakEpoch();
        int i = (lin >>> 12) & TLB_MASK;
        kTagR[i] = kTagW[i] = uTagR[i] = uTagW[i] = -1;
        kMmioTagR[i] = kMmioTagW[i] = uMmioTagR[i] = uMmioTagW[i] = -1;
        flushFetch();
    }

    /** Drops the interpreter's cached code page and ends the block in progress (overridden by the decoder). */
    abstract void flushFetch();
}
