package org.xenj.dom0.toolstack.internal.command;

import java.util.List;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.completers.FileCompleter;
import org.xenj.dom0.block.api.RemovableMedia;
import org.xenj.hypervisor.api.Domain;

@Service
@Command(scope = "xen", name = "cd-insert", description = "Inserts a CD-ROM image into a domain's existing CD-ROM drive (xl cd-insert <dom> <vdev> <target>)")
public class CdInsertCommand extends XenCommand {

    @Reference(optional = true)
    List<RemovableMedia> media;

    @Argument(index = 0, name = "domain", description = "Domain name or id", required = true)
    @Completion(DomainCompleter.class)
    String domain;

    @Argument(index = 1, name = "vdev", description = "The CD-ROM drive, e.g. hdc", required = true)
    String vdev;

    @Argument(index = 2, name = "target", description = "The image (ISO9660, raw), opened read-only", required = true)
    @Completion(FileCompleter.class)
    String target;

    @Override
    protected void run() {
        Domain d = domain(domain);
        if (target.isBlank()) {
            throw new IllegalArgumentException("no target: use xen:cd-eject to empty the drive");
        }
        List<String> by = CdMedia.change(media, d.id(), d.name(), vdev, target);
        out().println(target + " inserted into " + d.name() + "'s " + vdev + " (" + String.join(", ", by) + ")");
    }
}
