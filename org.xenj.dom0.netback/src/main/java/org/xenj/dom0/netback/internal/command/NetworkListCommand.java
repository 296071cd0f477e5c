package org.xenj.dom0.netback.internal.command;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.xenj.dom0.netback.api.VifInfo;
import org.xenj.hypervisor.api.Domain;

@Service
@Command(scope = "xen", name = "network-list", description = "Lists a domain's virtual network devices (xl network-list)")
public class NetworkListCommand extends NetworkCommand {

    @Argument(index = 0, name = "domain", description = "Domain name or id", required = true)
    String domain;

    @Override
    protected void run() {
        Domain d = domain(domain);
        out().printf("%-4s %-3s %-18s %-10s %-6s %-10s %-10s %-8s %s%n", "Idx", "BE", "Mac Addr.", "Bridge", "state", "to-guest", "from-guest",
                "refused", "error");
        for (VifInfo v : network.list(d.id())) {
            out().printf("%-4d %-3d %-18s %-10s %d/%-4d %-10d %-10d %-8d %s%n", v.devid(), 0, v.mac(), v.bridge(), v.backendState(),
                    v.frontendState(), v.toGuest(), v.fromGuest(), v.refused() + v.counters().txDrops(),
                    v.error() == null ? "" : v.error());
        }
    }
}
