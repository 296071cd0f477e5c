package org.xenj.hypervisor.api;

import java.util.List;

/**
 * What {@link Hypervisor#migrate} did.
 *
 * @param destination    host:port the domain went to
 * @param remoteDomid    its domain id there
 * @param rounds         the pre-copy rounds, in order (one for a non-live migration)
 * @param finalPages     pages sent while the domain was paused (the last dirty set)
 * @param pagesSent      pages sent in all (with repeats across rounds)
 * @param bytes          bytes sent
 * @param downtimeNanos  source paused → destination running (as the source saw the destination's answer)
 * @param totalNanos     the whole migration, connection to source destroyed
 * @since 1.3
 */
public record MigrationInfo(String destination, int remoteDomid, List<Round> rounds, long finalPages, long pagesSent, long bytes,
        long downtimeNanos, long totalNanos) {

    /**
     * One pre-copy round.
     *
     * @param pagesSent   pages sent in it (contents or zero records)
     * @param dirtyPages  pages the guest and its devices wrote while it ran
     * @param nanos       how long it took
     */
    public record Round(long pagesSent, long dirtyPages, long nanos) {
    }

    /**
     * What a running migration reports ({@link Hypervisor#migrate(int, String, int, boolean, long, int,
     * java.util.function.Consumer)}).
     *
     * @param phase                   {@code round} after a pre-copy round; {@code suspending}, {@code suspended},
     *                                {@code stopped} and {@code done} at the stop
     * @param round                   the round just ended (0 before the first)
     * @param pagesSent               pages sent so far, with repeats
     * @param dirtyPages              pages dirtied during the round just ended (to send next)
     * @param mbPerSecond             the best page rate measured so far, MB/s
     * @param expectedDowntimeMillis  the dirty set at that rate: what a stop now would cost in copying
     * @since 1.5
     */
    public record Progress(String phase, int round, long pagesSent, long dirtyPages, double mbPerSecond,
            double expectedDowntimeMillis) {
    }

    public MigrationInfo {
        rounds = List.copyOf(rounds);
    }
}
