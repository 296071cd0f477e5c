package org.xenj.hypervisor.internal.cpu;

import org.xenj.hypervisor.internal.cpu.jit.BlockCompiler;
import org.xenj.hypervisor.internal.cpu.jit.CodeCache;
import org.xenj.hypervisor.internal.cpu.jit.CompiledBlock;
import org.xenj.hypervisor.internal.cpu.jit.GuestInsn;
import org.xenj.hypervisor.internal.cpu.jit.JitOptions;
import org.xenj.hypervisor.internal.exec.CpuEnvironment;
import org.xenj.hypervisor.internal.mem.DomainMemory;

/**
 * The decoded-block cache. A block is a run of instructions decoded from one physical code page,
 * stored as rows of ints (opcode, ModRM, prefixes, length, effective-address parts, immediates) in
 * preallocated flat arrays, and keyed by (host chunk, index of its first byte, CS size, CS base and
 * limit). The cache is 4-way set associative (1024 sets, least recently used way replaced); the
 * set is a hash of the whole host address (chunk identity and index). Running a cached block only unpacks the rows into the decoder's fields and recomputes the
 * effective address from the registers; nothing is allocated and the executors are unchanged.
 *
 * <h2>Why blocks stay correct</h2>
 * <ul>
 * <li>Each block keeps a copy of the bytes it was decoded from and compares them with the RAM (8
 * bytes at a time) before it runs, unless it was already compared in the current validation
 * {@link #epoch}. Whoever changed the code in the meantime &mdash; this vCPU, another vCPU, a
 * device's DMA through {@code DomainMemory.write*}, a hypercall &mdash; the block is decoded again;
 * no writer has to know about the cache. Lookups are by host memory, so a remapped virtual page
 * finds the blocks of its new physical page.</li>
 * <li>The epoch advances at each slice, when a code page leaves the watched set, and on
 * {@link #blockBreak}: a store into any code page blocks ran from in this epoch (their TLB write
 * tags are kept dropped, {@link #watchCodePage}, so every such store passes the slow path), a TLB
 * flush or INVLPG, a CS load, a hypercall, CPUID. The block in progress also ends there, after
 * the current instruction.</li>
 * <li>A block follows the path it was recorded on: after each instruction EIP must be the
 * fall-through address, otherwise (a taken branch, an exception, an interrupt) the block ends.</li>
 * </ul>
 * Limits (as on hardware, cross-modifying code needs synchronisation): a store by this vCPU through
 * a linear alias it has not run code from, a DMA or another vCPU's store is seen at the next
 * slice or break (CPUID, IRET, a TLB flush...), not within the current block.
 *
 * Instructions that cross the page, come from MMIO or lie beyond the slot's capacity end the
 * recording and run through the ordinary decoder.
 */
abstract class CpuBlocks extends CpuExec0F {

    /** {@code -Dxenj.cpu.blockcache=false} turns the cache off (for comparisons and bisecting). */
    static final boolean ENABLED = !"false".equals(System.getProperty("xenj.cpu.blockcache"));

    /**
     * 4096 slots as 1024 sets of 4 ways, replaced least recently used first
     * ({@code -Dxenj.cpu.blockcache.slots=N}: N slots, a power of two from 64 to 65536, for measurements).
     */
    private static final int WAY_BITS = 2, WAYS = 1 << WAY_BITS,
            SET_BITS = Integer.numberOfTrailingZeros(Integer.highestOneBit(
                    Math.max(64, Math.min(65536, Integer.getInteger("xenj.cpu.blockcache.slots", 4096))))) - WAY_BITS;
    static final int SLOTS = 1 << (SET_BITS + WAY_BITS);
    static final int MAX_INSNS = 32;
    private static final int STRIDE = 5;
    private static final int MAX_BYTES = 256;

    // row word 0
    private static final int W0_O32 = 1 << 17, W0_A32 = 1 << 18, W0_LOCK = 1 << 19, W0_EA = 1 << 20, W0_BASE_ESP = 1 << 21;
    private static final int[] REP_OF = {0, 0xf2, 0xf3, 0};

