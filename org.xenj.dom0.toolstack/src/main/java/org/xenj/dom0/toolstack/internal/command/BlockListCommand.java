package org.xenj.dom0.toolstack.internal.command;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;
import org.xenj.dom0.blkback.api.BlockHotplug;
import org.xenj.dom0.blkback.api.VirtualDisk;
import org.xenj.hypervisor.api.Domain;

@Service
@Command(scope = "xen", name = "block-list", description = "Lists a domain's virtual block devices (xl block-list <dom>)")
public class BlockListCommand extends XenCommand {

    @Reference
    BlockHotplug blocks;

    @Option(name = "--no-format", description = "Plain tab-separated output, for scripts")
    boolean noFormat;

    @Argument(index = 0, name = "domain", description = "Domain name or id", required = true)
    @Completion(DomainCompleter.class)
    String domain;

    @Override
    protected void run() {
        Domain d = domain(domain);
        ShellTable t = new ShellTable();
        t.column("Vdev").alignRight();
        t.column("BE").alignRight();
        t.column("handle").alignRight();
        t.column("state").alignRight();
        t.column("evt-ch").alignRight();
        t.column("ring-ref");
        t.column("BE-path");
        t.column("name");
        t.column("target");
        for (VirtualDisk v : blocks.list(d.id())) {
            t.addRow().addContent(v.devid(), 0, v.devid(), v.backendState(), v.eventChannel(),
                    v.ringRefs().isEmpty() ? "-1" : v.ringRefs(), v.backendPath(), v.vdev(), v.spec());
        }
        t.print(out(), !noFormat);
    }
}
