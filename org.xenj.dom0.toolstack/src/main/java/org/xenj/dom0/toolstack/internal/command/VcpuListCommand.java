package org.xenj.dom0.toolstack.internal.command;

import java.util.ArrayList;
import java.util.List;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.VCpuInfo;

@Service
@Command(scope = "xen", name = "vcpu-list", description = "Lists vCPUs: where they run, state, time, affinity (xl vcpu-list)")
public class VcpuListCommand extends XenCommand {

    @Option(name = "--no-format", description = "Plain tab-separated output, for scripts")
    boolean noFormat;

    @Argument(index = 0, name = "domain", description = "Only these domains", multiValued = true)
    @Completion(DomainCompleter.class)
    List<String> domains;

    @Override
    protected void run() {
        List<Domain> selected = new ArrayList<>();
        if (domains == null || domains.isEmpty()) {
            selected.addAll(hypervisor.list());
        } else {
            domains.forEach(d -> selected.add(domain(d)));
        }
        ShellTable table = new ShellTable();
        table.column("Name");
        table.column("ID").alignRight();
        table.column("VCPU").alignRight();
        table.column("CPU").alignRight();
        table.column("State");
        table.column("Time(s)").alignRight();
        table.column("Affinity (Hard)");
        for (Domain d : selected) {
            for (VCpuInfo v : hypervisor.vcpus(d.id())) {
                table.addRow().addContent(v.domainName(), v.domid(), v.vcpu(), v.pcpu() < 0 ? "-" : v.pcpu(),
                        Formats.vcpuState(v.state()), Formats.seconds(v.cpuTimeNanos()),
                        Formats.cpuList(v.hardAffinity()));
            }
        }
        table.print(out(), !noFormat);
    }
}