    private byte[][] slotChunk;
    /** Per slot, in one cache line: first byte's index, CS size, CS base, CS limit, rows, bytes (padded to 8: a set is two lines). */
    private int[] meta;
    private static final int M_START = 0, M_MODE = 1, M_CS_BASE = 2, M_CS_LIMIT = 3, M_COUNT = 4, M_LEN = 5, META = 8;
    /**
     * Per slot, what chaining and the hit path read and write: epoch, use stamp, generation,
     * compiled block, successors ({@link BlockSlot}). Allocated with the vCPU (the translator's
     * state lives in it too).
     */
    final BlockSlot[] blockSlots = BlockSlot.array(SLOTS);
    /** Stamps {@link BlockSlot#used} (compared by difference, so wrapping around is harmless). */
    private int useClock;

    /**
     * Validation epoch: a block whose bytes were compared in the current epoch is entered without
     * comparing again. The epoch advances at every slice (DMA, hypercalls and other vCPUs write
     * between slices) and whenever execution moves to another code page or {@link #blockBreak}
     * was raised (a store into the watched page, a TLB flush, a CS change): while none of that
     * happens, this vCPU cannot have changed the code it runs.
     */
    int epoch;
    private int[] rows;
    private byte[] slotBytes;

    /** Instructions completed in the current slice (read by the slice loop after a fault too). */
    int sliceDone;
    /** Statistics: blocks entered from the cache, blocks (re)decoded, blocks that pushed another out of its set. */
    long blockHits, blockBuilds, blockEvictions;
    /** Statistics: cached blocks whose bytes were compared with the RAM again (a new validation epoch). */
    long blockCompares;

    /**
     * Hot blocks compiled to JVM bytecode (on unless {@code -Dxenj.jit=false} or the domain's
     * {@code jit = 0}), or null when off. Set before the vCPU first runs ({@link #setTranslator}).
     */
    CpuJit jit;

    CpuBlocks(DomainMemory memory, CpuEnvironment env) {
        super(memory, env);
        vcpuIndex = memory.attachVcpu() - 1; // while it is the only one, no other CPU stores into this memory (see newEpoch)
        JitOptions options = JitOptions.fromSystemProperties();
        jit = ENABLED && options.enabled() ? new CpuJit((Cpu) this, options, SLOTS) : null;
    }

    /**
     * Turns the translator on or off for this vCPU (a domain's xl.cfg {@code jit} key; null keeps
     * the hypervisor-wide default from {@code xenj.jit}). Only before the vCPU first runs: the
     * block cache starts empty either way. Without the block cache ({@code xenj.cpu.blockcache=false})
     * there is nothing to translate and it stays off.
     */
    public final void setTranslator(Boolean on) {
        if (on == null) {
            return;
        }
        if (!on) {
            jit = null;
        } else if (jit == null && ENABLED) {
            JitOptions o = JitOptions.fromSystemProperties();
            jit = new CpuJit((Cpu) this, o.on(), SLOTS);
        }
    }

    /** Whether this vCPU translates hot blocks. */
    public final boolean translatorOn() {
        return jit != null;
    }

    /** The translator's statistics, or null when it is off. */
    public final String jitStatistics() {
        return jit == null ? null : jit.statistics();
    }

    /** The block cache's statistics (benchmarks, debug keys). */
    public final String blockCacheStatistics() {
        return "blocks: from cache=" + blockHits + " compared=" + blockCompares + " decoded=" + blockBuilds + " evicted=" + blockEvictions + " (" + SLOTS + " slots, "
                + WAYS + "-way) epochs=" + epoch + " sliceEpochs=" + sliceEpochs + " slices=" + slices + " writerEpochs=" + writerEpochs
                + " breakEpochs=" + breakEpochs + " modeBreaks=" + modeBreaks + " pushEpochs=" + pushEpochs + " tableWrites=" + tableWrites
                + " lockedReads=" + lockedReads + " pauses=" + pauses + " pauseExits=" + pauseExits + " crossPageChains=" + crossPageChains + " crossPageLinked=" + crossPageLinked + " chainCompares=" + chainCompares + " inlineInterpreted=" + inlineInterpreted + (opStats == null ? "" : opStats.toString())
                + (sharedCode == null ? "" : " sharedEpochs=" + sharedEpochs + " codeMarks=" + sharedCode.marks() + " codeWrites=" + sharedCode.writes());
    }

    private void allocate() {
        slotChunk = new byte[SLOTS][];
        meta = new int[SLOTS * META];
        rows = new int[SLOTS * MAX_INSNS * STRIDE];
        slotBytes = new byte[SLOTS * MAX_BYTES];
    }

