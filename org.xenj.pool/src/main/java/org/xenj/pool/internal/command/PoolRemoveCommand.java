package org.xenj.pool.internal.command;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Service
@Command(scope = "xen", name = "pool-remove", description = "Removes a stopped pool domain from the registry")
public class PoolRemoveCommand extends PoolCommand {

    @Argument(index = 0, name = "domain", description = "Pool domain name", required = true)
    String domain;

    @Override
    protected void run() {
        pool.remove(domain);
        out().println(domain + " removed from the pool");
    }
}
