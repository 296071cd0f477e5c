package org.xenj.pool.internal.command;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Service
@Command(scope = "xen", name = "pool-stop", description = "Destroys this host's copy of a pool domain and gives up its lease")
public class PoolStopCommand extends PoolCommand {

    @Argument(index = 0, name = "domain", description = "Pool domain name", required = true)
    String domain;

    @Override
    protected void run() {
        pool.stop(domain);
        out().println(domain + " stopped");
    }
}
