package org.xenj.pool.internal.command;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Service
@Command(scope = "xen", name = "pool-evacuate", description = "Live-migrates every pool domain off a member, each where the placement policy says",
        detailedDescription = "xen:pool-evacuate <host>: one live migration per domain the member runs, the lease handed over with each; "
                + "prints where each went or why it did not (it then runs on where it was).")
public class PoolEvacuateCommand extends PoolCommand {

    @Argument(index = 0, name = "host", description = "The member to empty", required = true)
    String host;

    @Override
    protected void run() {
        var lines = pool.evacuate(host);
        if (lines.isEmpty()) {
            out().println(host + " runs no pool domains");
        }
        lines.forEach(out()::println);
    }
}
