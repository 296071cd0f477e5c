package org.xenj.hypervisor.internal.cpu;

import org.xenj.hypervisor.internal.cpu.jit.CompiledBlock;

/**
 * What a block-to-block step reads and writes of one block-cache slot, in one small object (one
 * per slot, allocated with the cache, never replaced): the validation epoch its bytes were last
 * compared in, its use stamp, its generation, its compiled block and its last two successors as
 * direct references with the successor's generation when linked. The key, rows and saved bytes
 * stay in {@code CpuBlocks}' flat arrays (the dispatcher's set scan and the replay read those).
 *
 * <p>Why an object and not more int arrays: a chained step used to touch the source's entry in
 * the links array, the target's generation, its epoch and use stamp in the metadata array, and
 * its entry in the compiled-block array &mdash; four lines in four arrays (and four bound checks)
 * for ~13 guest instructions, each array larger than L1 for a boot's working set. Now the step
 * reads the source's successor (the source was the last step's target: its line is in L1) and the
 * target's generation, epoch and block from one object, and stamps it there.
 */
final class BlockSlot {

    /** This slot's number in the cache (rows, bytes and key are found by it). */
    final int index;
    /** The validation epoch ({@code CpuBlocks.epoch}) in which this slot's bytes were last compared with RAM or recorded. */
    int epoch;
    /** Least-recently-used stamp ({@code CpuBlocks.useClock}, compared by difference). */
    int used;
    /** Bumped whenever the slot is rebuilt (another block, changed bytes, a mode change): links to an older generation are stale. */
    int generation;
    /** The slot's compiled block, or null. */
    CompiledBlock block;
    /** The last successor: its first byte's chunk index, slot and that slot's generation when linked ({@code idx0 = -1}: none). */
    int idx0 = -1, gen0;
    BlockSlot to0;
    /** The successor before it. */
    int idx1 = -1, gen1;
    BlockSlot to1;

    /**
     * The last successor on another code page (chaining across pages): its linear address, slot
     * and generation, and the host chunk and offset its page mapped to ({@code chunk[xOff + lin]}
     * is its first byte). Used only while the TLB still maps that page so and the page is watched
     * with that frame ({@code CpuBlocks.chain}); null {@code xTo}: none.
     */
    int xLin, xGen, xOff;
    byte[] xMem;
    BlockSlot xTo;

    BlockSlot(int index) {
        this.index = index;
    }

    static BlockSlot[] array(int n) {
        BlockSlot[] a = new BlockSlot[n];
        for (int k = 0; k < n; k++) {
            a[k] = new BlockSlot(k); // allocated in order: neighbours in the cache are neighbours in the heap
        }
        return a;
    }

    /** The remembered successor starting at chunk index {@code idx} (same code page), if it still holds the block linked, else null. */
    BlockSlot successor(int idx) {
        if (idx0 == idx) {
            BlockSlot t = to0;
            if (t.generation == gen0) {
                return t;
            }
        }
        if (idx1 == idx) {
            BlockSlot t = to1;
            if (t.generation == gen1) {
                return t;
            }
        }
        return null;
    }

    /** Remembers {@code t} (its current generation) as the successor at {@code idx}; the older of two is replaced. */
    void link(int idx, BlockSlot t) {
        idx1 = idx0;
        to1 = to0;
        gen1 = gen0;
        idx0 = idx;
        to0 = t;
        gen0 = t.generation;
    }

    /** Remembers {@code t} as the successor on another page at linear {@code lin}, that page mapped at {@code mem[off + lin]}. */
    void crossLink(int lin, BlockSlot t, byte[] mem, int off) {
        xLin = lin;
        xTo = t;
        xGen = t.generation;
        xMem = mem;
        xOff = off;
    }

    /** Forgets the successors (the slot is being rebuilt). */
    void unlink() {
        idx0 = -1;
        idx1 = -1;
        to0 = null;
        to1 = null;
        xTo = null;
        xMem = null;
    }
}
