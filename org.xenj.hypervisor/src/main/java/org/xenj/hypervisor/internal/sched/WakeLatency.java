package org.xenj.hypervisor.internal.sched;

/**
 * How long a blocked vCPU waits between its wake-up (an interrupt, an event channel, a timer) and
 * the moment a pCPU starts executing it again: the latency a halted guest sees on every I/O
 * completion and every received packet (issue 10's question). Recorded at dispatch by the pCPU
 * thread that runs the vCPU — one writer at a time, as for the vCPU's CPU time — so the hot path
 * is a few long stores and no allocation; read racily for the log line.
 */
final class WakeLatency {

    /** Bucket upper bounds in nanoseconds; the last bucket takes the rest. */
    private static final long[] BOUNDS = { 50_000L, 200_000L, 1_000_000L, 4_000_000L, 16_000_000L };
    private static final String[] LABELS = { "<50us", "<200us", "<1ms", "<4ms", "<16ms", ">=16ms" };

    private volatile long count;
    private volatile long totalNanos;
    private volatile long maxNanos;
    private final long[] buckets = new long[BOUNDS.length + 1];

    void record(long nanos) {
        if (nanos < 0) {
            nanos = 0;
        }
        count++;
        totalNanos += nanos;
        if (nanos > maxNanos) {
            maxNanos = nanos;
        }
        int b = 0;
        while (b < BOUNDS.length && nanos >= BOUNDS[b]) {
            b++;
        }
        buckets[b]++;
    }

    long count() {
        return count;
    }

    /** "N wake-ups, wake to run avg X ms, max Y ms (<50us a, <200us b, ...)". */
    String summary() {
        long n = count;
        StringBuilder s = new StringBuilder();
        s.append(n).append(" wake-ups");
        if (n == 0) {
            return s.toString();
        }
        s.append(String.format(", wake to run avg %.3f ms, max %.3f ms (", totalNanos / 1e6 / n, maxNanos / 1e6));
        for (int i = 0; i < buckets.length; i++) {
            s.append(i == 0 ? "" : ", ").append(LABELS[i]).append(' ').append(buckets[i]);
        }
        return s.append(')').toString();
    }
}
