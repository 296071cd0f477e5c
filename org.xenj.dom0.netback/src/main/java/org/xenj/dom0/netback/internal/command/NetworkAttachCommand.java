package org.xenj.dom0.netback.internal.command;

import java.util.List;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.xenj.dom0.netback.api.VifInfo;
import org.xenj.hypervisor.api.Domain;

@Service
@Command(scope = "xen", name = "network-attach", description = "Hot-plugs a network device into a running domain (xl network-attach)")
public class NetworkAttachCommand extends NetworkCommand {

    @Argument(index = 0, name = "domain", description = "Domain name or id", required = true)
    String domain;

    @Argument(index = 1, name = "spec", description = "xl vif settings, e.g. mac=00:16:3e:01:02:03 bridge=xenbr0", multiValued = true)
    List<String> spec;

    @Override
    protected void run() {
        Domain d = domain(domain);
        VifInfo v = network.attach(d.id(), spec == null ? "" : String.join(",", spec));
        out().printf("vif %d: %s on %s%n", v.devid(), v.mac(), v.bridge());
    }
}
