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

    /**
     * Places a new domain and runs it: asks the pool's placement policy for a host among the
     * members that fit it, adds the record and starts it there (on another host through a request
     * in the engine). A refusal adds nothing. Since 1.1.0.
     *
     * @throws PoolException "no host fits" with each member's reason, or the policy's refusal, or
     *                       the chosen host's failure to start it (the record then stays, stopped)
     */
    PoolDomain create(DomainConfig config);

    /** Runs a stopped domain on the named member (this host or another). Since 1.1.0. */
    PoolDomain startOn(String name, String host);

    /** The placement policy in force for the pool (its name; {@link PlacementPolicy#DEFAULT} unless chosen). Since 1.1.0. */
    String placementPolicy();

    /** The placement policies installed on this host, by name. Since 1.1.0. */
    List<String> placementPolicies();

    /**
     * Chooses the pool's placement policy by name, for every host (stored in the engine). Refused
     * if no such policy is installed on this host. Since 1.1.0.
     */
    void choosePlacementPolicy(String name);

    /**
     * Asks the placement policy where a domain of this size would go now, without creating
     * anything (what {@link #create} would choose). Since 1.1.0.
     */
    Placement place(PlacementRequest request);

    /**
     * Live-migrates a pool domain to another member, the lease and the record's owner handed over
     * in the same step (never two owners, never none while it runs). Run on any host: the owner
     * does it. A failure leaves it running where it was. Since 1.1.0.
     */
    PoolDomain migrate(String name, String host);

    /**
     * Live-migrates every pool domain off a member, each to the host the placement policy chooses
     * (the member excluded). Returns one line per domain: where it went or why it did not. Since 1.1.0.
     */
    List<String> evacuate(String host);
}
