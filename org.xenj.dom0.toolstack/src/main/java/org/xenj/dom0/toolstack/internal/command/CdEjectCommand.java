package org.xenj.dom0.toolstack.internal.command;

import java.util.List;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.xenj.dom0.block.api.RemovableMedia;
import org.xenj.hypervisor.api.Domain;

@Service
@Command(scope = "xen", name = "cd-eject", description = "Ejects the medium from a domain's CD-ROM drive (xl cd-eject <dom> <vdev>)")
public class CdEjectCommand extends XenCommand {

    @Reference(optional = true)
    List<RemovableMedia> media;

    @Argument(index = 0, name = "domain", description = "Domain name or id", required = true)
    @Completion(DomainCompleter.class)
    String domain;

    @Argument(index = 1, name = "vdev", description = "The CD-ROM drive, e.g. hdc", required = true)
    String vdev;

    @Override
    protected void run() {
        Domain d = domain(domain);
        List<String> by = CdMedia.change(media, d.id(), d.name(), vdev, "");
        out().println(d.name() + "'s " + vdev + " is empty (" + String.join(", ", by) + ")");
    }
}
