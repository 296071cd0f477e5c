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

@Service
@Command(scope = "xen", name = "list", description = "Lists domains (xl list)")
public class ListCommand extends XenCommand {

    @Option(name = "-l", aliases = "--long", description = "Everything about each domain, as JSON")
    boolean longFormat;

    @Option(name = "--no-format", description = "Plain tab-separated output, for scripts")
    boolean noFormat;

    @Option(name = "--pool", description = "Every domain of the pool (xenj-pool) with the host that runs it")
    boolean pool;

    @Argument(index = 0, name = "domain", description = "Only these domains (name or id)", multiValued = true)
    @Completion(DomainCompleter.class)
    List<String> domains;

    @Override
    protected void run() {
        if (pool) {
            PoolView.list(PoolView.pool(), out(), noFormat);
            return;
        }
        List<Domain> selected = new ArrayList<>();
        if (domains == null || domains.isEmpty()) {
            selected.addAll(hypervisor.list());
        } else {
            for (String d : domains) {
                selected.add(domain(d));
            }
        }
        if (longFormat) {
            out().println(Json.write(selected.stream().map(DomainViews::domain).toList()));
            return;
        }
        ShellTable table = new ShellTable();
        table.column("Name");
        table.column("ID").alignRight();
        table.column("Mem").alignRight();
        table.column("VCPUs").alignRight();
        table.column("State");
        table.column("Time(s)").alignRight();
        for (Domain d : selected) {
            table.addRow().addContent(d.name(), d.id(), Formats.mib(d.memoryKiB()), d.vcpus(),
                    Formats.stateFlags(d.state()), Formats.seconds(d.cpuTimeNanos()));
        }
        table.print(out(), !noFormat);
    }
}
