package org.xenj.dom0.netback.internal.command;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.xenj.hypervisor.api.Domain;

@Service
@Command(scope = "xen", name = "network-detach", description = "Removes a network device from a running domain (xl network-detach)")
public class NetworkDetachCommand extends NetworkCommand {

    @Argument(index = 0, name = "domain", description = "Domain name or id", required = true)
    String domain;

    @Argument(index = 1, name = "device", description = "Device id or MAC address", required = true)
    String device;

    @Override
    protected void run() {
        Domain d = domain(domain);
        network.detach(d.id(), device);
    }
}
