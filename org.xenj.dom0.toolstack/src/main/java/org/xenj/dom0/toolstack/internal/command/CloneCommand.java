package org.xenj.dom0.toolstack.internal.command;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.xenj.hypervisor.api.Domain;

@Service
@Command(scope = "xen", name = "clone", description = "Starts a new domain branched from a domain or one of its snapshots",
        detailedDescription = "xen:clone <domain|domain/snapshot> <newname>: a new running domain from the snapshot (or from the "
                + "domain's state now, taken with a brief pause) while the original runs on; it gets a new id, a new UUID, MAC "
                + "addresses derived from its name and an empty snapshot tree. Its memory is a copy (not shared copy-on-write yet).")
public class CloneCommand extends XenCommand {

    @Argument(index = 0, name = "source", description = "Domain name or id, or domain/snapshot", required = true)
    @Completion(DomainCompleter.class)
    String source;

    @Argument(index = 1, name = "newname", description = "The clone's name", required = true)
    String newName;

    @Override
    protected void run() {
        int slash = source.lastIndexOf('/');
        String snapshot = slash < 0 ? null : source.substring(slash + 1);
        if (snapshot != null && snapshot.isEmpty()) {
            throw new IllegalArgumentException("'" + source + "': no snapshot name after '/' (usage: xen:clone <domain|domain/snapshot> <newname>)");
        }
        Domain d = domain(slash < 0 ? source : source.substring(0, slash));
        long t0 = System.nanoTime();
        Domain c = hypervisor.cloneDomain(d.id(), snapshot, newName);
        out().printf("Cloned domain %s (id %d)%s as %s (id %d) in %.1f ms%n", d.name(), d.id(),
                snapshot == null ? "" : " snapshot '" + snapshot + "'", c.name(), c.id(), (System.nanoTime() - t0) / 1e6);
        if (!c.hasGenerationId()) {
            out().println("Warning: " + Domain.NO_GENERATION_ID_WARNING);
        }
    }
}
