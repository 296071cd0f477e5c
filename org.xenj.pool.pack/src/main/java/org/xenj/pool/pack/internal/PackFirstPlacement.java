package org.xenj.pool.pack.internal;

import java.util.Comparator;
import java.util.List;

import org.osgi.service.component.annotations.Component;
import org.xenj.pool.api.Placement;
import org.xenj.pool.api.PlacementCandidate;
import org.xenj.pool.api.PlacementPolicy;
import org.xenj.pool.api.PlacementRequest;

/**
 * Pack-first placement: fill the fullest host that still fits before touching another, so that
 * whole hosts stay empty (to power them down, or to keep room for one large domain). The host with
 * the least free memory after the domain wins; among equals the one running more pool domains,
 * then the first name. The pool has already removed the hosts it does not fit.
 */
@Component(service = PlacementPolicy.class, property = PlacementPolicy.NAME_PROPERTY + "=" + PackFirstPlacement.NAME)
public final class PackFirstPlacement implements PlacementPolicy {

    public static final String NAME = "pack-first";

    static final Comparator<PlacementCandidate> FULLEST_FIRST = Comparator
            .comparingLong((PlacementCandidate c) -> c.host().freeMemoryKiB())
            .thenComparing(Comparator.comparingInt(PlacementCandidate::domains).reversed())
            .thenComparing(c -> c.host().name());

    @Override
    public Placement place(PlacementRequest request, List<PlacementCandidate> candidates) {
        PlacementCandidate best = candidates.stream().min(FULLEST_FIRST).orElse(null);
        if (best == null) {
            return Placement.refuse("pack-first: no candidate");
        }
        return Placement.on(best.host().name(), "pack-first: fullest host that fits, "
                + (best.host().freeMemoryKiB() - request.memoryKiB()) / 1024 + " MiB free after");
    }
}
