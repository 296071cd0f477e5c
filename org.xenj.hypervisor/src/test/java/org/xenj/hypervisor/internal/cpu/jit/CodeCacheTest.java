package org.xenj.hypervisor.internal.cpu.jit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.cpu.Cpu;

/**
 * The code cache on its own: a block comes back only for the same address, CS and bytes and when
 * its guards hold; different bytes drop the entry; the capacity is a hard cap with evictions
 * counted. (That a Linux-style eviction storm no longer recompiles is in {@code JitTest}.)
 */
class CodeCacheTest {

    private static final byte[] CHUNK = new byte[1 << 20];
    private static final int CS_LIMIT = -1;

    private static CompiledBlock block() {
        return new CompiledBlock() {
            @Override
            public boolean run(Cpu cpu, int max) {
                return false;
            }
        };
    }

    private static byte[] code(int seed, int n) {
        byte[] b = new byte[n];
        for (int k = 0; k < n; k++) {
            b[k] = (byte) (seed * 31 + k * 7);
        }
        return b;
    }

    @Test
    void sameAddressAndBytesGetTheCompiledBlockBack() {
        CodeCache c = new CodeCache(64);
        CompiledBlock b = block();
        byte[] code = code(1, 20);
        c.put(CHUNK, 0x1234, 1, 0, CS_LIMIT, code, 0, 20, b, 900, 0);
        // the bytes as a re-decoded slot holds them: another array, another offset
        byte[] slot = new byte[300];
        System.arraycopy(code, 0, slot, 256 - 20, 20);
        assertSame(b, c.reattach(CHUNK, 0x1234, 1, 0, CS_LIMIT, slot, 256 - 20, 20, 0, false));
        assertEquals(1, c.reattached());
        assertEquals(1, c.entries());
        assertEquals(900, c.liveBytes());
        // other address, other CS size, base or limit: no block
        assertNull(c.reattach(CHUNK, 0x1235, 1, 0, CS_LIMIT, code, 0, 20, 0, false));
        assertNull(c.reattach(new byte[16], 0x1234, 1, 0, CS_LIMIT, code, 0, 20, 0, false));
        assertNull(c.reattach(CHUNK, 0x1234, 0, 0, CS_LIMIT, code, 0, 20, 0, false));
        assertNull(c.reattach(CHUNK, 0x1234, 1, 0x100, CS_LIMIT, code, 0, 20, 0, false));
        assertNull(c.reattach(CHUNK, 0x1234, 1, 0, 0xffff, code, 0, 20, 0, false));
        assertEquals(1, c.reattached());
        assertEquals(1, c.entries());
    }

    @Test
    void otherBytesDropTheEntry() {
        CodeCache c = new CodeCache(64);
        byte[] code = code(2, 40);
        c.put(CHUNK, 0x2000, 1, 0, CS_LIMIT, code, 0, 40, block(), 500, 0);
        byte[] changed = code.clone();
        changed[39] ^= 1; // the last byte: the comparison covers the whole block
        assertNull(c.reattach(CHUNK, 0x2000, 1, 0, CS_LIMIT, changed, 0, 40, 0, false));
        assertEquals(1, c.stale());
        assertEquals(0, c.entries());
        assertEquals(0, c.liveBytes());
        // gone for good: the old bytes do not bring it back either
        assertNull(c.reattach(CHUNK, 0x2000, 1, 0, CS_LIMIT, code, 0, 40, 0, false));
        assertEquals(0, c.reattached());
    }

