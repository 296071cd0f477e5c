package org.xenj.hypervisor.internal.cpu;

import org.xenj.hypervisor.internal.exec.CpuEnvironment;
import org.xenj.hypervisor.internal.mem.DomainMemory;

/**
 * Memory ordering and atomicity for domains with several vCPUs (DESIGN.md, "Memory ordering of
 * SMP guests"): the ordered guest accesses translated blocks of such a domain call, the
 * interpreter's ordering point, serialising instructions' fences, and locked read-modify-writes
 * as a compare-and-set of the aligned word (or under the domain's split lock), for every domain.
 */
abstract class CpuOrder extends CpuMmu {

    CpuOrder(DomainMemory memory, CpuEnvironment env) {
        super(memory, env);
    }

    // Ordered accesses: what translated blocks of a domain with several vCPUs call instead of the
    // above (BlockSpec.ordered). x86 keeps loads in order with loads and stores, and stores with
    // stores (TSO); the JIT compiler may move plain accesses to different addresses across each
    // other, or hoist a load out of a spin loop. An acquire fence after each load and a release
    // fence before each store forbid exactly that and emit no instruction on an x86-64 host (they
    // only constrain the compiler); store-then-load reordering, which TSO allows, stays allowed.

    final int readOrdered8(int lin) {
        int v = read8(lin);
        java.lang.invoke.VarHandle.acquireFence();
        return v;
    }

    final int readOrdered16(int lin) {
        int v = read16(lin);
        java.lang.invoke.VarHandle.acquireFence();
        return v;
    }

    final int readOrdered32(int lin) {
        int v = read32(lin);
        java.lang.invoke.VarHandle.acquireFence();
        return v;
    }

    final void writeOrdered8(int lin, int v) {
        java.lang.invoke.VarHandle.releaseFence();
        write8(lin, v);
    }

    final void writeOrdered16(int lin, int v) {
        java.lang.invoke.VarHandle.releaseFence();
        write16(lin, v);
    }

    final void writeOrdered32(int lin, int v) {
        java.lang.invoke.VarHandle.releaseFence();
        write32(lin, v);
    }

    /**
     * Serialising instructions (CPUID, IRET, WRMSR, MOV to CRn/DRn, INVD, WBINVD; SDM vol. 3
     * §8.3): a full fence while the domain has several vCPUs (MFENCE and the locked instructions
     * fence on their own).
     */
    final void serialize() {
        if (smp) {
            java.lang.invoke.VarHandle.fullFence();
            if (sharedCodeChanged()) {
                breakEpoch(); // cross-modifying code (SDM vol. 3 §8.1.3): seen after a serialising instruction
            }
        }
    }

    /**
     * The interpreter's ordering point, after every instruction while the domain has several
     * vCPUs: the instruction's loads stay before everything later, its stores before later stores
     * (compiler-only fences on an x86-64 host; one field test per instruction with one vCPU).
     */
    final void orderPoint() {
        if (smp) {
            orderFences();
        }
    }

    /** {@link #orderPoint}'s fences (the block replay loop tests {@link #smp} once a block). */
    static void orderFences() {
        java.lang.invoke.VarHandle.acquireFence();
        java.lang.invoke.VarHandle.releaseFence();
    }

    // ------------------------------------------------------------------ locked read-modify-writes

    /*
     * A locked instruction (LOCK prefix, or XCHG with memory) reads its operand with lockedRead,
     * computes, and commits with lockedWrite, which returns false when the instruction must be
     * computed again from a fresh read (the caller loops). Within one page of RAM whose write tag
     * is cached, the operand lies in an aligned int or long of the chunk (every 1-, 2- and 4-byte
     * operand not crossing an 8-byte boundary): the read takes that word and the write is a
     * compare-and-set of it against what was read, so a store by another vCPU (plain or locked) or
     * by a hypervisor thread (MachineFrames' atomics) between the two makes the write fail and the
     * instruction retry, never lose that store. Everything else (an operand crossing an 8-byte
     * boundary or a page, MMIO, a watched code page, the PV store capture) takes the domain's
     * split lock and goes through the ordinary accessors; with several vCPUs the CAS path respects
     * that lock too (see lockedRead). The CAS is a full fence (LOCK CMPXCHG on the host).
     */
    private byte[] rmwArr;
    private int rmwIdx;
    private long rmwWord;
    private int rmwShift;
    private long rmwMask;
    /** 0: no locked access in progress; 4 or 8: CAS of that width; -1: under the split lock. */
    private int rmwMode;
    private int rmwLin, rmwSize;

    /** Statistics: locked reads (one per locked instruction and retry; all interpreted, the translator leaves them out). */
    long lockedReads;

