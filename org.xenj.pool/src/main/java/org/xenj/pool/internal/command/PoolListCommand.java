package org.xenj.pool.internal.command;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;
import org.xenj.pool.api.PoolDomain;
import org.xenj.pool.api.PoolHost;
import org.xenj.pool.api.PoolStatus;

@Service
@Command(scope = "xen", name = "pool-list", description = "Lists the pool's hosts: name, state, CPUs, free memory, pool domains they run")
public class PoolListCommand extends PoolCommand {

    @Option(name = "--no-format", description = "Plain tab-separated output, for scripts")
    boolean noFormat;

    @Override
    protected void run() {
        PoolStatus s = pool.status();
        List<PoolHost> hosts = pool.hosts();
        Map<String, Integer> owned = new TreeMap<>();
        for (PoolDomain d : pool.domains()) {
            if (!d.owner().isEmpty()) {
                owned.merge(d.owner(), 1, Integer::sum);
            }
        }
        ShellTable table = new ShellTable();
        table.column("Host");
        table.column("Address");
        table.column("State");
        table.column("CPUs").alignRight();
        table.column("Free(MiB)").alignRight();
        table.column("Domains").alignRight();
        table.column("Version");
        for (PoolHost h : hosts) {
            String state = h.name().equals(s.host()) ? "up (this host, " + s.state() + ")" : "up";
            table.addRow().addContent(h.name(), h.address(), state, h.pcpus(), h.freeMemoryKiB() / 1024, owned.getOrDefault(h.name(), 0), h.version());
        }
        // owners of pool domains without a membership record: gone, or fenced
        for (String owner : owned.keySet()) {
            if (hosts.stream().noneMatch(h -> h.name().equals(owner))) {
                table.addRow().addContent(owner, "", "down", "", "", owned.get(owner), "");
            }
        }
        table.print(out(), !noFormat);
        if (!noFormat) {
            out().println("engine: " + (s.embedded() ? "embedded ZooKeeper " : "ZooKeeper ") + s.connect()
                    + (s.member() ? "" : "; this host (" + s.host() + ") is not a member"));
        }
        for (String e : pool.recordErrors()) {
            out().println("bad record " + e);
        }
    }
}
