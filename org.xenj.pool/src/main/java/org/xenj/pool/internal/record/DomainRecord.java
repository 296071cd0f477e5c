package org.xenj.pool.internal.record;

import java.util.Map;
import java.util.TreeMap;

import org.xenj.hypervisor.api.DomainConfig;
import org.xenj.pool.api.PoolDomain;

/**
 * A pool domain's record as stored in {@code /domains/<name>}: the configuration the hypervisor
 * needs to create it on any host, and the lease's last owner, state and generation (fencing token).
 */
public record DomainRecord(DomainConfig config, String owner, String state, long generation) {

    public static final String STOPPED = "stopped";
    public static final String RUNNING = "running";
    public static final String PAUSED = "paused";
    public static final String FENCED = "fenced";
    /**
     * Its owner came back (a new run of xenj under the same name) without a copy of it: the domain
     * runs nowhere. The owner stays named, so that people see where it was lost.
     */
    public static final String LOST = "lost";
    /**
     * Its guest crashed (or its watchdog fired) and {@code on_crash} destroyed it: the owner
     * released the lease (owner empty), like {@link #STOPPED}, but people see that it did not end
     * on purpose. {@code xen:pool-start} starts it again; HA does not (the host did not fail).
     */
    public static final String CRASHED = "crashed";

    /** Whether a record in this state runs nowhere (stopped, lost, crashed): not counted, not restarted, not migrated. */
    public static boolean down(String state) {
        return state.equals(STOPPED) || state.equals(LOST) || state.equals(CRASHED);
    }

    /** Whether the record says a copy may exist on its owner (running, paused or fenced). */
    public boolean mayRun() {
        return !owner.isEmpty() && !down(state);
    }

    public String name() {
        return config.name();
    }

    public DomainRecord with(String newOwner, String newState, long newGeneration) {
        return new DomainRecord(config, newOwner, newState, newGeneration);
    }

    public PoolDomain toApi() {
        Map<String, String> all = new TreeMap<>(config.raw());
        all.putAll(DomainConfigCodec.typedKeys(config));
        return new PoolDomain(name(), all, config.disks(), owner, state, generation);
    }
}
