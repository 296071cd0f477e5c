package org.xenj.hypervisor.api;

import java.util.List;
import java.util.Map;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Cpupools: disjoint sets of pCPUs, each scheduled by its own scheduler instance. Pool 0
 * ({@code Pool-0}) exists from start-up and holds every pCPU no other pool took.
 */
@ProviderType
public interface CpuPools {

    String DEFAULT_POOL = "Pool-0";

    List<CpuPoolInfo> list();

    /** Creates a pool taking {@code pcpus} from Pool-0. */
    CpuPoolInfo create(String name, String scheduler, int[] pcpus);

    /** Destroys an empty pool; its pCPUs return to Pool-0. */
    void destroy(String name);

    /** Moves a domain (all its vCPUs, with their state) into another pool. */
    void migrate(int domid, String pool);

    /**
     * Replaces the scheduler of a live pool: every vCPU, with its runnable/blocked state and the
     * parameters the new scheduler understands, is handed to a fresh instance; nothing is lost.
     */
    void setScheduler(String pool, String scheduler);

    /** Scheduler parameters of one domain (e.g. weight, cap), as the pool's scheduler names them. */
    Map<String, String> domainParams(int domid);

    void setDomainParams(int domid, Map<String, String> params);

    /** Pool-wide scheduler parameters (e.g. tslice_ms, ratelimit_us for credit; slice_ms for rr). */
    Map<String, String> poolParams(String pool);

    void setPoolParams(String pool, Map<String, String> params);
}