    @Test
    void recordingsOfOneAddressOfOtherLengthsAreEntriesOfTheirOwn() {
        CodeCache c = new CodeCache(64);
        byte[] code = code(3, 40);
        CompiledBlock b = block(), shortB = block();
        c.put(CHUNK, 0x3000, 1, 0, CS_LIMIT, code, 0, 40, b, 500, 0);
        // a recording cut by the slice's end: a prefix of the same bytes, not given the longer block
        assertNull(c.reattach(CHUNK, 0x3000, 1, 0, CS_LIMIT, code, 0, 12, 0, false));
        assertEquals(1, c.entries());
        assertEquals(0, c.stale());
        // compiled, it is kept beside the longer one (before, the two replaced each other)
        c.put(CHUNK, 0x3000, 1, 0, CS_LIMIT, code, 0, 12, shortB, 300, 0);
        assertEquals(2, c.entries());
        assertSame(b, c.reattach(CHUNK, 0x3000, 1, 0, CS_LIMIT, code, 0, 40, 0, false));
        assertSame(shortB, c.reattach(CHUNK, 0x3000, 1, 0, CS_LIMIT, code, 0, 12, 0, false));
        // the code changed: a recording of either length with the new bytes drops that entry
        byte[] changed = code.clone();
        changed[3] ^= 0x55;
        assertNull(c.reattach(CHUNK, 0x3000, 1, 0, CS_LIMIT, changed, 0, 12, 0, false));
        assertEquals(1, c.stale());
        assertEquals(1, c.entries());
        assertNull(c.reattach(CHUNK, 0x3000, 1, 0, CS_LIMIT, changed, 0, 40, 0, false));
        assertEquals(2, c.stale());
        assertEquals(0, c.entries());
        // and a slot that saw the change drops every length at once
        c.put(CHUNK, 0x3000, 1, 0, CS_LIMIT, code, 0, 40, b, 500, 0);
        c.put(CHUNK, 0x3000, 1, 0, CS_LIMIT, code, 0, 12, shortB, 300, 0);
        c.invalidate(CHUNK, 0x3000, 1, 0, CS_LIMIT);
        assertEquals(0, c.entries());
    }

    @Test
    void guardsThatDoNotHoldNowKeepTheBlockInTheCacheButUnused() {
        CodeCache c = new CodeCache(64);
        byte[] code = code(4, 10);
        CompiledBlock b = block();
        int ds = 1 << 3;
        c.put(CHUNK, 0x4000, 1, 0, CS_LIMIT, code, 0, 10, b, 300, ds | CodeCache.GUARD_STACK32);
        assertNull(c.reattach(CHUNK, 0x4000, 1, 0, CS_LIMIT, code, 0, 10, 0xff & ~ds, true), "DS not flat now");
        assertNull(c.reattach(CHUNK, 0x4000, 1, 0, CS_LIMIT, code, 0, 10, 0xff, false), "16-bit stack now");
        assertEquals(1, c.entries());
        assertSame(b, c.reattach(CHUNK, 0x4000, 1, 0, CS_LIMIT, code, 0, 10, ds, true));
    }

    @Test
    void invalidateForgetsTheBlock() {
        CodeCache c = new CodeCache(64);
        byte[] code = code(5, 10);
        c.put(CHUNK, 0x5000, 1, 0, CS_LIMIT, code, 0, 10, block(), 300, 0);
        c.invalidate(CHUNK, 0x5000, 1, 0, CS_LIMIT);
        assertEquals(0, c.entries());
        assertNull(c.reattach(CHUNK, 0x5000, 1, 0, CS_LIMIT, code, 0, 10, 0, false));
    }

    @Test
    void theCapacityIsACapAndTheLeastRecentlyUsedGoFirst() {
        int cap = 256;
        CodeCache c = new CodeCache(cap);
        assertEquals(cap, c.capacity());
        int blocks = 10_000;
        byte[] code = code(6, 64);
        for (int k = 0; k < blocks; k++) {
            c.put(CHUNK, k * 16, 1, 0, CS_LIMIT, code, 0, 64, block(), 1000, 0);
            assertTrue(c.entries() <= cap, "entries " + c.entries());
            // one hot block, used after every insertion, stays
            if (k > 0) {
                assertTrue(c.reattach(CHUNK, 0, 1, 0, CS_LIMIT, code, 0, 64, 0, false) != null, "hot block evicted at " + k);
            }
        }
        assertEquals(blocks, c.inserted());
        assertEquals(blocks - c.entries(), c.evictions());
        assertTrue(c.entries() > cap / 2, "4-way sets fill most of the cache: " + c.entries());
        assertEquals(1000L * c.entries(), c.liveBytes());
        c.clear();
        assertEquals(0, c.entries());
        assertEquals(0, c.liveBytes());
    }

    @Test
    void capacityIsRoundedToAPowerOfTwoOfAtLeastOneSet() {
        assertEquals(4, new CodeCache(1).capacity());
        assertEquals(8192, new CodeCache(8192).capacity());
        assertEquals(8192, new CodeCache(5000).capacity());
        CodeCache c = new CodeCache(1);
        byte[] code = code(7, 8);
        for (int k = 0; k < 100; k++) {
            c.put(CHUNK, k, 1, 0, CS_LIMIT, code, 0, 8, block(), 10, 0);
        }
        assertEquals(4, c.entries());
        assertEquals(96, c.evictions());
    }
}
