package org.xenj.dom0.toolstack.internal.command;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.xenj.hypervisor.api.Domain;

@Service
@Command(scope = "xen", name = "pause", description = "Pauses a domain's vCPUs (xl pause)")
public class PauseCommand extends XenCommand {

    @Argument(index = 0, name = "domain", description = "Domain name or id", required = true)
    @Completion(DomainCompleter.class)
    String domain;

    @Override
    protected void run() {
        Domain d = domain(domain);
        hypervisor.pause(d.id());
    }
}