    /**
     * A new slice: starts a new validation epoch if others may have written code meanwhile &mdash;
     * a writer other than this vCPU's stores wrote guest RAM ({@code MachineMemory.wroteRam}:
     * devices, DMA, hypercalls, grant copies, PV page-table updates, restores, p2m changes), or
     * another vCPU of the domain stored into code or may have unseen ({@code SharedCode}: before
     * it, a domain with several vCPUs began an epoch at every slice), or {@value #QUIET_SLICES}
     * slices went by without one (a bound on how long a store of this vCPU through a linear alias
     * of a code page it runs from, which nothing else notices, can go unseen). Otherwise the
     * epoch goes on: the blocks already compared in it and their watched pages stay valid, and
     * they are not compared again (they were at every slice before: 45 % of a Linux boot's cache
     * hits, slices ending at every STI, POPF and IRET).
     */
    final void newEpoch() {
        boolean shared = memory.vcpusAttached() > 1;
        boolean joined = false;
        if (shared != smp) {
            smp = shared; // another vCPU was built over this memory: ordered accesses from now on
            if (jit != null) {
                jit.dropAll(); // blocks translated for one vCPU use plain accesses
            }
            if (shared && sharedCode == null) {
                joinSharedCode(); // other vCPUs' stores into code are counted from now on
                joined = true;
            }
        }
        long writes = machine.ramWrites();
        slices++;
        boolean othersWrote = smp && othersWroteSharedCode();
        if (joined || othersWrote || writes != seenRamWrites || ++quietSlices >= QUIET_SLICES) {
            if (writes != seenRamWrites) {
                writerEpochs++;
            }
            seenRamWrites = writes;
            quietSlices = 0;
            epoch++;
            blockBreak = true;
            sliceEpochs++;
            epochDue = true;
        }
        if (jit != null) {
            jit.install();
        }
    }

    /** See {@link #newEpoch}. */
    static final int QUIET_SLICES = 16;
    private long seenRamWrites = -1;
    private int quietSlices;
    /** Statistics: validation epochs started at a slice (the rest of the slices went on with the epoch). */
    long sliceEpochs;
    /** Statistics: slices; slice epochs because another writer wrote RAM; epochs from a break; from a page pushed out of the watched set. */
    long slices, writerEpochs, breakEpochs, pushEpochs;
    /** Statistics: breaks that ended a block without a new epoch (code-segment or privilege changes). */
    long modeBreaks;
    /** No block is chained to, nor a self-loop block goes round again, at or past this count ({@link #runBlock}'s {@code end}). */
    int chainEnd;
    /** Passes of self-loop blocks that went round inside their compiled method ({@code xenj.jit.loops}). */
    long loopIterations;
    /** Compiled blocks chained to from a block on another code page (see {@link #chain}). */
    long crossPageChains;
    /** Of those, found through the block's remembered successor on another page ({@link #crossLinkHolds}). */
    long crossPageLinked;
    /** Chained blocks whose bytes the chain compared (not yet compared in the epoch). */
    long chainCompares;

