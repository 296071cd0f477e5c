package org.xenj.hypervisor.internal.cpu.jit;

import java.util.Arrays;

/**
 * Compiled blocks kept beyond the block cache's slots, so that a hot block which the block cache
 * pushed out (another block took its slot) gets its compiled class back when it is decoded again,
 * instead of waiting for its hits and compiling again. In a Linux boot the 4096-slot block cache
 * evicts over a million blocks, and without this each re-decoded hot block was compiled anew
 * (72 k compilations for ~500 live blocks, a third of the run's CPU).
 *
 * <p>Key: the block's host-memory address (the memory chunk, compared by identity, and the index of
 * its first byte: within a domain, one guest-physical address), the CS size, base and limit it was
 * decoded under &mdash; exactly the block cache's key &mdash; and the code bytes themselves: an
 * entry keeps a copy and is used only when the newly decoded block has the same length and the
 * same bytes (else the code changed while nobody ran it, and the entry is dropped). The
 * specialisation travels with the entry: the segments the compiled code assumes flat and whether
 * it needs a 32-bit stack ({@link BlockCompiler.Result#guards}); an entry whose assumptions do
 * not hold now is not handed out (its guards would only fail).
 *
 * <p>Bounded: {@code capacity} entries (4-way sets, the least recently used way replaced, counted
 * as {@link #evictions}), each holding at most {@link #MAX_BYTES} code bytes and one compiled
 * block. Dropping an entry drops the cache's reference; the class unloads once no slot holds it
 * either. Allocates nothing per lookup.
 *
 * <p>One per domain, shared by its vCPUs (a compiled block keeps no state of its own: it runs on
 * the {@code Cpu} it is given, and its EIPs are relative to the entry EIP): a block one vCPU
 * compiled is handed to the others when they decode the same bytes, so an SMP guest compiles its
 * code once, and HotSpot compiles each class once, instead of once per vCPU. Every method is
 * synchronized; they run on block-cache rebuilds and at hot-block thresholds, never per
 * instruction. Callers put the domain's memory-ordering mode into the key's {@code mode}
 * ({@link #ORDERED}), so a block translated with plain accesses before the domain had a second
 * vCPU is never handed to a vCPU that needs ordered ones.
 */
public final class CodeCache {

    /** Longest block, in code bytes (the block cache's limit). */
    public static final int MAX_BYTES = 256;
    private static final int WAY_BITS = 2, WAYS = 1 << WAY_BITS;

    /** Bit of the key's {@code mode}: the block was translated with ordered guest accesses ({@code BlockSpec.ordered}). */
    public static final int ORDERED = 1 << 8;

    /** The guards bit that says the compiled code needs a 32-bit stack (SS.B); the low bits are segments. */
    public static final int GUARD_STACK32 = 1 << 8;

    private final int setBits;
    private final Object[] chunk;
    private final int[] idx, mode, csBase, csLimit, len, guards, classBytes, used;
    private final byte[] bytes;
    private final CompiledBlock[] block;
    private int clock;

    /** Statistics. */
    private long inserted, replaced, reattached, evictions, stale, liveBytes;
    private int entries;

    /** {@code capacity}: entries, rounded up to a power of two, at least 4. */
    public CodeCache(int capacity) {
        int c = capacity <= WAYS ? WAYS : Integer.highestOneBit(Math.min(capacity - 1, 1 << 29) << 1);
        setBits = Integer.numberOfTrailingZeros(c) - WAY_BITS;
        chunk = new Object[c];
        idx = new int[c];
        mode = new int[c];
        csBase = new int[c];
        csLimit = new int[c];
        len = new int[c];
        guards = new int[c];
        classBytes = new int[c];
        used = new int[c];
        bytes = new byte[c * MAX_BYTES];
        block = new CompiledBlock[c];
    }

    public int capacity() {
        return chunk.length;
    }

    private int first(Object ch, int at) {
        if (setBits == 0) {
            return 0;
        }
        return (((at ^ System.identityHashCode(ch) * 0x01000193) * 0x9E3779B1) >>> (32 - setBits)) << WAY_BITS;
    }

    /** The way holding the block at {@code ch[at]} under this CS with {@code n} code bytes, or -1. */
    private int find(Object ch, int at, int m, int base, int limit, int n) {
        int f = first(ch, at);
        for (int w = f; w < f + WAYS; w++) {
            if (chunk[w] == ch && idx[w] == at && mode[w] == m && csBase[w] == base && csLimit[w] == limit && len[w] == n) {
                return w;
            }
        }
        return -1;
    }

