package org.xenj.pool.api;

/**
 * A member that can take the domain, with the pool domains it runs now.
 *
 * @param host    its membership record (free memory, physical CPUs)
 * @param domains pool domains it owns now
 * @param vcpus   their virtual CPUs in total
 */
public record PlacementCandidate(PoolHost host, int domains, int vcpus) {

    /** Virtual CPUs per physical CPU after adding {@code extraVcpus}: the load the policy compares. */
    public double loadWith(int extraVcpus) {
        return (vcpus + extraVcpus) / (double) Math.max(1, host.pcpus());
    }
}