    /**
     * Runs one block starting at CS:EIP, counting completed instructions in {@link #sliceDone}:
     * no instruction past {@code limit}, and no chained block begun at or past {@code end}
     * ({@code end <= limit}). Faults propagate to the caller with {@link #startEip} set.
     */
    final void runBlock(int end, int limit) {
        int max = limit;
        chainEnd = end;
        startEip = eip;
        int idx = ENABLED ? codeIndexAtEip() : -1;
        if (idx < 0) {
            runUncached();
            return;
        }
        byte[] chunk = fMem;
        int lin = segBase[CS] + eip;
        if (blockBreak && epochDue) {
            newCodePage(lin);
        } else if (blockBreak) {
            blockBreak = false; // a code-segment or privilege change ended the last block: same memory, same epoch
            modeBreaks++;
            if ((lin & PAGE_MASK) != codeWatchPage) {
                otherCodePage(lin);
            }
        } else if ((lin & PAGE_MASK) != codeWatchPage) {
            otherCodePage(lin);
        }
        int mode = code32 ? 1 : 0;
        int[] mt = meta;
        int csBase = segBase[CS], csLimit = segLimit[CS];
        int first = setOf(chunk, idx) << WAY_BITS;
        int s = -1;
        for (int w = first; w < first + WAYS; w++) {
            int mi = w * META;
            if (slotChunk[w] == chunk && mt[mi + M_START] == idx && mt[mi + M_MODE] == mode && mt[mi + M_CS_BASE] == csBase
                    && mt[mi + M_CS_LIMIT] == csLimit) {
                s = w;
                break;
            }
        }
        boolean changed = false;
        if (s >= 0) {
            BlockSlot sl = blockSlots[s];
            if (sl.epoch == epoch || ++blockCompares > 0 && sameBytes(chunk, idx, s * MAX_BYTES, mt[s * META + M_LEN])) {
                sl.epoch = epoch;
                sl.used = ++useClock;
                blockHits++;
                if (jit == null || !jit.enter(sl, max)) {
                    replay(s, max);
                } else if (jit.chaining) {
                    chain(sl, chunk, idx - (lin & ~PAGE_MASK), end, max);
                }
                return;
            }
            changed = true;
        } else {
            s = victim(first);
            if (slotChunk[s] != null) {
                blockEvictions++;
            }
        }
        blockSlots[s].used = ++useClock;
        blockBuilds++;
        if (jit != null) {
            jit.slotReplaced(s, changed);
            if (changed) {
                jit.codeChanged(chunk, idx, mode, csBase, csLimit);
            }
            int flat = flatRead & flatWrite;
            boolean stack32 = stack32();
            if (jit.forced() && predecode(s, chunk, idx, mode)) {
                reattach(s, flat, stack32);
                if (!jit.enter(blockSlots[s], max)) {
                    replay(s, max);
                }
                return;
            }
            try {
                record(s, chunk, idx, mode, max);
            } finally {
                reattach(s, flat, stack32);
            }
            return;
        }
        record(s, chunk, idx, mode, max);
    }

    /** Slot {@code s} was just built: its compiled code comes back from the code cache if these bytes were compiled before. */
    private void reattach(int s, int flat, boolean stack32) {
        if (slotChunk[s] != null) {
            int mi = s * META;
            jit.reattach(s, slotChunk[s], meta[mi + M_START], meta[mi + M_MODE], meta[mi + M_CS_BASE], meta[mi + M_CS_LIMIT], slotBytes,
                    s * MAX_BYTES, meta[mi + M_LEN], flat, stack32);
        }
    }

    /** At a hot block's threshold: its compiled code from the code cache, if another vCPU compiled these bytes meanwhile. */
    final void reattachSlot(int s) {
        reattach(s, flatRead & flatWrite, stack32());
    }

    /** Puts slot {@code s}'s freshly installed compiled block into the code cache under the slot's key and bytes. */
    final void keepCompiled(CodeCache cache, int s, CompiledBlock b, int classBytes, int guards) {
        if (slotChunk == null || slotChunk[s] == null) {
            return;
        }
        int mi = s * META;
        cache.put(slotChunk[s], meta[mi + M_START], jit.cacheMode(meta[mi + M_MODE]), meta[mi + M_CS_BASE], meta[mi + M_CS_LIMIT], slotBytes,
                s * MAX_BYTES, meta[mi + M_LEN], b, classBytes, guards);
    }

