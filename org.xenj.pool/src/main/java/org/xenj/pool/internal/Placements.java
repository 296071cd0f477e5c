package org.xenj.pool.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.xenj.pool.api.PlacementPolicy;

/**
 * The placement policies installed on this host, by name (services come and go at runtime), with
 * the built-in {@link BalancedPlacement} always there under {@link PlacementPolicy#DEFAULT}.
 */
public final class Placements {

    private final Map<String, PlacementPolicy> byName = new ConcurrentHashMap<>();

    public Placements() {
        byName.put(PlacementPolicy.DEFAULT, new BalancedPlacement());
    }

    /** A policy service appeared; a second service of the same name replaces the first. */
    public void add(String name, PlacementPolicy policy) {
        if (name == null || name.isBlank() || name.equals(PlacementPolicy.DEFAULT)) {
            throw new IllegalArgumentException("a placement policy needs a " + PlacementPolicy.NAME_PROPERTY
                    + " other than '" + PlacementPolicy.DEFAULT + "', got " + name);
        }
        byName.put(name, policy);
    }

    /** The policy service went away (its bundle stopped): decisions fall back to the default. */
    public void remove(String name, PlacementPolicy policy) {
        if (name != null && !name.equals(PlacementPolicy.DEFAULT)) {
            byName.remove(name, policy);
        }
    }

    /** The named policy, or null if it is not installed here. */
    PlacementPolicy get(String name) {
        return byName.get(name);
    }

    List<String> names() {
        List<String> n = new ArrayList<>(byName.keySet());
        n.sort(null);
        return n;
    }
}
