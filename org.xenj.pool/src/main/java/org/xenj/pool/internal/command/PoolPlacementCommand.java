package org.xenj.pool.internal.command;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.xenj.pool.api.Placement;
import org.xenj.pool.api.PlacementRequest;

@Service
@Command(scope = "xen", name = "pool-placement", description = "Shows or chooses the pool's placement policy",
        detailedDescription = "xen:pool-placement: the policy in force and the ones installed here. xen:pool-placement <name>: "
                + "every host of the pool places with <name> from now on (the choice is kept in the pool's engine). "
                + "--memory/--vcpus: where such a domain would go now, creating nothing.")
public class PoolPlacementCommand extends PoolCommand {

    @Argument(index = 0, name = "policy", description = "Policy to choose (e.g. balanced, pack-first)")
    String policy;

    @Option(name = "--memory", description = "Ask where a domain of this many MiB would go")
    long memoryMiB;

    @Option(name = "--vcpus", description = "... with this many vCPUs (default 1)")
    int vcpus = 1;

    @Override
    protected void run() {
        if (policy != null) {
            pool.choosePlacementPolicy(policy);
        }
        String now = pool.placementPolicy();
        out().println("placement policy: " + now);
        for (String p : pool.placementPolicies()) {
            out().println((p.equals(now) ? " * " : "   ") + p);
        }
        if (memoryMiB > 0) {
            Placement p = pool.place(new PlacementRequest("(query)", memoryMiB * 1024, vcpus, java.util.Set.of()));
            out().println(p.refused() ? "refused: " + p.reason() : "would go to " + p.host() + " (" + p.reason() + ")");
        }
    }
}
