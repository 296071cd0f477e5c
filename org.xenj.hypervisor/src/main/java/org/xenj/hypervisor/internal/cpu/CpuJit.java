package org.xenj.hypervisor.internal.cpu;

import java.lang.invoke.MethodHandles;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.xenj.hypervisor.internal.cpu.jit.BlockCompiler;
import org.xenj.hypervisor.internal.cpu.jit.BlockSpec;
import org.xenj.hypervisor.internal.cpu.jit.CodeCache;
import org.xenj.hypervisor.internal.cpu.jit.CompiledBlock;
import org.xenj.hypervisor.internal.cpu.jit.GuestInsn;
import org.xenj.hypervisor.internal.cpu.jit.JitEngine;
import org.xenj.hypervisor.internal.cpu.jit.JitOptions;

/**
 * The block cache's side of the translator (package-private state is needed here, so this glue
 * lives with the CPU; the translator itself is in {@code jit}). Per block-cache slot: a hit
 * counter, and in its {@link BlockSlot} a generation (bumped whenever the slot is rebuilt), the
 * compiled block and the links to its successors. A block
 * becomes hot after {@link JitOptions#threshold} cache hits; its compiled code is installed only
 * if the slot still holds the generation it was compiled from, and dropped with the slot's
 * block: whatever makes the cache decode a block again (its bytes changed &mdash; self-modifying
 * code, DMA, a hypercall &mdash;, another block took the slot, the mode changed) kills the
 * compiled code in that slot. Compiled blocks also go into the {@link CodeCache} (capped, LRU),
 * keyed by the block's address, CS and bytes: a block the cache pushed out and decodes again gets
 * its compiled class back at once ({@link #reattach}), instead of being compiled again. Live
 * compiled code is thus capped at one block per slot plus the code cache's capacity.
 *
 * <p>Lockstep mode ({@code -Dxenj.jit.lockstep=true}): the compiled block runs first as a shadow
 * (its stores are buffered here, never reach memory; a block touching MMIO is not checked, as a
 * device must not see an access twice), then the state is put back and the interpreter runs the
 * same instructions for real; registers, EIP, EFLAGS, instruction count, fault, CR2 and each
 * buffered byte must agree with what the interpreter left. The interpreter's outcome is kept.
 */
final class CpuJit {

    private static final int MAX_LOG = 20;

    private final Cpu cpu;
    private final JitEngine engine;
    private final int threshold;
    private final boolean lockstep, strict;
    /** The vCPU's block-cache slots (generation, compiled block, successors live there). */
    private final BlockSlot[] slots;
    /** Per slot: cache hits while not compiled; the compiled block's class size (statistics). Not on the chaining path. */
    private final int[] hits, codeBytes;
    /** Whether compiled blocks run their compiled successors directly ({@code xenj.jit.chain}, default true). */
    final boolean chaining;
    /** Chaining follows compiled blocks onto other code pages ({@code xenj.jit.chainPages}). */
    final boolean chainPages;
    /**
     * Compiled blocks run the instructions {@code BlockCompiler.interpretable} names through the
     * interpreter in place ({@code xenj.jit.inPlace}; never in lockstep, whose shadow stores are
     * buffered, nor with several vCPUs: see {@link #enter}).
     */
    final boolean inPlace;
    /**
     * Compiled blocks that outlive their slot ({@code xenj.jit.codecache} entries, default
     * {@value #CODE_CACHE_DEFAULT}; 0: none, a block pushed out of its slot is compiled again).
     * One per domain (and lockstep setting), shared by its vCPUs: what one compiled, the others
     * reattach ({@code xenj.jit.sharedcode=false}: one per vCPU, as before, for comparisons).
     */
    final CodeCache codeCache;
    /** Statistics: hot blocks another vCPU (or an earlier slot) had compiled already, taken from the code cache instead of compiling. */
    long sharedHits;
    static final int CODE_CACHE_DEFAULT = 8192;

    /** Statistics (vCPU thread). */
    long entered, chained, guardFails, invalidations, evictions, liveBlocks, liveBytes;
    /** Statistics: chained entries of the block that had just run (a one-block loop going round through the chain). */
    long selfChains;
    /** Self-loop blocks go round inside their compiled method ({@code xenj.jit.loops}, with chaining). */
    final boolean loops;
    /** Statistics: hot blocks cut to their first instruction because it cannot be compiled. */
    long splits;
    long checked, mismatches, unchecked;
    private final List<String> mismatchLog = new ArrayList<>();