    /**
     * Block chaining: after compiled block {@code s} (on the code page whose first byte is
     * {@code chunk[pageIdx]}) runs its compiled successors directly, without the dispatcher's
     * fetch-window refill, set hash and way scan, as long as the successor is on the same linear
     * code page (so the same physical page: nothing that could remap it happened, else
     * {@link #blockBreak} would be set), compiled, of the slot's current generation, and already
     * validated in this epoch (its bytes were compared since the last slice start, code-page change
     * or break). Anything else returns to the dispatcher, which does the full checks. Each block
     * remembers its last two successors ({@link BlockSlot#successor}); nothing is allocated.
     * CS base and limit are read once: a CS load raises {@link #blockBreak}, which ends the loop.
     */
    private void chain(BlockSlot s, byte[] chunk, int pageIdx, int end, int max) {
        CpuJit j = jit;
        int page = codeWatchPage;
        int csBase = segBase[CS], csLimit = segLimit[CS];
        while (!stopBlock && !blockBreak && sliceDone < end) {
            int e = eip;
            if (Integer.compareUnsigned(e, csLimit) > 0) {
                return;
            }
            int lin = csBase + e;
            BlockSlot t;
            if ((lin & PAGE_MASK) != page) {
                if (!j.chainPages) {
                    return;
                }
                startEip = e;
                int pg = lin & PAGE_MASK;
                t = s.xTo;
                if (t != null && s.xLin == lin && t.generation == s.xGen && crossLinkHolds(lin, s.xMem, s.xOff)) {
                    // the dispatcher's steps would find the same: the TLB maps the page to the
                    // same frame (fetching from it cannot fault), the page is watched with that
                    // frame in this epoch (watching it again changes nothing), and the slot still
                    // holds the block linked (its key: that address and this CS, see BlockSlot)
                    chunk = s.xMem;
                    pageIdx = s.xOff + pg;
                    crossPageLinked++;
                } else {
                    // what the dispatcher would do (fetch window, watch the page, look the block
                    // up) without going back through it
                    int idx = codeIndexAtEip(); // may fault, exactly as at the dispatcher's block start
                    if (idx < 0) {
                        return; // not RAM: the dispatcher decodes it
                    }
                    chunk = fMem;
                    otherCodePage(lin); // a page pushed out of the watched set moves the epoch: the guard below sends us back
                    pageIdx = idx - (lin & ~PAGE_MASK);
                    int w = findSlot(chunk, idx);
                    if (w < 0) {
                        return;
                    }
                    t = blockSlots[w];
                    if (sharedCode == null) {
                        s.crossLink(lin, t, chunk, idx - lin); // not with several vCPUs: watching a page marks its frame (SharedCode) each time
                    }
                }
                page = pg;
                crossPageChains++;
            } else {
                int nIdx = pageIdx + (lin & ~PAGE_MASK);
                t = s.successor(nIdx);
                if (t == null) {
                    int w = findSlot(chunk, nIdx);
                    if (w < 0) {
                        return;
                    }
                    t = blockSlots[w];
                    s.link(nIdx, t);
                }
            }
            CompiledBlock b = t.block;
            if (b == null) {
                return; // nothing compiled to chain to: the dispatcher replays it
            }
            if (t.epoch != epoch) {
                // not compared in this epoch: compared here as the dispatcher would (t's key is the
                // block at chunk[pageIdx + offset] for this CS, and its page is watched)
                int ti = t.index;
                blockCompares++;
                if (!sameBytes(chunk, pageIdx + (lin & ~PAGE_MASK), ti * MAX_BYTES, meta[ti * META + M_LEN])) {
                    return; // changed: the dispatcher decodes it again
                }
                t.epoch = epoch;
                chainCompares++;
            }
            startEip = e;
            if (!j.enterLinked(t, b, max)) {
                return;
            }
            t.used = ++useClock;
            blockHits++;
            if (t == s) {
                j.selfChains++;
            }
            s = t;
        }
    }

    private final int[] rowScratch = new int[STRIDE];

    /**
     * Runs one instruction, given as its row ({@code GuestInsn.row}), for compiled code that
     * leaves it to the interpreter in place (x87, strings, bit tests... see
     * {@code BlockCompiler.interpretable}): EIP is the instruction's, the registers are written
     * back; afterwards EIP is the next instruction's unless it faulted (thrown) or stopped early.
     */
    final void execRow(int w0, int w1, int disp, int imm, int imm2) {
        int[] r = rowScratch;
        r[0] = w0;
        r[1] = w1;
        r[2] = disp;
        r[3] = imm;
        r[4] = imm2;
        loadRow(r, 0);
        execute(op);
        inlineInterpreted++;
        if (opStats != null) {
            opStats.inPlace(w0);
        }
    }

    /** Instructions compiled code ran through {@link #execRow}. */
    long inlineInterpreted;
    /** Per-opcode counts of what the translator leaves to the interpreter ({@code xenj.jit.opstats}), or null. */
    final OpStats opStats = OpStats.create();