    /**
     * The compiled block for the block just decoded at {@code ch[at]} under CS mode/base/limit from
     * {@code code[off..off+n)}, if the cache holds one for exactly these bytes whose guards hold for
     * {@code flat} (the segments flat now) and {@code stack32}; else null. An entry for the same
     * address whose bytes differ is dropped ({@link #stale}).
     */
    public synchronized CompiledBlock reattach(Object ch, int at, int m, int base, int limit, byte[] code, int off, int n, int flat, boolean stack32) {
        // recordings of one address can differ in length (one was cut short by a slice's end or a
        // break): each length is an entry of its own, so that the two do not push each other out
        int w = find(ch, at, m, base, limit, n);
        if (w < 0) {
            return null;
        }
        if (!Arrays.equals(bytes, w * MAX_BYTES, w * MAX_BYTES + n, code, off, off + n)) {
            stale++; // the code there changed while no slot held it
            drop(w);
            return null;
        }
        int g = guards[w];
        int now = (flat & 0xff) | (stack32 ? GUARD_STACK32 : 0);
        if ((now & g) != g) {
            return null;
        }
        used[w] = ++clock;
        reattached++;
        return block[w];
    }

    /** Keeps {@code b} (compiled from {@code code[off..off+n)}, {@code size} class bytes) for the block at {@code ch[at]}. */
    public synchronized void put(Object ch, int at, int m, int base, int limit, byte[] code, int off, int n, CompiledBlock b, int size, int g) {
        if (n < 1 || n > MAX_BYTES) {
            return;
        }
        int w = find(ch, at, m, base, limit, n);
        if (w >= 0) {
            replaced++; // compiled again meanwhile (another vCPU, or a recording of another length)
            drop(w);
        } else {
            int f = first(ch, at);
            w = f;
            for (int k = f; k < f + WAYS; k++) {
                if (chunk[k] == null) {
                    w = k;
                    break;
                }
                if (used[k] - used[w] < 0) {
                    w = k;
                }
            }
            if (chunk[w] != null) {
                evictions++;
                drop(w);
            }
        }
        chunk[w] = ch;
        idx[w] = at;
        mode[w] = m;
        csBase[w] = base;
        csLimit[w] = limit;
        len[w] = n;
        guards[w] = g;
        classBytes[w] = size;
        block[w] = b;
        used[w] = ++clock;
        System.arraycopy(code, off, bytes, w * MAX_BYTES, n);
        entries++;
        liveBytes += size;
        inserted++;
    }

    /** Forgets the block at {@code ch[at]} (its code changed: the block cache saw other bytes there). */
    public synchronized void invalidate(Object ch, int at, int m, int base, int limit) {
        int f = first(ch, at);
        for (int w = f; w < f + WAYS; w++) {
            if (chunk[w] == ch && idx[w] == at && mode[w] == m && csBase[w] == base && csLimit[w] == limit) {
                stale++; // every recorded length of it
                drop(w);
            }
        }
    }

    /** Forgets everything (a restore, or the memory the chunks belong to is gone). */
    public synchronized void clear() {
        for (int w = 0; w < chunk.length; w++) {
            if (chunk[w] != null) {
                drop(w);
            }
        }
    }

    private void drop(int w) {
        chunk[w] = null;
        block[w] = null;
        entries--;
        liveBytes -= classBytes[w];
    }

    /** Entries held now. */
    public synchronized int entries() {
        return entries;
    }

    /** Class bytes of the entries held now. */
    public synchronized long liveBytes() {
        return liveBytes;
    }

    /** Blocks put in so far. */
    public synchronized long inserted() {
        return inserted;
    }

    /** Blocks handed back to a re-decoded block instead of compiling it again. */
    public synchronized long reattached() {
        return reattached;
    }

    /** Entries pushed out by others (the cap). */
    public synchronized long evictions() {
        return evictions;
    }

    /** Entries dropped because the code at their address changed. */
    public synchronized long stale() {
        return stale;
    }

    public synchronized String statistics() {
        return "codeCache=" + entries + "/" + chunk.length + " codeCacheBytes=" + liveBytes + " inserted=" + inserted + " replaced=" + replaced + " reattached=" + reattached
                + " codeCacheEvictions=" + evictions + " codeCacheStale=" + stale;
    }
}
