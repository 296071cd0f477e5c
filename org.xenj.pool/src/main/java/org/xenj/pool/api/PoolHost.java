package org.xenj.pool.api;

/**
 * A member's record, as it wrote it (kept current every few seconds).
 *
 * @param name          the member's name ({@code xenj.pool.host}, default the host name)
 * @param address       where other hosts reach its xenj (host name or address)
 * @param pcpus         physical CPUs the hypervisor runs
 * @param freeMemoryKiB memory not owned by any domain
 * @param version       the member's xenj version
 * @param updatedMillis when it last wrote the record (its own clock)
 */
public record PoolHost(String name, String address, int pcpus, long freeMemoryKiB, String version, long updatedMillis) {
}