    CpuJit(Cpu cpu, JitOptions options, int n) {
        this.cpu = cpu;
        this.engine = new JitEngine(MethodHandles.lookup(), options);
        this.threshold = options.threshold();
        this.lockstep = options.lockstep();
        this.strict = options.strict();
        this.slots = cpu.blockSlots;
        hits = new int[n];
        codeBytes = new int[n];
        chaining = options.chain();
        chainPages = options.chainPages();
        inPlace = options.inPlace() && !options.lockstep();
        loops = options.loops() && options.chain();
        int cap = Integer.getInteger("xenj.jit.codecache", CODE_CACHE_DEFAULT);
        if (cap <= 0) {
            codeCache = null;
        } else if (!"false".equalsIgnoreCase(System.getProperty("xenj.jit.sharedcode", "true").trim())) {
            codeCache = cpu.memory.vcpuShared(new CodeCacheKey(options.lockstep(), inPlace, loops), CodeCache.class, () -> new CodeCache(cap));
        } else {
            codeCache = new CodeCache(cap);
        }
    }

    /** The key of a domain's shared code cache: lockstep blocks (shadow accesses) and in-place ones are kept apart. */
    private record CodeCacheKey(boolean lockstep, boolean inPlace, boolean loops) {
    }

    /** The code cache's mode key for a block of CS mode {@code mode} on this vCPU now. */
    int cacheMode(int mode) {
        return cpu.smp ? mode | CodeCache.ORDERED : mode;
    }

    /**
     * Slot {@code s} was just (re)built: gives it the compiled block the code cache holds for the
     * same address, CS and bytes (whose guards hold for {@code flat} and {@code stack32}), if any.
     */
    void reattach(int s, Object chunk, int idx, int mode, int csBase, int csLimit, byte[] code, int off, int len, int flat,
            boolean stack32) {
        if (codeCache == null || slots[s].block != null) {
            return;
        }
        CompiledBlock b = codeCache.reattach(chunk, idx, cacheMode(mode), csBase, csLimit, code, off, len, flat, stack32);
        if (b != null) {
            slots[s].block = b;
            codeBytes[s] = b.classBytes();
            liveBlocks++;
            liveBytes += codeBytes[s];
        }
    }

    /** The code at a cached block's address changed: its compiled code must not come back. */
    void codeChanged(Object chunk, int idx, int mode, int csBase, int csLimit) {
        if (codeCache != null) {
            codeCache.invalidate(chunk, idx, cacheMode(mode), csBase, csLimit);
        }
    }

    /**
     * A cache hit on slot {@code s} at the block's first instruction: runs its compiled code if
     * there is some and its guards hold (returns true), else counts the hit (false: replay it).
     */
    boolean enter(BlockSlot sl, int max) {
        CompiledBlock b = sl.block;
        int s = sl.index;
        if (b == null) {
            if (++hits[s] == Math.max(threshold, 1)) {
                if (codeCache != null && cpu.smp) {
                    // another vCPU may have compiled these bytes since this slot was built
                    cpu.reattachSlot(s);
                    b = sl.block;
                    if (b != null) {
                        sharedHits++;
                        return enter(sl, max);
                    }
                }
                GuestInsn[] insns = cpu.slotInsns(s);
                if (insns.length > 1 && cpu.code32 && !BlockCompiler.runnable(insns[0], inPlace && !cpu.smp)) {
                    // nothing of it would compile, so the interpreter would replay all of it every
                    // time: it keeps the first instruction only, and the rest becomes a block of its
                    // own (on the next dispatch) that can be compiled. Not in 16-bit code, where
                    // nearly nothing compiles and one dispatch per instruction would cost more.
                    cpu.truncateSlot(s, 1);
                    splits++;
                    return false;
                }
                engine.submit(new BlockSpec(cpu.eip, insns, cpu.flatRead & cpu.flatWrite, cpu.stack32(), cpu.smp, inPlace && !cpu.smp, loops), s,
                        sl.generation);
                if (engine.options().synchronous()) {
                    install();
                    b = sl.block;
                }
            }
            if (b == null) {
                return false;
            }
        }
        if (lockstep) {
            return lockstep(b, s, max);
        }
        if (b.run(cpu, max)) {
            entered++;
            return true;
        }
        guardFails++;
        return false;
    }

