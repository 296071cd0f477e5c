package org.xenj.hypervisor.internal.mem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.Test;

/**
 * Freed chunks are kept for the next allocation (a domain built after another was destroyed does
 * not wait for the collector): a reused chunk must be all zero — every frame was scrubbed at its
 * free, shared ones at their last reference — and no more than {@link MachineMemory#SPARE_CHUNKS}
 * are kept.
 */
class SpareChunksTest {

    @Test
    void aFreedChunkIsReusedAllZero() {
        MachineMemory m = new MachineMemory(4 << 20); // 4 chunks
        int[] a = m.allocate(1, MachineMemory.CHUNK_FRAMES);
        byte[] chunk = m.chunk(a[0]);
        for (int mfn : a) {
            java.util.Arrays.fill(m.chunk(mfn), MachineMemory.offset(mfn), MachineMemory.offset(mfn) + MachineMemory.PAGE_SIZE, (byte) 0x5a);
        }
        assertEquals(true, m.share(1, a[7], 1), "one frame shared, as a snapshot does");
        m.free(1, java.util.Arrays.stream(a).filter(x -> x != a[7]).toArray());
        assertEquals(0, m.spareChunks(), "a chunk with a shared frame in use is not spare");
        m.unref(a[7]);
        m.unref(a[7]);
        assertEquals(1, m.spareChunks(), "its last frame gone: the chunk is kept");
        int[] b = m.allocate(2, MachineMemory.CHUNK_FRAMES);
        assertSame(chunk, m.chunk(b[0]), "and given to the next allocation");
        for (int i = 0; i < chunk.length; i++) {
            if (chunk[i] != 0) {
                throw new AssertionError("byte " + i + " of the reused chunk is " + chunk[i]);
            }
        }
        assertEquals(0, m.spareChunks());
    }
}
