package org.xenj.pool.internal.command;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Service
@Command(scope = "xen", name = "pool-join", description = "Makes this host a member of the pool (again)")
public class PoolJoinCommand extends PoolCommand {

    @Override
    protected void run() {
        pool.join();
        out().println("joined the pool as " + pool.status().host());
    }
}
