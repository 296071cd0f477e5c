package org.xenj.pool.api;

import java.util.Set;

/**
 * What a domain to be placed needs.
 *
 * @param domain    the pool domain's name
 * @param memoryKiB memory it needs on its host
 * @param vcpus     its virtual CPUs
 * @param excluded  hosts it must not go to (its failed owner for a restart, the source of an evacuation)
 */
public record PlacementRequest(String domain, long memoryKiB, int vcpus, Set<String> excluded) {

    public PlacementRequest {
        excluded = Set.copyOf(excluded);
    }
}