    /**
     * Chained entry (see {@code CpuBlocks.chain}): runs slot {@code t}'s compiled block {@code b}
     * (read from it by the caller) if its guards hold; false (nothing done, no hit counted) sends
     * the caller back to the dispatcher.
     */
    boolean enterLinked(BlockSlot t, CompiledBlock b, int max) {
        if (lockstep) {
            boolean ran = lockstep(b, t.index, max);
            if (ran) {
                chained++;
            }
            return ran;
        }
        if (b.run(cpu, max)) {
            entered++;
            chained++;
            return true;
        }
        guardFails++;
        return false;
    }

    /** Passes self-loop blocks made inside their compiled method (not counted in {@link #entered}). */
    long loopIterations() {
        return cpu.loopIterations;
    }

    /**
     * Forgets this vCPU's translations (the domain got a second vCPU: blocks translated with plain
     * guest accesses must not run any more, see {@code BlockSpec.ordered}). Compilations in flight
     * are dropped when they arrive (their slots' generations moved on). The code cache is left
     * alone: its keys carry the ordering mode ({@link #cacheMode}), so a plain block is never
     * handed out again, and it is the domain's &mdash; another vCPU that started earlier has put
     * its ordered blocks there (clearing it here lost them whenever a vCPU started late, as an AP
     * does at its STARTUP IPI).
     */
    void dropAll() {
        for (int s = 0; s < slots.length; s++) {
            slotReplaced(s, true);
        }
    }

    /** Threshold 0: every block is translated when first seen (tests). */
    boolean forced() {
        return threshold == 0;
    }

    /** Slot {@code s} is being rebuilt: the same block's bytes changed ({@code sameBlock}) or another took it. */
    void slotReplaced(int s, boolean sameBlock) {
        BlockSlot sl = slots[s];
        sl.generation++;
        hits[s] = 0;
        sl.unlink();
        if (sl.block != null) {
            if (sameBlock) {
                invalidations++;
            } else {
                evictions++;
            }
            sl.block = null;
            liveBlocks--;
            liveBytes -= codeBytes[s];
        }
    }

    /** {@code -Dxenj.jit.stats=true}: the statistics on stderr every 10 s (boot measurements). */
    private final boolean printStats = Boolean.getBoolean("xenj.jit.stats");
    private long nextPrint;

    /** Installs finished compilations whose slot has not changed since (once per slice). */
    void install() {
        if (printStats) {
            long now = System.nanoTime();
            if (now - nextPrint > 0) {
                if (nextPrint != 0) {
                    System.err.println("[xenj-jit] " + statistics() + " instructions=" + cpu.instructionCount() + " " + cpu.blockCacheStatistics()
                            + (mismatchLog.isEmpty() ? "" : " first mismatches: " + mismatchLog));
                }
                nextPrint = now + 10_000_000_000L;
            }
        }
        if (!engine.hasResults()) {
            return;
        }
        JitEngine.Translation t;
        while ((t = engine.poll()) != null) {
            int s = t.slot();
            BlockSlot sl = slots[s];
            if (sl.generation == t.generation() && sl.block == null) {
                sl.block = t.block();
                codeBytes[s] = t.classBytes();
                liveBlocks++;
                liveBytes += t.classBytes();
                if (codeCache != null) {
                    cpu.keepCompiled(codeCache, s, t.block(), t.classBytes(), t.guards());
                }
            }
        }
    }

    String statistics() {
        StringBuilder b = new StringBuilder();
        b.append("jit: compiled=").append(engine.compiledCount()).append(" notCompilable=").append(engine.rejectedCount())
                .append(" queueDrops=").append(engine.droppedCount())
                .append(String.format(" compileMs=%.1f", engine.compileNanos() / 1e6)).append(" classBytes=")
                .append(engine.classBytesTotal()).append(" live=").append(liveBlocks).append(" liveBytes=").append(liveBytes)
                .append(" splits=").append(splits).append(" sharedHits=").append(sharedHits).append(" entered=").append(entered).append(" chained=").append(chained).append(" selfChains=").append(selfChains).append(" loopIterations=").append(cpu.loopIterations).append(" guardFails=").append(guardFails).append(" invalidations=")
                .append(invalidations).append(" evictions=").append(evictions);
        if (codeCache != null) {
            b.append(' ').append(codeCache.statistics());
        }
        if (lockstep) {
            b.append(" lockstep: checked=").append(checked).append(" mismatches=").append(mismatches).append(" unchecked=")
                    .append(unchecked);
        }
        return b.toString();
    }