    /** The slot holding the block at {@code chunk[idx]} for the current code mode and CS, or -1. */
    private int findSlot(byte[] chunk, int idx) {
        int mode = code32 ? 1 : 0;
        int csBase = segBase[CS], csLimit = segLimit[CS];
        int first = setOf(chunk, idx) << WAY_BITS;
        int[] mt = meta;
        for (int w = first; w < first + WAYS; w++) {
            int mi = w * META;
            if (slotChunk[w] == chunk && mt[mi + M_START] == idx && mt[mi + M_MODE] == mode && mt[mi + M_CS_BASE] == csBase
                    && mt[mi + M_CS_LIMIT] == csLimit) {
                return w;
            }
        }
        return -1;
    }

    /** The way of the set starting at slot {@code first} to fill: an empty one, else the least recently used. */
    private int victim(int first) {
        int best = first;
        for (int w = first; w < first + WAYS; w++) {
            if (slotChunk[w] == null) {
                return w;
            }
            if (blockSlots[w].used - blockSlots[best].used < 0) {
                best = w;
            }
        }
        return best;
    }

    /**
     * The set of the block at {@code chunk[idx]}. The key is the block's host-memory address (the
     * chunk and the index in it: the machine address, which within a domain stands for one
     * guest-physical page), and the whole of it is hashed, so that blocks at the same offset of
     * different 1 MiB chunks or of different pages spread over the sets.
     */
    static int setOf(byte[] chunk, int idx) {
        return ((idx ^ System.identityHashCode(chunk) * 0x01000193) * 0x9E3779B1) >>> (32 - SET_BITS);
    }

    /** Code outside RAM (or the cache off): decode every time. */
    private void runUncached() {
        execute(decode());
        orderPoint();
        sliceDone++;
    }

    /** Code may have changed unseen: blocks must compare their bytes again. Also allocates on first use. */
    private void newCodePage(int lin) {
        if (slotChunk == null) {
            allocate();
        }
        epoch++;
        breakEpochs++;
        unwatchAll();
        watchCodePage(lin, fMem, codePageStart(), fMfn);
        blockBreak = false;
        epochDue = false;
    }

    /**
     * Execution moved to another linear code page without a break: the validation epoch goes on
     * (blocks already compared in it stay valid: their pages are watched) unless watching this
     * page pushed another one out of the watched set.
     */
    private void otherCodePage(int lin) {
        if (slotChunk == null) {
            allocate();
        }
        if (!watchCodePage(lin, fMem, codePageStart(), fMfn)) {
            epoch++; // the page pushed out is no longer watched: its blocks must be compared again
            pushEpochs++;
        }
    }

    /**
     * Whether {@code len} (1..MAX_BYTES) bytes at {@code chunk[idx]} still equal the saved copy at
     * {@code slotBytes[saved]}: 8 bytes at a time, the last word overlapping the previous one.
     */
    private boolean sameBytes(byte[] chunk, int idx, int saved, int len) {
        byte[] b = slotBytes;
        if (len < 8) {
            for (int k = 0; k < len; k++) {
                if (chunk[idx + k] != b[saved + k]) {
                    return false;
                }
            }
            return true;
        }
        int last = len - 8;
        for (int k = 0; k < last; k += 8) {
            if ((long) LE64.get(chunk, idx + k) != (long) LE64.get(b, saved + k)) {
                return false;
            }
        }
        return (long) LE64.get(chunk, idx + last) == (long) LE64.get(b, saved + last);
    }

    final void replay(int s, int max) {
        if (smp) {
            replayOrdered(s, max); // several vCPUs: the same loop with an ordering point per instruction
            return;
        }
        int[] r = rows;
        int p = s * (MAX_INSNS * STRIDE);
        int end = p + meta[s * META + M_COUNT] * STRIDE;
        while (true) {
            if (opStats != null && code32 && jit != null) {
                opStats.replayed(this, r[p], p, jit.inPlace);
            }
            int next = loadRow(r, p);
            execute(op);
            sliceDone++;
            p += STRIDE;
            if (p == end || eip != next || stopBlock || blockBreak || sliceDone >= max) {
                return;
            }
        }
    }

