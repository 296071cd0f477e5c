package org.xenj.dom0.toolstack.internal.command;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;
import org.xenj.hypervisor.api.CpuPoolInfo;

@Service
@Command(scope = "xen", name = "cpupool-list", description = "Lists cpupools (xl cpupool-list [-c])")
public class CpupoolListCommand extends XenCommand {

    @Option(name = "-c", aliases = "--cpus", description = "Show each pool's pCPU list")
    boolean cpus;

    @Option(name = "--no-format", description = "Plain tab-separated output, for scripts")
    boolean noFormat;

    @Argument(index = 0, name = "pool", description = "Only this pool")
    @Completion(PoolCompleter.class)
    String pool;

    @Override
    protected void run() {
        ShellTable t = new ShellTable();
        t.column("Name");
        if (cpus) {
            t.column("CPU list");
        } else {
            t.column("CPUs").alignRight();
            t.column("Sched");
            t.column("Active");
            t.column("Domain count").alignRight();
        }
        boolean found = false;
        for (CpuPoolInfo p : hypervisor.cpupools().list()) {
            if (pool != null && !pool.equals(p.name())) {
                continue;
            }
            found = true;
            if (cpus) {
                t.addRow().addContent(p.name(), Formats.cpuList(p.pcpus()));
            } else {
                t.addRow().addContent(p.name(), p.pcpus().length, p.scheduler(), "y", p.domains());
            }
        }
        if (pool != null && !found) {
            throw new IllegalArgumentException("no cpupool '" + pool + "'");
        }
        t.print(out(), !noFormat);
    }
}
