package org.xenj.hypervisor.internal.sched;

/** Tiny helpers for pCPU bitsets kept as {@code long[]}. */
public final class Bits {

    private Bits() {
    }

    public static long[] of(int[] members) {
        int max = -1;
        for (int m : members) {
            max = Math.max(max, m);
        }
        long[] b = new long[(max >> 6) + 1];
        for (int m : members) {
            if (m >= 0) {
                b[m >> 6] |= 1L << m;
            }
        }
        return b;
    }

    public static boolean test(long[] bits, int i) {
        return i >= 0 && (i >> 6) < bits.length && (bits[i >> 6] & (1L << i)) != 0;
    }

    public static int[] members(long[] bits) {
        int n = 0;
        for (long w : bits) {
            n += Long.bitCount(w);
        }
        int[] out = new int[n];
        int k = 0;
        for (int i = 0; i < bits.length << 6; i++) {
            if (test(bits, i)) {
                out[k++] = i;
            }
        }
        return out;
    }
}
