package org.xenj.pool.api;

import java.util.List;
import java.util.Map;

/**
 * A pool domain's record. {@code generation} is the fencing token: it grows by one each time a
 * host takes the domain's lease, and a write from an owner of an older generation is refused.
 *
 * @param name       the domain's name, unique in the pool
 * @param config     the domain's configuration, xl.cfg keys as written
 * @param disks      xl disk specs (they must name storage every host can reach for a restart elsewhere)
 * @param owner      the host holding the lease, or {@code ""} for none; for a {@code lost} domain the
 *                   host it was lost with (which holds no lease on it)
 * @param state      {@code stopped} (by {@code xen:pool-stop}, or its guest powered off, or its copy
 *                   was destroyed on its owner), {@code running}, {@code paused}, {@code fenced} (its
 *                   owner lost the engine and paused it), {@code lost} (its owner came back — a new run
 *                   of xenj under the same name — without a copy: it runs nowhere), or {@code crashed}
 *                   (its guest crashed and {@code on_crash} destroyed it; owner {@code ""})
 * @param generation the lease generation of the last owner
 */
public record PoolDomain(String name, Map<String, String> config, List<String> disks, String owner, String state, long generation) {

    public PoolDomain {
        config = Map.copyOf(config);
        disks = List.copyOf(disks);
    }
}
