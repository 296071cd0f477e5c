package org.xenj.pool.internal.command;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.xenj.pool.api.PoolDomain;

@Service
@Command(scope = "xen", name = "pool-start", description = "Takes a pool domain's lease for this host and runs it here")
public class PoolStartCommand extends PoolCommand {

    @Argument(index = 0, name = "domain", description = "Pool domain name", required = true)
    String domain;

    @Override
    protected void run() {
        PoolDomain d = pool.start(domain);
        out().println(d.name() + " runs on " + d.owner() + " (generation " + d.generation() + ")");
    }
}
