package org.xenj.pool.internal;

import java.util.Comparator;
import java.util.List;

import org.xenj.pool.api.Placement;
import org.xenj.pool.api.PlacementCandidate;
import org.xenj.pool.api.PlacementPolicy;
import org.xenj.pool.api.PlacementRequest;

/**
 * The default placement: spread domains out. Each fitting host scores half by the free memory it
 * would have left (relative to the roomiest candidate) and half by how lightly loaded it would be
 * (vCPUs per pCPU after adding the domain, relative to the busiest candidate); the highest score
 * wins, ties go to the first name. Spreading keeps headroom on every host for restarts after a
 * failure and keeps vCPUs from queueing behind each other.
 */
final class BalancedPlacement implements PlacementPolicy {

    @Override
    public Placement place(PlacementRequest request, List<PlacementCandidate> candidates) {
        long roomiest = 1;
        double busiest = 1e-9;
        for (PlacementCandidate c : candidates) {
            roomiest = Math.max(roomiest, c.host().freeMemoryKiB() - request.memoryKiB());
            busiest = Math.max(busiest, c.loadWith(request.vcpus()));
        }
        final long maxFree = roomiest;
        final double maxLoad = busiest;
        Comparator<PlacementCandidate> byScore = Comparator.comparingDouble(c -> score(c, request, maxFree, maxLoad));
        PlacementCandidate best = candidates.stream()
                .sorted(Comparator.comparing((PlacementCandidate c) -> c.host().name()))
                .max(byScore.thenComparing(Comparator.comparing((PlacementCandidate c) -> c.host().name()).reversed()))
                .orElseThrow();
        return Placement.on(best.host().name(), String.format("balanced: %d MiB free after, %.2f vCPUs per pCPU",
                (best.host().freeMemoryKiB() - request.memoryKiB()) / 1024, best.loadWith(request.vcpus())));
    }

    private static double score(PlacementCandidate c, PlacementRequest r, long maxFree, double maxLoad) {
        double memory = (c.host().freeMemoryKiB() - r.memoryKiB()) / (double) maxFree;
        double idle = 1.0 - c.loadWith(r.vcpus()) / maxLoad;
        return 0.5 * memory + 0.5 * idle;
    }
}
