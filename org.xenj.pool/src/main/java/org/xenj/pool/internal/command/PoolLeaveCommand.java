package org.xenj.pool.internal.command;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Service
@Command(scope = "xen", name = "pool-leave", description = "Removes this host from the pool (refused while it runs pool domains)")
public class PoolLeaveCommand extends PoolCommand {

    @Override
    protected void run() {
        pool.leave();
        out().println("left the pool");
    }
}
