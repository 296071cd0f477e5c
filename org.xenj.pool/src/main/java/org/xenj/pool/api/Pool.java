package org.xenj.pool.api;

import java.util.List;

import org.osgi.annotation.versioning.ProviderType;
import org.xenj.hypervisor.api.DomainConfig;

/**
 * This host's view of the pool. Every method is safe from any thread; a refused or impossible
 * operation throws {@link PoolException} with a message fit for a user (never a ZooKeeper
 * exception). Reads go to the coordination engine, so they see every host's writes.
 */
@ProviderType
public interface Pool {

    /** Whether and where this host is connected, and as which member. */
    PoolStatus status();

    /** The members whose ephemeral records exist now, by name. */
    List<PoolHost> hosts();

    /** Registers this host as a member (again); a no-op when it is one. */
    void join();

    /**
     * Removes this host's membership record. Refused while it owns running pool domains: stop
     * them first, or they would run with no member behind them.
     */
    void leave();

    /** Every pool domain's record, by name. Records that cannot be read are in {@link #recordErrors()}. */
    List<PoolDomain> domains();

    /** One line per record in the engine that could not be read (path: reason). */
    List<String> recordErrors();

    /** Adds a domain to the registry, owned by nobody and stopped. Refused if the name is taken. */
    PoolDomain add(DomainConfig config);

    /**
     * Takes the domain's lease for this host (a new generation, the fencing token) and creates it
     * on the local hypervisor. Refused while another live host holds the lease.
     */
    PoolDomain start(String name);

    /** Destroys the local copy, records the domain as stopped and gives up its lease. Owner only. */
    PoolDomain stop(String name);

    /** Removes a stopped, unowned domain from the registry. */
    void remove(String name);
}
