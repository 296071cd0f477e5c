package org.xenj.dom0.toolstack.internal.command;

import java.time.ZoneId;
import java.util.List;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.SnapshotInfo;

@Service
@Command(scope = "xen", name = "snapshot-list", description = "A domain's snapshots as a tree (current one marked *)",
        detailedDescription = "xen:snapshot-list <domain>: each snapshot under its parent, with when it was taken, the guest time "
                + "it holds and its size; * marks the snapshot the domain's state last came from.")
public class SnapshotListCommand extends XenCommand {

    @Argument(index = 0, name = "domain", description = "Domain name or id", required = true)
    @Completion(DomainCompleter.class)
    String domain;

    /** Tests pin the zone. */
    ZoneId zone = ZoneId.systemDefault();

    @Override
    protected void run() {
        Domain d = domain(domain);
        List<SnapshotInfo> snapshots = hypervisor.snapshots(d.id());
        if (!snapshots.isEmpty()) {
            SnapshotTree.draw(snapshots, zone).forEach(out()::println);
        }
        out().println(SnapshotTree.currentLine(snapshots));
    }
}
