package org.xenj.dom0.toolstack.internal.command;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.xenj.hypervisor.api.Domain;

@Service
@Command(scope = "xen", name = "destroy", description = "Destroys a domain at once (xl destroy)")
public class DestroyCommand extends XenCommand {

    @Argument(index = 0, name = "domain", description = "Domain name or id", required = true)
    @Completion(DomainCompleter.class)
    String domain;

    @Override
    protected void run() {
        Domain d = domain(domain);
        if (d.isPrivileged()) {
            throw new IllegalArgumentException("Domain-0 cannot be destroyed");
        }
        hypervisor.destroy(d.id());
    }
}
