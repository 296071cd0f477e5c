package org.xenj.dom0.toolstack.internal.command;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.xenj.hypervisor.api.Domain;

@Service
@Command(scope = "xen", name = "cpupool-migrate", description = "Moves a domain into another cpupool (xl cpupool-migrate)")
public class CpupoolMigrateCommand extends XenCommand {

    @Argument(index = 0, name = "domain", required = true, description = "Domain name or id")
    @Completion(DomainCompleter.class)
    String domain;

    @Argument(index = 1, name = "pool", required = true, description = "Target pool")
    @Completion(PoolCompleter.class)
    String pool;

    @Override
    protected void run() {
        Domain d = domain(domain);
        hypervisor.cpupools().migrate(d.id(), pool);
    }
}
