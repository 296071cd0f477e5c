package org.xenj.dom0.toolstack.internal.command;

import java.util.List;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.xenj.dom0.blkback.api.BlockHotplug;
import org.xenj.dom0.blkback.api.VirtualDisk;
import org.xenj.hypervisor.api.Domain;

@Service
@Command(scope = "xen", name = "block-attach", description = "Hot-plugs a disk into a running domain (xl block-attach <dom> <disk-spec>)")
public class BlockAttachCommand extends XenCommand {

    @Reference
    BlockHotplug blocks;

    @Argument(index = 0, name = "domain", description = "Domain name or id", required = true)
    @Completion(DomainCompleter.class)
    String domain;

    @Argument(index = 1, name = "disk-spec", description = "xl disk spec, e.g. format=raw, vdev=xvdb, access=rw, target=/img/b.raw"
            + " (several arguments are joined with commas, as xl does)", required = true, multiValued = true)
    List<String> spec;

    @Override
    protected void run() {
        Domain d = domain(domain);
        // "format=raw, vdev=xvdb, target=/x" typed unquoted arrives as "format=raw," "vdev=xvdb," ...:
        // each argument is one or more components; the commas between them are ours to add.
        StringBuilder joined = new StringBuilder();
        for (String part : spec) {
            String p = part.strip();
            while (p.endsWith(",")) {
                p = p.substring(0, p.length() - 1).strip();
            }
            if (!p.isEmpty()) {
                joined.append(joined.length() == 0 ? "" : ",").append(p);
            }
        }
        VirtualDisk v = blocks.attach(d.id(), joined.toString());
        out().println(v.vdev() + " (" + v.devid() + ") attached to " + d.name() + ": " + v.spec());
    }
}
