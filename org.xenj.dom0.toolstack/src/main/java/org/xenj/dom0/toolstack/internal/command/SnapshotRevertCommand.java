package org.xenj.dom0.toolstack.internal.command;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.SnapshotInfo;

@Service
@Command(scope = "xen", name = "snapshot-revert", description = "Puts a domain back into a snapshot's state",
        detailedDescription = "xen:snapshot-revert <domain> <name>: pauses the domain, replaces its memory and every vCPU's and "
                + "device's state with the snapshot's and resumes it (a paused domain stays paused); id, name and UUID stay, guest "
                + "time goes on. A damaged image is refused and nothing is changed.")
public class SnapshotRevertCommand extends XenCommand {

    @Argument(index = 0, name = "domain", description = "Domain name or id", required = true)
    @Completion(DomainCompleter.class)
    String domain;

    @Argument(index = 1, name = "name", description = "The snapshot", required = true)
    String name;

    @Override
    protected void run() {
        Domain d = domain(domain);
        SnapshotInfo s = hypervisor.snapshotRevert(d.id(), name);
        out().printf("Domain %s (id %d) reverted to snapshot '%s', paused %.1f ms%n", d.name(), d.id(), s.name(), s.pausedNanos() / 1e6);
        if (!d.hasGenerationId()) {
            out().println("Warning: " + Domain.NO_GENERATION_ID_WARNING);
        }
    }
}
