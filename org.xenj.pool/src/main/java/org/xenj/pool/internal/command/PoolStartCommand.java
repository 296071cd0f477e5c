package org.xenj.pool.internal.command;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.xenj.pool.api.PoolDomain;

@Service
@Command(scope = "xen", name = "pool-start", description = "Takes a pool domain's lease and runs it, here or on the host named with --on")
public class PoolStartCommand extends PoolCommand {

    @Argument(index = 0, name = "domain", description = "Pool domain name", required = true)
    String domain;

    @Option(name = "--on", description = "The member that runs it (asked through the pool); default this host")
    String on;

    @Override
    protected void run() {
        PoolDomain d = on == null ? pool.start(domain) : pool.startOn(domain, on);
        out().println(d.name() + " runs on " + d.owner() + " (generation " + d.generation() + ")");
    }
}