    /**
     * Puts the recorded instruction at {@code r[p]} back into the decoder's fields (effective
     * address computed) and EIP past it; returns that EIP. Shared by both replay loops (small and
     * private: HotSpot inlines it into each).
     */
    private int loadRow(int[] r, int p) {
        int w0 = r[p];
        int start = eip;
        startEip = start;
        op = w0 & 0x1ff;
        int m = (w0 >>> 9) & 0xff;
        modrm = m;
        mod = m >>> 6;
        reg = (m >>> 3) & 7;
        rm = m & 7;
        o32 = (w0 & W0_O32) != 0;
        a32 = (w0 & W0_A32) != 0;
        lock = (w0 & W0_LOCK) != 0;
        rep = REP_OF[(w0 >>> 22) & 3];
        prefixSeg = ((w0 >>> 28) & 7) - 1;
        imm = r[p + 3];
        imm2 = r[p + 4];
        if ((w0 & W0_EA) != 0) {
            int w1 = r[p + 1];
            eaBase = (w1 & 15) - 1;
            eaIndex = ((w1 >>> 4) & 15) - 1;
            eaScale = (w1 >>> 8) & 3;
            eaDefSeg = (w1 >>> 10) & 7;
            eaDisp = r[p + 2];
            eaBaseEsp = (w0 & W0_BASE_ESP) != 0;
            computeEa();
        }
        int next = start + ((w0 >>> 24) & 15); // EIP is not truncated in 16-bit code (see fetchEip)
        eip = next;
        return next;
    }

    /** Cuts slot {@code s}'s block to its first {@code n} instructions (its key, rows and saved bytes stay valid). */
    final void truncateSlot(int s, int n) {
        int mi = s * META;
        int p = s * (MAX_INSNS * STRIDE);
        int len = 0;
        for (int k = 0; k < n; k++, p += STRIDE) {
            len += (rows[p] >>> 24) & 15;
        }
        meta[mi + M_COUNT] = n;
        meta[mi + M_LEN] = len;
    }

    /**
     * {@link #replay} for a domain with several vCPUs: after each instruction the fences of
     * {@code orderPoint} (a loop of its own so that the single-vCPU loop has no per-instruction test).
     */
    private void replayOrdered(int s, int max) {
        int[] r = rows;
        int p = s * (MAX_INSNS * STRIDE);
        int end = p + meta[s * META + M_COUNT] * STRIDE;
        while (true) {
            int next = loadRow(r, p);
            execute(op);
            orderFences();
            sliceDone++;
            p += STRIDE;
            if (p == end || eip != next || stopBlock || blockBreak || sliceDone >= max) {
                return;
            }
        }
    }

    /** The instructions of slot {@code s}'s block, for the translator. */
    final GuestInsn[] slotInsns(int s) {
        int n = meta[s * META + M_COUNT];
        GuestInsn[] out = new GuestInsn[n];
        int p = s * (MAX_INSNS * STRIDE);
        for (int k = 0; k < n; k++, p += STRIDE) {
            out[k] = rowInsn(p);
        }
        return out;
    }

    final GuestInsn rowInsn(int p) {
        int w0 = rows[p], w1 = rows[p + 1];
        boolean ea = (w0 & W0_EA) != 0;
        return new GuestInsn(w0 & 0x1ff, (w0 >>> 9) & 0xff, (w0 & W0_O32) != 0, (w0 & W0_A32) != 0, (w0 & W0_LOCK) != 0,
                REP_OF[(w0 >>> 22) & 3], ((w0 >>> 28) & 7) - 1, ea, ea ? (w1 & 15) - 1 : -1, ea ? ((w1 >>> 4) & 15) - 1 : -1,
                (w1 >>> 8) & 3, rows[p + 2], (w1 >>> 10) & 7, (w0 & W0_BASE_ESP) != 0, rows[p + 3], rows[p + 4], (w0 >>> 24) & 15);
    }

