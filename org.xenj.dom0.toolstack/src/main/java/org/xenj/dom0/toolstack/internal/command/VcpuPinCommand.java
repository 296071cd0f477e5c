package org.xenj.dom0.toolstack.internal.command;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.xenj.hypervisor.api.Domain;

@Service
@Command(scope = "xen", name = "vcpu-pin", description = "Sets a vCPU's hard affinity (xl vcpu-pin <dom> <vcpu|all> <cpus|all>)")
public class VcpuPinCommand extends XenCommand {

    @Argument(index = 0, name = "domain", required = true, description = "Domain name or id")
    @Completion(DomainCompleter.class)
    String domain;

    @Argument(index = 1, name = "vcpu", required = true, description = "vCPU number, or all")
    String vcpu;

    @Argument(index = 2, name = "cpus", required = true, description = "pCPU list like 0-1,3, or all")
    String cpus;

    @Override
    protected void run() {
        Domain d = domain(domain);
        int[] pcpus = Formats.parseCpuList(cpus);
        if (vcpu.equals("all")) {
            for (int v = 0; v < d.vcpus(); v++) {
                hypervisor.pinVCpu(d.id(), v, pcpus);
            }
            return;
        }
        int v;
        try {
            v = Integer.parseInt(vcpu);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("vcpu must be a number or all, was \"" + vcpu + "\"");
        }
        if (v < 0 || v >= d.vcpus()) {
            throw new IllegalArgumentException("domain " + d.name() + " has vCPUs 0.." + (d.vcpus() - 1) + ", not " + v);
        }
        hypervisor.pinVCpu(d.id(), v, pcpus);
    }
}
