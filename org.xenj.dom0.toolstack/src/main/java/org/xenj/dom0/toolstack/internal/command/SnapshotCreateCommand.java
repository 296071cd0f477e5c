package org.xenj.dom0.toolstack.internal.command;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.SnapshotInfo;

@Service
@Command(scope = "xen", name = "snapshot-create", description = "Takes a snapshot of a domain's whole state (memory, vCPUs, devices)",
        detailedDescription = "xen:snapshot-create <domain> <name>: pauses the domain briefly, captures it and lets it go on; the new "
                + "snapshot's parent is the current one, and it becomes current. Names: 1 to 64 of A-Z a-z 0-9 . _ + -. Writable "
                + "disks branch: the image becomes read-only and the snapshot's, the domain goes on in a new qcow2 overlay over it.")
public class SnapshotCreateCommand extends XenCommand {

    @Argument(index = 0, name = "domain", description = "Domain name or id", required = true)
    @Completion(DomainCompleter.class)
    String domain;

    @Argument(index = 1, name = "name", description = "The snapshot's name, unique within the domain", required = true)
    String name;

    @Override
    protected void run() {
        Domain d = domain(domain);
        SnapshotInfo s = hypervisor.snapshotCreate(d.id(), name);
        out().printf("Snapshot '%s' of domain %s (id %d): %s, paused %.1f ms, parent %s%n", s.name(), d.name(), d.id(),
                SnapshotTree.size(s.bytes()), s.pausedNanos() / 1e6, s.parent() == null ? "none" : "'" + s.parent() + "'");
    }
}