    /**
     * Forced translation (translator threshold 0, for tests): fills slot {@code s} by decoding
     * without executing, up to a control transfer or an instruction the translator does not
     * handle, so that even code that runs once runs compiled. Returns false (slot left empty,
     * nothing changed) when not even the first instruction could be kept; the caller then records.
     */
    private boolean predecode(int s, byte[] chunk, int idx, int mode) {
        slotChunk[s] = null;
        int pageEnd = codePageEnd();
        int rowBase = s * (MAX_INSNS * STRIDE);
        int byteBase = s * MAX_BYTES;
        int mask = code32 ? -1 : 0xffff;
        int start = eip, cr2Before = cr2, vectorBefore = faultVector, errorBefore = faultError;
        int n = 0;
        int len = 0;
        try {
            while (n < MAX_INSNS && len + 15 <= MAX_BYTES) {
                int at = eip;
                decode();
                int iStart = idx + len;
                int ilen = fIdx - iStart;
                if (fMem != chunk || ilen < 1 || ilen > 15 || fIdx > pageEnd || ((eip - at) & mask) != ilen) {
                    break;
                }
                int p = rowBase + n * STRIDE;
                startEip = at;
                rows[p] = pack();
                rows[p + 1] = (eaBase + 1) | (eaIndex + 1) << 4 | eaScale << 8 | eaDefSeg << 10;
                rows[p + 2] = eaDisp;
                rows[p + 3] = imm;
                rows[p + 4] = imm2;
                System.arraycopy(chunk, iStart, slotBytes, byteBase + len, ilen);
                n++;
                len += ilen;
                GuestInsn g = rowInsn(p);
                if (!BlockCompiler.supported(g)
                        || BlockCompiler.endsBlock(g)) {
                    break;
                }
            }
        } catch (CpuFault f) {
            // a later instruction cannot be fetched: the block ends before it, the fault is raised when it runs
        }
        eip = start;
        startEip = start;
        cr2 = cr2Before;
        faultVector = vectorBefore;
        faultError = errorBefore;
        if (n == 0) {
            return false;
        }
        int mi = s * META;
        slotChunk[s] = chunk;
        meta[mi + M_START] = idx;
        meta[mi + M_MODE] = mode;
        meta[mi + M_CS_BASE] = segBase[CS];
        meta[mi + M_CS_LIMIT] = segLimit[CS];
        meta[mi + M_COUNT] = n;
        meta[mi + M_LEN] = len;
        blockSlots[s].epoch = epoch;
        return true;
    }

    private void record(int s, byte[] chunk, int idx, int mode, int max) {
        slotChunk[s] = null; // invalid until complete
        int pageEnd = codePageEnd();
        int rowBase = s * (MAX_INSNS * STRIDE);
        int byteBase = s * MAX_BYTES;
        int mask = code32 ? -1 : 0xffff;
        int csBase = segBase[CS], csLimit = segLimit[CS];
        int n = 0;
        int len = 0;
        try {
            while (true) {
                int o = decode();
                int iStart = idx + len;
                int ilen = fIdx - iStart;
                boolean keep = fMem == chunk && ilen >= 1 && ilen <= 15 && fIdx <= pageEnd && len + ilen <= MAX_BYTES
                        && ((eip - startEip) & mask) == ilen;
                if (keep) {
                    int p = rowBase + n * STRIDE;
                    rows[p] = pack();
                    rows[p + 1] = (eaBase + 1) | (eaIndex + 1) << 4 | eaScale << 8 | eaDefSeg << 10;
                    rows[p + 2] = eaDisp;
                    rows[p + 3] = imm;
                    rows[p + 4] = imm2;
                    System.arraycopy(chunk, iStart, slotBytes, byteBase + len, ilen);
                    n++;
                    len += ilen;
                }
                int next = eip;
                execute(o);
                orderPoint();
                sliceDone++;
                if (!keep || n == MAX_INSNS || len + 15 > MAX_BYTES || eip != next || stopBlock || blockBreak
                        || sliceDone >= max) {
                    return;
                }
            }
        } finally {
            if (n > 0) {
                int mi = s * META;
                slotChunk[s] = chunk;
                meta[mi + M_START] = idx;
                meta[mi + M_MODE] = mode;
                meta[mi + M_CS_BASE] = csBase;
                meta[mi + M_CS_LIMIT] = csLimit;
                meta[mi + M_COUNT] = n;
                meta[mi + M_LEN] = len;
                blockSlots[s].epoch = epoch;
            }
        }
    }

    private int pack() {
        int w = op | modrm << 9 | ((eip - startEip) & 15) << 24 | (prefixSeg + 1) << 28;
        if (o32) {
            w |= W0_O32;
        }
        if (a32) {
            w |= W0_A32;
        }
        if (lock) {
            w |= W0_LOCK;
        }
        if (hasEa) {
            w |= W0_EA;
        }
        if (eaBaseEsp) {
            w |= W0_BASE_ESP;
        }
        if (rep == 0xf2) {
            w |= 1 << 22;
        } else if (rep == 0xf3) {
            w |= 2 << 22;
        }
        return w;
    }
}
