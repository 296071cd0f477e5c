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

    public MigrationInfo {
        rounds = List.copyOf(rounds);
    }
}