    /** Blocks compiled so far (each compilation, not each block: a block compiled twice counts twice). */
    long compilations() {
        return engine.compiledCount();
    }

    long mismatchCount() {
        return mismatches;
    }

    List<String> mismatchLog() {
        return List.copyOf(mismatchLog);
    }

    // ------------------------------------------------------------------ lockstep

    /** Thrown by the shadow memory when the block touches MMIO: that block is not checked. */
    private static final class Unchecked extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Unchecked() {
            super("MMIO in a lockstep block", null, false, false);
        }
    }

    private static final Unchecked UNCHECKED = new Unchecked();

    /** Bytes stored by the shadow run: linear address and value, in order. */
    private final int[] storeLin = new int[1024];
    private final byte[] storeVal = new byte[1024];
    private int stores;

    private final int[] savedRegs = new int[8];
    private int sEip, sFlags, sLfOp, sLfBits, sLfDst, sLfSrc, sLfRes, sLfCarry, sDone, sCr2, sStartEip, sVector, sError;
    private boolean sBreak, sStop;

    private void save() {
        System.arraycopy(cpu.regs, 0, savedRegs, 0, 8);
        sEip = cpu.eip;
        sFlags = cpu.flags;
        sLfOp = cpu.lfOp;
        sLfBits = cpu.lfBits;
        sLfDst = cpu.lfDst;
        sLfSrc = cpu.lfSrc;
        sLfRes = cpu.lfRes;
        sLfCarry = cpu.lfCarry;
        sDone = cpu.sliceDone;
        sCr2 = cpu.cr2;
        sStartEip = cpu.startEip;
        sVector = cpu.faultVector;
        sError = cpu.faultError;
        sBreak = cpu.blockBreak;
        sStop = cpu.stopBlock;
    }

    private void restore() {
        System.arraycopy(savedRegs, 0, cpu.regs, 0, 8);
        cpu.eip = sEip;
        cpu.flags = sFlags;
        cpu.lfOp = sLfOp;
        cpu.lfBits = sLfBits;
        cpu.lfDst = sLfDst;
        cpu.lfSrc = sLfSrc;
        cpu.lfRes = sLfRes;
        cpu.lfCarry = sLfCarry;
        cpu.sliceDone = sDone;
        cpu.cr2 = sCr2;
        cpu.startEip = sStartEip;
        cpu.faultVector = sVector;
        cpu.faultError = sError;
        cpu.blockBreak = sBreak;
        cpu.stopBlock = sStop;
        // the shadow's store probes may have filled a watched code page's write tag: stores must see the slow path again
        cpu.rewatchAll();
    }

    /** The outcome of one run: state after it, or at the fault. */
    private record Outcome(int[] regs, int eip, int eflags, int done, boolean fault, int vector, int error, int cr2, boolean stop) {
        static Outcome of(Cpu c, boolean fault) {
            return new Outcome(c.regs.clone(), fault ? c.startEip : c.eip, c.eflags(), c.sliceDone, fault, fault ? c.faultVector : -1,
                    fault ? c.faultError : 0, c.cr2, c.blockBreak || c.stopBlock);
        }

        String diff(Outcome o) {
            StringBuilder b = new StringBuilder();
            if (!Arrays.equals(regs, o.regs)) {
                b.append(" regs ").append(Arrays.toString(regs)).append(" vs ").append(Arrays.toString(o.regs));
            }
            if (eip != o.eip) {
                b.append(String.format(" eip %08x vs %08x", eip, o.eip));
            }
            if (eflags != o.eflags) {
                b.append(String.format(" eflags %08x vs %08x", eflags, o.eflags));
            }
            if (done != o.done) {
                b.append(" instructions ").append(done).append(" vs ").append(o.done);
            }
            if (fault != o.fault || vector != o.vector || error != o.error) {
                b.append(" fault ").append(vector).append('/').append(error).append(" vs ").append(o.vector).append('/').append(o.error);
            }
            if (cr2 != o.cr2) {
                b.append(String.format(" cr2 %08x vs %08x", cr2, o.cr2));
            }
            if (stop != o.stop) {
                b.append(" stop ").append(stop).append(" vs ").append(o.stop);
            }
            return b.toString();
        }
    }

    private boolean lockstep(CompiledBlock b, int s, int max) {
        save();
        stores = 0;
        long frameBreaks = cpu.frameBreaks;
        boolean fault = false;
        try {
            if (!b.run(cpu, max)) {
                guardFails++;
                return false;
            }
        } catch (CpuFault f) {
            fault = true;
        } catch (Unchecked u) {
            restore();
            unchecked++;
            return false; // the interpreter replays the block
        }
        Outcome compiledRun = Outcome.of(cpu, fault);
        int n = cpu.sliceDone - sDone + (fault ? 1 : 0);
        restore();
        entered++;
        checked++;
        CpuFault interpreterFault = null;
        try {
            // a self-loop block may have gone round several times: the interpreter replays each pass
            do {
                cpu.replay(s, sDone + n);
            } while (loops && cpu.sliceDone < sDone + n && cpu.eip == sEip && !cpu.stopBlock && !cpu.blockBreak);
        } catch (CpuFault f) {
            interpreterFault = f;
        }
        if (cpu.frameBreaks != frameBreaks) {
            // the shadow's page walk set accessed/dirty bits in a watched code frame (really: A/D
            // bits are the one store the shadow cannot buffer); the replay's walk found them set
            // and wrote nothing, but the code did change, so its break stands
            cpu.breakEpoch();
        }
        Outcome interpreted = Outcome.of(cpu, interpreterFault != null);
        String d = compiledRun.diff(interpreted);
        StringBuilder mem = new StringBuilder();
        if (interpreterFault == null || fault) {
            for (int k = 0; k < stores; k++) {
                int real = cpu.read8(storeLin[k]);
                if (latestStore(storeLin[k], k) && (byte) real != storeVal[k]) {
                    mem.append(String.format(" [%08x]=%02x vs %02x", storeLin[k], storeVal[k] & 0xff, real & 0xff));
                }
            }
        }
        if (!d.isEmpty() || mem.length() > 0) {
            mismatches++;
            String m = String.format("block at %08x (compiled vs interpreted):", sEip) + d + mem;
            if (mismatchLog.size() < MAX_LOG) {
                mismatchLog.add(m);
            }
            if (strict) {
                throw new IllegalStateException("translator lockstep mismatch: " + m);
            }
        }
        if (interpreterFault != null) {
            throw interpreterFault;
        }
        return true;
    }

    /** Whether store {@code k} is the last one to its byte (earlier ones were overwritten). */
    private boolean latestStore(int lin, int k) {
        for (int j = k + 1; j < stores; j++) {
            if (storeLin[j] == lin) {
                return false;
            }
        }
        return true;
    }

    // ------------------------------------------------------------------ shadow memory (called by lockstep blocks)

    private int shadowByte(int lin) {
        for (int j = stores - 1; j >= 0; j--) {
            if (storeLin[j] == lin) {
                return storeVal[j] & 0xff;
            }
        }
        if (!cpu.probeReadRam(lin)) {
            throw UNCHECKED;
        }
        return cpu.read8(lin);
    }

    int shadowRead8(int lin) {
        return shadowByte(lin);
    }

    int shadowRead16(int lin) {
        return shadowByte(lin) | shadowByte(lin + 1) << 8;
    }

    int shadowRead32(int lin) {
        return shadowByte(lin) | shadowByte(lin + 1) << 8 | shadowByte(lin + 2) << 16 | shadowByte(lin + 3) << 24;
    }

    private void shadowStore(int lin, int size, int v) {
        cpu.checkWritable(lin, size);
        int last = lin + size - 1;
        if (cpu.tagW[(lin >>> 12) & CpuMmu.TLB_MASK] != (lin & CpuMmu.PAGE_MASK)
                || cpu.tagW[(last >>> 12) & CpuMmu.TLB_MASK] != (last & CpuMmu.PAGE_MASK)) {
            throw UNCHECKED; // MMIO
        }
        if (stores + size > storeLin.length) {
            throw UNCHECKED;
        }
        for (int k = 0; k < size; k++) {
            storeLin[stores] = lin + k;
            storeVal[stores] = (byte) (v >>> (8 * k));
            stores++;
        }
    }

    void shadowWrite8(int lin, int v) {
        shadowStore(lin, 1, v);
    }

    void shadowWrite16(int lin, int v) {
        shadowStore(lin, 2, v);
    }

    void shadowWrite32(int lin, int v) {
        shadowStore(lin, 4, v);
    }
}
