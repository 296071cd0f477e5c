package org.xenj.pool.api;

import java.util.List;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Where a pool domain should run: a policy plugged into the pool as an OSGi service with the
 * {@link #NAME_PROPERTY} property. The pool picks one policy by name ({@code xen:pool-placement
 * <name>}, stored in the engine so every host of the pool uses the same); without a choice, or
 * when the chosen one is not installed on the deciding host, the built-in
 * {@value #DEFAULT} policy decides.
 *
 * <p>The pool has already removed the hosts that cannot take the domain (not members, excluded, or
 * too little free memory): {@code candidates} all fit. A policy ranks them; it may still refuse with
 * a reason. It runs on the deciding host's pool thread and must not block (no engine calls).
 */
@ConsumerType
public interface PlacementPolicy {

    /** Service property: the policy's name, as {@code xen:pool-placement} takes it. */
    String NAME_PROPERTY = "xenj.placement.name";

    /** The built-in policy's name: most free memory and least load. */
    String DEFAULT = "balanced";

    /**
     * @param request    what the domain needs
     * @param candidates the members that can take it, sorted by name; never empty
     * @return the chosen host (one of {@code candidates}) or a refusal with its reason
     */
    Placement place(PlacementRequest request, List<PlacementCandidate> candidates);
}
