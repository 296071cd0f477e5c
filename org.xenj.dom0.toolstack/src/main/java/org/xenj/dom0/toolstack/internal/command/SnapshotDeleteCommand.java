package org.xenj.dom0.toolstack.internal.command;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.xenj.hypervisor.api.Domain;

@Service
@Command(scope = "xen", name = "snapshot-delete", description = "Deletes a snapshot; its children move to its parent",
        detailedDescription = "xen:snapshot-delete <domain> <name>: removes the snapshot and its image. Each image stands alone, so "
                + "its children stay and hang under its parent (roots if it was one); if it was current, its parent becomes current.")
public class SnapshotDeleteCommand extends XenCommand {

    @Argument(index = 0, name = "domain", description = "Domain name or id", required = true)
    @Completion(DomainCompleter.class)
    String domain;

    @Argument(index = 1, name = "name", description = "The snapshot", required = true)
    String name;

    @Override
    protected void run() {
        Domain d = domain(domain);
        hypervisor.snapshotDelete(d.id(), name);
        out().printf("Snapshot '%s' of domain %s (id %d) deleted%n", name, d.name(), d.id());
    }
}