    /** Reads the operand of a locked read-modify-write ({@code size} 1, 2, 4 or 8) after {@link #checkWritable}. */
    final long lockedRead(int lin, int size) {
        lockedReads++;
        int i = (lin >>> 12) & TLB_MASK;
        int last = lin + size - 1;
        if (tagW[i] == (last & PAGE_MASK) && ((lin ^ last) & PAGE_MASK) == 0) {
            byte[] a = tMem[i];
            int idx = tOff[i] + lin;
            long mask = size == 8 ? -1L : (1L << (size << 3)) - 1;
            if ((idx & 3) + size <= 4) {
                if (smp) {
                    waitForSplitLock();
                }
                int w = idx & ~3;
                long word = (int) LE32.getVolatile(a, w) & 0xffffffffL;
                rmwArr = a;
                rmwIdx = w;
                rmwWord = word;
                rmwShift = (idx & 3) << 3;
                rmwMask = mask;
                rmwMode = 4;
                return (word >>> rmwShift) & mask;
            }
            if ((idx & 7) + size <= 8) {
                if (smp) {
                    waitForSplitLock();
                }
                int w = idx & ~7;
                long word = (long) LE64.getVolatile(a, w);
                rmwArr = a;
                rmwIdx = w;
                rmwWord = word;
                rmwShift = (idx & 7) << 3;
                rmwMask = mask;
                rmwMode = 8;
                return (word >>> rmwShift) & mask;
            }
        }
        splitLock();
        rmwLin = lin;
        rmwSize = size;
        if (size == 8) {
            return (read32(lin) & 0xffffffffL) | (long) read32(lin + 4) << 32;
        }
        return readLinSize(lin, size) & 0xffffffffL;
    }

    /**
     * Commits a locked read-modify-write's result: true when written (the lock is released), false
     * when the operand changed since {@link #lockedRead} (nothing was written: compute again).
     */
    final boolean lockedWrite(long v) {
        int mode = rmwMode;
        rmwMode = 0;
        if (mode == 4) {
            long neu = (rmwWord & ~(rmwMask << rmwShift)) | ((v & rmwMask) << rmwShift);
            boolean ok = LE32.compareAndSet(rmwArr, rmwIdx, (int) rmwWord, (int) neu);
            if (smp) {
                memory.lockedAccessGate().exit(vcpuIndex);
            }
            rmwArr = null;
            return ok;
        }
        if (mode == 8) {
            long neu = (rmwWord & ~(rmwMask << rmwShift)) | ((v & rmwMask) << rmwShift);
            boolean ok = LE64.compareAndSet(rmwArr, rmwIdx, rmwWord, neu);
            if (smp) {
                memory.lockedAccessGate().exit(vcpuIndex);
            }
            rmwArr = null;
            return ok;
        }
        try {
            if (rmwSize == 8) {
                write32(rmwLin, (int) v);
                write32(rmwLin + 4, (int) (v >>> 32));
            } else {
                writeLinSize(rmwLin, rmwSize, (int) v);
            }
        } finally {
            splitUnlock();
        }
        return true;
    }

    private int readLinSize(int lin, int size) {
        return size == 4 ? read32(lin) : size == 2 ? read16(lin) : read8(lin);
    }

    private void writeLinSize(int lin, int size, int v) {
        if (size == 4) {
            write32(lin, v);
        } else if (size == 2) {
            write16(lin, v);
        } else {
            write8(lin, v);
        }
    }

    /** This vCPU's index in its domain (order of building), for the domain's {@link org.xenj.hypervisor.internal.mem.LockedAccessGate}. */
    int vcpuIndex;

    private void waitForSplitLock() {
        memory.lockedAccessGate().enter(vcpuIndex);
    }

    private void splitLock() {
        memory.lockedAccessGate().lock(); // also raises splitActive and waits for the CAS-path flags of the domain's vCPUs
        rmwMode = -1;
        java.lang.invoke.VarHandle.fullFence(); // a locked instruction is a full barrier
    }

    private void splitUnlock() {
        java.lang.invoke.VarHandle.fullFence();
        memory.lockedAccessGate().unlock();
    }

    /** Releases the split lock if a fault ended a locked instruction between its read and its write. */
    final void unlockRmw() {
        int mode = rmwMode;
        rmwMode = 0;
        rmwArr = null;
        if (mode == -1) {
            splitUnlock();
        } else if (mode != 0 && smp) {
            memory.lockedAccessGate().exit(vcpuIndex);
        }
    }

    /** Whether this vCPU is between the read and the write of a locked instruction. */
    final boolean holdsRmw() {
        return rmwMode != 0;
    }

    /**
     * Whether the domain has more than one vCPU (refreshed at every slice, see CpuBlocks.newEpoch):
     * guest loads and stores then keep x86 order against the JIT compiler's reordering (acquire
     * fences after loads, release fences before stores; no instruction on an x86 host) and locked
     * instructions respect the split lock. With one vCPU the paths are as before.
     */
    boolean smp;
}
